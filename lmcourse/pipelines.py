"""``tf.data`` input pipelines: token ids in, batches of (inputs, targets) out.

Language modeling needs no labels: the target of every position is the next token. A window
of ``seq_len + 1`` ids ``w`` gives inputs ``w[:-1]`` and targets ``w[1:]``::

    ids      t0 t1 t2 t3 t4 t5 t6 ...
    window   t0 t1 t2 t3 t4            (seq_len = 4)
    x        t0 t1 t2 t3
    y           t1 t2 t3 t4

For BERT (chapters 07-08) the ids are packed as ``[CLS] A [SEP] B [SEP]`` with segment ids and
a padding mask (:func:`pack_pair`, :func:`pack_batch`, :func:`encode_for_classification`),
cut into sentence pairs for next-sentence prediction (:func:`nsp_pairs`) and served as
masked-LM batches (:class:`MaskedLMBatches`, masked by :mod:`lmcourse.masking`).
Classification batches are in :mod:`lmcourse.classification_batches`.

This module (and ``text``) is the only place in the package that uses ``tf.data`` /
``tf.strings``; models stay backend-neutral.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lmcourse.masking import check_masking, mask_tokens


def window_starts(n_tokens: int, seq_len: int, stride: int | None = None) -> np.ndarray:
    """Start offsets of all full windows of ``seq_len + 1`` tokens, ``stride`` apart.

    Raises:
        ValueError: ``seq_len`` < 1, ``stride`` < 1, or the corpus is shorter than one window.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    stride = seq_len if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if n_tokens < seq_len + 1:
        raise ValueError(
            f"seq_len={seq_len} needs at least {seq_len + 1} tokens, but the text has {n_tokens}: "
            "use a shorter seq_len or more text"
        )
    return np.arange(0, n_tokens - seq_len, stride, dtype=np.int64)


def lm_dataset(
    ids: Sequence[int] | np.ndarray,
    seq_len: int,
    batch_size: int,
    *,
    stride: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = True,
    cache: bool = True,
    prefetch: bool = True,
):
    """Batches of next-token windows for language-model training.

    Args:
        ids: the corpus as token ids, shape ``(n_tokens,)``.
        seq_len: tokens per training sequence ``T``.
        batch_size: sequences per batch ``B``.
        stride: distance between window starts (default ``seq_len``: no overlap).
        shuffle: reshuffle the windows every epoch (with ``seed``: the same order each run).
        drop_remainder: drop a last, smaller batch (static shapes compile better).
        cache, prefetch: keep windows in memory / prepare the next batch while the model
            trains on this one (chapter 03 measures what each buys).

    Returns:
        A ``tf.data.Dataset`` of ``(x, y)``, both int32 of shape ``(B, T)``, ``y`` = ``x``
        shifted left by one token.
    """
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    ids = np.asarray(ids, dtype=np.int32)
    if ids.ndim != 1:
        raise ValueError(
            f"ids must be one flat sequence of shape (n_tokens,), got shape {ids.shape}"
        )
    starts = window_starts(len(ids), seq_len, stride)
    if drop_remainder and len(starts) < batch_size:
        raise ValueError(
            f"the text gives {len(starts)} windows of {seq_len + 1} tokens, fewer than one batch "
            f"of {batch_size}: lower batch_size or seq_len, or use more text"
        )
    corpus = tf.constant(ids)
    offsets = tf.range(seq_len + 1, dtype=tf.int64)

    def cut(start):
        window = tf.gather(corpus, start + offsets)  # (T + 1,)
        return window[:-1], window[1:]

    # The canonical order: map -> cache -> shuffle -> batch -> prefetch. Caching before the
    # shuffle keeps the cut windows in memory while every epoch still gets a new order.
    ds = tf.data.Dataset.from_tensor_slices(starts)
    ds = ds.map(cut, num_parallel_calls=tf.data.AUTOTUNE if prefetch else None)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def lm_arrays(ids: Sequence[int] | np.ndarray, seq_len: int, stride: int | None = None):
    """The same windows as NumPy arrays ``x, y`` of shape ``(n_windows, T)``, in order.

    Handy for evaluation on a fixed validation set and on backends without TensorFlow.
    """
    ids = np.asarray(ids, dtype=np.int32)
    starts = window_starts(len(ids), seq_len, stride)
    idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
    windows = ids[idx]
    return windows[:, :-1], windows[:, 1:]


