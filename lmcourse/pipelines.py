"""``tf.data`` input pipelines: token ids in, batches of (inputs, targets) out.

Language modeling needs no labels: the target of every position is the next token. A window
of ``seq_len + 1`` ids ``w`` gives inputs ``w[:-1]`` and targets ``w[1:]``::

    ids      t0 t1 t2 t3 t4 t5 t6 ...
    window   t0 t1 t2 t3 t4            (seq_len = 4)
    x        t0 t1 t2 t3
    y           t1 t2 t3 t4

This module (and ``text``) is the only place in the package that uses ``tf.data`` /
``tf.strings``; models stay backend-neutral.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
        raise ValueError(f"ids must be one flat sequence of shape (n_tokens,), got shape {ids.shape}")
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
