"""Regularization and learning-rate tools for Keras models: token dropout, an LR range test.

- :class:`TokenDropout` is text augmentation inside the model: in training, each token id is
  replaced by the padding id 0 with probability ``rate`` (Sennrich et al. 2016 drop words; so
  does the "word dropout" of Iyyer et al. 2015), so the model cannot lean on any one word.
  At inference it is the identity.
- :class:`LRRangeTest` (Smith, 2017) raises the learning rate exponentially, one batch at a
  time, and records each batch's loss: the loss falls, flattens, then blows up; a good peak
  learning rate sits a few times below the point of the steepest fall's end.

Keras 3 reports in ``logs["loss"]`` the *running mean* of the epoch so far, not the batch's
loss; the range test resets the model's metrics before each batch, so what it records is the
batch's own loss.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from lmcourse._checks import check_int, check_rate, is_number


@keras.saving.register_keras_serializable(package="lmcourse")
class TokenDropout(keras.layers.Layer):
    """Replace each token id by ``pad_id`` with probability ``rate``, in training only.

    Input and output: integer ids, any shape (e.g. (B, T)).

    Example:
        >>> import numpy as np
        >>> layer = TokenDropout(0.5, seed=0)
        >>> ids = np.arange(1, 1001).reshape(1, 1000)
        >>> dropped = np.asarray(layer(ids, training=True))
        >>> 0.4 < float((dropped == 0).mean()) < 0.6, bool((np.asarray(layer(ids)) == ids).all())
        (True, True)
    """

    def __init__(self, rate: float, *, pad_id: int = 0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("rate", rate, where="TokenDropout")
        self.pad_id, self.seed = int(pad_id), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=None):
        if not training or self.rate == 0:
            return ids
        keep = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) >= self.rate
        return ops.where(keep, ids, ops.cast(self.pad_id, ids.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "pad_id": self.pad_id, "seed": self.seed}


class LRRangeTest(keras.callbacks.Callback):
    """Learning rate from ``start`` to ``end`` geometrically over ``steps`` batches.

    After ``fit``, ``lrs`` and ``losses`` hold one entry per batch (each batch's own loss),
    and :meth:`suggestion` a peak learning rate. Training stops early once the loss exceeds
    ``diverge`` times its best value.
    """

    def __init__(
        self, start: float = 1e-5, end: float = 1.0, steps: int = 100, diverge: float = 4.0
    ):
        super().__init__()
        if not (is_number(start) and is_number(end) and 0 < start < end):
            raise ValueError(f"LRRangeTest: start={start!r}, end={end!r}: need 0 < start < end")
        self.steps = check_int("steps", steps, 2, where="LRRangeTest")
        self.start, self.end, self.diverge = start, end, diverge
        self.lrs: list[float] = []
        self.losses: list[float] = []

    def learning_rate(self, step: int) -> float:
        return self.start * (self.end / self.start) ** (step / max(self.steps - 1, 1))

    def on_train_batch_begin(self, batch, logs=None):
        self.model.reset_metrics()  # logs["loss"] becomes this batch's loss, not a running mean
        self.model.optimizer.learning_rate = self.learning_rate(len(self.lrs))

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        self.lrs.append(self.learning_rate(len(self.lrs)))
        self.losses.append(loss)
        best = min(self.losses)
        if len(self.lrs) >= self.steps or not math.isfinite(loss) or loss > self.diverge * best:
            self.model.stop_training = True

    def smoothed(self, beta: float = 0.9) -> np.ndarray:
        """The losses smoothed by a bias-corrected exponential moving average."""
        out, avg = [], 0.0
        for i, loss in enumerate(self.losses, start=1):
            avg = beta * avg + (1 - beta) * loss
            out.append(avg / (1 - beta**i))
        return np.array(out)

    def suggestion(self, factor: float = 10.0) -> float:
        """The learning rate of the lowest smoothed loss, divided by ``factor``."""
        if not self.losses:
            raise ValueError("no losses recorded: run model.fit(..., callbacks=[this]) first")
        return self.lrs[int(np.argmin(self.smoothed()))] / factor