# ---------------------------------------------------------------------------------------------
# BERT inputs: [CLS] A [SEP] B [SEP], segments, padding (chapters 07-08)
# ---------------------------------------------------------------------------------------------
#
#   tokens       [CLS] the film was great [SEP] i  loved it  [SEP] [PAD] [PAD]
#   segment_ids    0    0    0    0    0    0   1    1    1    1     0     0
#   padding_mask   1    1    1    1    1    1   1    1    1    1     0     0


def pack_pair(
    a: Sequence[int],
    b: Sequence[int] | None = None,
    *,
    seq_len: int,
    cls_id: int,
    sep_id: int,
    pad_id: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One BERT input: ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``, padded to ``seq_len``.

    Too-long inputs are cut longest-first (one token at a time from the end of the longer
    segment), as BERT does, so both segments keep as much as they can.

    Returns:
        ``(token_ids, segment_ids, padding_mask)``, each ``(seq_len,)`` int32.

    Raises:
        ValueError: ``seq_len`` too small to hold the special tokens and one token per segment.
    """
    specials = 2 if b is None else 3
    if seq_len < specials + (1 if b is None else 2):
        raise ValueError(
            f"seq_len={seq_len} cannot hold [CLS]/[SEP] and the text: use seq_len >= "
            f"{specials + (1 if b is None else 2)}"
        )
    a, b = list(a), (None if b is None else list(b))
    budget = seq_len - specials
    if b is None:
        a = a[:budget]
    else:
        while len(a) + len(b) > budget:
            (a if len(a) >= len(b) else b).pop()
    ids = [cls_id, *a, sep_id] + ([] if b is None else [*b, sep_id])
    segments = [0] * (len(a) + 2) + ([] if b is None else [1] * (len(b) + 1))
    out = np.full((3, seq_len), pad_id, dtype=np.int32)
    out[0, : len(ids)] = ids
    out[1] = 0
    out[1, : len(segments)] = segments
    out[2] = 0
    out[2, : len(ids)] = 1
    return out[0], out[1], out[2]


def pack_batch(
    a_list: Sequence[Sequence[int]],
    b_list: Sequence[Sequence[int]] | None = None,
    *,
    seq_len: int,
    cls_id: int,
    sep_id: int,
    pad_id: int = 0,
) -> dict[str, np.ndarray]:
    """:func:`pack_pair` over lists: ``{"token_ids", "segment_ids", "padding_mask"}``, each ``(N, S)``."""
    if len(a_list) == 0:
        raise ValueError("pack_batch got no sequences: the split is empty")
    if b_list is not None and len(b_list) != len(a_list):
        raise ValueError(f"{len(a_list)} first segments but {len(b_list)} second segments")
    packed = [
        pack_pair(
            a,
            None if b_list is None else b_list[i],
            seq_len=seq_len,
            cls_id=cls_id,
            sep_id=sep_id,
            pad_id=pad_id,
        )
        for i, a in enumerate(a_list)
    ]
    return {
        name: np.stack([p[k] for p in packed])
        for k, name in enumerate(("token_ids", "segment_ids", "padding_mask"))
    }


def tokenize_texts(tokenizer, texts: Sequence[str], batch_size: int = 2048) -> list[np.ndarray]:
    """Token ids of each text with a keras-hub tokenizer (ragged output), as numpy arrays."""
    out: list[np.ndarray] = []
    for i in range(0, len(texts), batch_size):
        rows = tokenizer(list(texts[i : i + batch_size]))
        rows = rows.to_list() if hasattr(rows, "to_list") else rows  # tf.RaggedTensor or lists
        out.extend(np.asarray(row, dtype=np.int32) for row in rows)
    return out


def chunk_documents(
    docs: Sequence[np.ndarray], length: int, *, min_length: int = 8
) -> list[np.ndarray]:
    """Cut each document's ids into consecutive pieces of ``length`` ids (the last piece may be
    shorter; pieces under ``min_length`` ids are dropped). All the text is used, none crosses
    a document boundary."""
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    return [
        d[i : i + length]
        for d in docs
        for i in range(0, len(d), length)
        if len(d[i : i + length]) >= min(min_length, length)
    ]


def encode_for_classification(
    tokenizer, texts: Sequence[str], *, seq_len: int, cls_id: int, sep_id: int, pad_id: int = 0
) -> dict[str, np.ndarray]:
    """``[CLS] text [SEP]`` inputs for a classifier, cut to ``seq_len`` (the text's start is kept).

    Texts are cut to ``8 * seq_len`` characters before tokenizing (a token is rarely under 2
    characters, so nothing that would fit is lost) to keep long reviews cheap to encode.

    Returns:
        ``{"token_ids", "segment_ids", "padding_mask"}``, each ``(N, seq_len)`` int32.
    """
    if len(texts) == 0:
        raise ValueError("no texts to encode: the split is empty")
    ids = tokenize_texts(tokenizer, [t[: 8 * seq_len] for t in texts])
    return pack_batch(ids, seq_len=seq_len, cls_id=cls_id, sep_id=sep_id, pad_id=pad_id)


# ---------------------------------------------------------------------------------------------
# Next-sentence prediction pairs
# ---------------------------------------------------------------------------------------------

_SENTENCE_END = None


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences at ``.``, ``!`` or ``?`` followed by a space (good enough
    for reviews; no abbreviations list)."""
    import re

    global _SENTENCE_END
    if _SENTENCE_END is None:
        _SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(A-Z0-9])")
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def nsp_pairs(
    documents: Sequence[Sequence[np.ndarray]],
    *,
    rng: np.random.Generator,
    segment_len: int,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Sentence pairs for next-sentence prediction, half true, half random.

    For each document of at least two sentences: a split point ``k`` is drawn; segment A is
    the sentences before ``k`` (the last ``segment_len`` ids of them), segment B the sentences
    from ``k`` on (label 1, "is next") or, with probability 1/2, sentences from a random
    other document (label 0, "not next"). Each segment keeps at most ``segment_len`` ids.

    Args:
        documents: each document a list of sentences, each sentence an array of token ids.

    Returns:
        ``(a_list, b_list, labels)``: segments and an ``(N,)`` int32 array of 0/1.
    """
    docs = [d for d in documents if len(d) >= 2]
    if len(docs) < 2:
        raise ValueError("nsp_pairs needs at least two documents of two or more sentences")
    a_list, b_list, labels = [], [], []
    for i, doc in enumerate(docs):
        k = int(rng.integers(1, len(doc)))
        a = np.concatenate(doc[:k])[-segment_len:]
        if rng.random() < 0.5:
            b, label = np.concatenate(doc[k:])[:segment_len], 1
        else:
            j = int(rng.integers(0, len(docs) - 1))
            other = docs[j + (j >= i)]  # any document but this one
            start = int(rng.integers(0, len(other)))
            b, label = np.concatenate(other[start:])[:segment_len], 0
        a_list.append(a)
        b_list.append(b)
        labels.append(label)
    return a_list, b_list, np.asarray(labels, dtype=np.int32)


# ---------------------------------------------------------------------------------------------
# Batches for fit and for a custom loop (keras.utils.PyDataset: any backend, no tf.data)
# ---------------------------------------------------------------------------------------------


def check_packed_inputs(inputs: dict[str, np.ndarray]) -> int:
    """The number of examples ``N`` in packed inputs; a ValueError unless ``token_ids``,
    ``segment_ids`` and ``padding_mask`` are all there, ``(N, S)`` each, with ``N >= 1``."""
    missing = {"token_ids", "segment_ids", "padding_mask"} - set(inputs)
    if missing:
        raise ValueError(f"inputs lack {sorted(missing)}: build them with pack_batch")
    n = len(inputs["token_ids"])
    if n == 0:
        raise ValueError("the split is empty: there is nothing to train or evaluate on")
    shapes = {k: np.shape(v) for k, v in inputs.items()}
    if len({s for s in shapes.values()}) != 1 or len(shapes["token_ids"]) != 2:
        raise ValueError(
            f"token_ids, segment_ids and padding_mask must all be (N, S), got {shapes}"
        )
    return n


def _keras_pydataset():
    import keras

    return keras.utils.PyDataset


class ShuffledBatches(_keras_pydataset()):
    """A ``PyDataset`` over ``n`` examples in batches, in a new seeded order each epoch.

    The shuffle happens when an epoch *begins*, counted there: ``model.fit`` also calls
    ``on_epoch_end`` once before training starts (when it resets its iterator), so counting
    ends would skip epoch 0's order under ``fit`` but not in a hand-written loop. A loop
    calls ``on_epoch_begin()`` at the start of every epoch, as ``fit`` does.

    A subclass calls ``self._start(n, batch_size=..., seed=..., shuffle=...)`` in its
    ``__init__`` and reads the examples of batch ``i`` from ``self.order``.
    """

    def _start(self, n: int, *, batch_size: int, seed: int, shuffle: bool) -> None:
        self._n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.epoch, self._begun = 0, 0
        self._order()

    def _order(self) -> None:
        self.order = (
            np.random.default_rng((self.seed, self.epoch)).permutation(self._n)
            if self.shuffle
            else np.arange(self._n)
        )

    def on_epoch_begin(self) -> None:
        """Start the next epoch: epoch 0 at the first call, then 1, 2, ...; a new order each."""
        self.epoch, self._begun = self._begun, self._begun + 1
        self._order()


class MaskedLMBatches(ShuffledBatches):
    """Batches for masked-LM (and next-sentence) pretraining, masked afresh every epoch.

    Every batch is masked by :func:`mask_tokens` with a generator seeded by ``(seed, epoch,
    batch)``: the same run gives the same batches, and each epoch hides other tokens
    ("dynamic masking", as RoBERTa does) so the model cannot memorize the answers.

    Each item is ``(x, y, sample_weight)``: ``x = {"token_ids", "segment_ids",
    "padding_mask", "mask_positions"}`` (``(B, S)``, ``(B, S)``, ``(B, S)``, ``(B, P)``),
    ``y = {"mlm": (B, P) original ids}`` (plus ``"nsp": (B,)`` labels when ``nsp_labels``
    is given) and ``sample_weight = {"mlm": (B, P) 1/0 per slot}`` (plus ``"nsp"`` ones).
    """

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        *,
        batch_size: int,
        vocab_size: int,
        mask_id: int,
        special_ids: Sequence[int],
        max_predictions: int,
        seed: int = 0,
        nsp_labels: np.ndarray | None = None,
        shuffle: bool = True,
        rate: float = 0.15,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        n = check_packed_inputs(inputs)
        if batch_size < 1 or batch_size > n:
            raise ValueError(f"batch_size={batch_size} must be between 1 and the {n} examples")
        if nsp_labels is not None and len(nsp_labels) != n:
            raise ValueError(f"{len(nsp_labels)} NSP labels for {n} examples")
        # Now, not at the first batch (inside fit, after the model is built and compiled).
        check_masking(rate, max_predictions)
        self.inputs, self.nsp_labels = inputs, nsp_labels
        self.mask_args = dict(
            vocab_size=vocab_size,
            mask_id=mask_id,
            special_ids=tuple(special_ids),
            max_predictions=max_predictions,
            rate=rate,
        )
        self._start(n, batch_size=batch_size, seed=seed, shuffle=shuffle)

    def __len__(self) -> int:
        return len(self.inputs["token_ids"]) // self.batch_size  # full batches only

    def __getitem__(self, index: int):
        idx = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng((self.seed, self.epoch, index, 1))
        masked = mask_tokens(self.inputs["token_ids"][idx], rng=rng, **self.mask_args)
        x = {
            "token_ids": masked["token_ids"],
            "segment_ids": self.inputs["segment_ids"][idx],
            "padding_mask": self.inputs["padding_mask"][idx],
            "mask_positions": masked["mask_positions"],
        }
        y = {"mlm": masked["mask_ids"]}
        weights = {"mlm": masked["mask_weights"]}
        if self.nsp_labels is not None:
            y["nsp"] = self.nsp_labels[idx]
            weights["nsp"] = np.ones(len(idx), dtype=np.float32)
        return x, y, weights
