"""Batches for fine-tuning a classifier: packed inputs and labels, and epochs cut into slices.

* :class:`ClassificationBatches` - a ``keras.utils.PyDataset`` of ``(x, y)``: ``x`` the
  encoder's three ``(B, S)`` inputs (from :func:`lmcourse.pipelines.encode_for_classification`),
  ``y`` the ``(B,)`` 0/1 labels; shuffled per epoch with a seed, optionally cut to each
  batch's longest input.
* :class:`EpochSlices` - each pass over such batches cut into ``parts`` shorter ``fit``
  epochs, so that gradual unfreezing can change what trains within a pass.

Both work on every Keras backend (no ``tf.data``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from lmcourse._checks import check_int
from lmcourse.pipelines import ShuffledBatches, check_packed_inputs


class ClassificationBatches(ShuffledBatches):
    """``(x, y)`` batches of packed inputs and 0/1 labels, shuffled per epoch with ``seed``.

    ``x = {"token_ids", "segment_ids", "padding_mask"}``, each ``(B, S)``; ``y``: ``(B,)``
    int32. Without shuffling (evaluation) the last batch may be smaller.

    ``trim=k`` cuts each batch's trailing padding: ``S`` becomes the batch's longest input,
    rounded up to a multiple of ``k`` (at most the packed length). A model that masks its
    padding computes the same outputs, in less time when most inputs are short (one-sentence
    reviews: about a third less at 64 tokens); the multiple keeps the number of distinct
    shapes, hence of compiled graphs, small. Use it for batches your own code consumes
    (``metrics.evaluate_classifier``, a hand-written loop): Keras' ``fit`` fixes one input
    shape from the first two batches of a ``PyDataset`` and fails on a later, other width.

    Raises:
        ValueError: an empty split, labels other than 0/1, inputs and labels of different
            lengths, or ``trim < 1`` - before any training starts.
    """

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        labels: Sequence[int] | np.ndarray,
        *,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        trim: int | None = None,
        **kwargs,
    ) -> None:
        from lmcourse.data import check_labels

        super().__init__(**kwargs)
        n = check_packed_inputs(inputs)
        self.labels = check_labels(labels)
        if len(self.labels) != n:
            raise ValueError(f"{n} inputs but {len(self.labels)} labels: they must pair up")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if trim is not None and trim < 1:
            raise ValueError(f"trim must be None or an int >= 1 (a multiple of tokens), got {trim}")
        self.inputs, self.trim = inputs, trim
        self._start(n, batch_size=batch_size, seed=seed, shuffle=shuffle)

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.shuffle else -(-n // self.batch_size)

    def __getitem__(self, index: int):
        idx = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        x = {k: v[idx] for k, v in self.inputs.items()}
        if self.trim:
            longest = int(x["padding_mask"].sum(axis=1).max())
            width = min(x["token_ids"].shape[1], -(-max(longest, 1) // self.trim) * self.trim)
            x = {k: v[:, :width] for k, v in x.items()}
        return x, self.labels[idx]


class EpochSlices(keras.utils.PyDataset):
    """Each pass over ``batches`` cut into ``parts`` shorter "epochs" for ``fit``.

    Gradual unfreezing changes what trains once per ``fit`` epoch; with six layers to
    unfreeze in two passes over the data, an epoch must be a slice of a pass. Epoch ``e``
    serves batches ``k * n .. (k + 1) * n - 1`` of the current pass (``k = e mod parts``,
    ``n = len(batches) // parts``); every ``parts`` epochs the underlying batches begin a new
    epoch (a new shuffle), so ``parts`` slices together see each batch of a pass once (the
    last ``len(batches) mod parts`` batches of a pass are skipped).

    Raises:
        ValueError: ``parts`` is not an int in ``1 .. len(batches)``.
    """

    def __init__(self, batches: Any, parts: int, **kwargs) -> None:
        super().__init__(**kwargs)
        check_int("parts", parts, 1, len(batches), hint="at most the number of batches")
        self.batches, self.parts, self.size, self.slice = batches, parts, len(batches) // parts, -1

    def __len__(self) -> int:
        return self.size

    def on_epoch_begin(self) -> None:
        self.slice = (self.slice + 1) % self.parts
        if self.slice == 0 and hasattr(self.batches, "on_epoch_begin"):
            self.batches.on_epoch_begin()

    def __getitem__(self, index: int):
        return self.batches[max(self.slice, 0) * self.size + index]
