"""BERT's masking for masked language modeling: the 80/10/10 rule, from scratch and by keras-hub.

Of each sequence's ordinary (not special) tokens, ``rate`` (15%) are chosen as prediction
targets; of those, ``mask_rate`` (80%) become ``[MASK]``, ``random_rate`` (10%) a random
ordinary token and the rest stay as they were. :func:`mask_tokens` does it with NumPy,
:func:`keras_hub_mask_tokens` with ``keras_hub.layers.MaskedLMMaskGenerator``, and
:func:`masking_stats` measures what a masking did. Both return
``{"token_ids": (N, S), "mask_positions": (N, P), "mask_ids": (N, P), "mask_weights": (N, P)}``
with ``P = max_predictions`` slots per row (unused slots: position 0, weight 0).
:class:`lmcourse.pipelines.MaskedLMBatches` masks every batch afresh with :func:`mask_tokens`.

Example:
    >>> import numpy as np
    >>> ids = np.array([[2, 10, 11, 12, 13, 3, 0, 0]])            # [CLS] ... [SEP] [PAD] [PAD]
    >>> out = mask_tokens(ids, rng=np.random.default_rng(0), vocab_size=20, mask_id=4,
    ...                   special_ids=[0, 2, 3, 4], max_predictions=2, rate=0.5)
    >>> int(out["mask_weights"].sum()), out["token_ids"].shape
    (2, (1, 8))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_masking(
    rate: float, max_predictions: int, mask_rate: float = 0.0, random_rate: float = 0.0
) -> None:
    """Raise a ValueError unless ``0 < rate <= 1``, ``mask_rate + random_rate <= 1`` (both
    >= 0) and ``max_predictions >= 1``."""
    if not 0 < rate <= 1 or mask_rate < 0 or random_rate < 0 or mask_rate + random_rate > 1:
        raise ValueError(
            f"need 0 < rate <= 1 and mask_rate + random_rate <= 1, got rate={rate}, "
            f"mask_rate={mask_rate}, random_rate={random_rate}"
        )
    if max_predictions < 1:
        raise ValueError(f"max_predictions must be >= 1, got {max_predictions}")


def mask_tokens(
    token_ids: np.ndarray,
    *,
    rng: np.random.Generator,
    vocab_size: int,
    mask_id: int,
    special_ids: Sequence[int],
    max_predictions: int,
    rate: float = 0.15,
    mask_rate: float = 0.8,
    random_rate: float = 0.1,
) -> dict[str, np.ndarray]:
    """BERT's masking: choose ``rate`` of each sequence's ordinary tokens; of those, replace
    ``mask_rate`` by ``[MASK]``, ``random_rate`` by a random ordinary token, and keep the rest.

    Each row gets ``min(max_predictions, ceil(rate * n))`` predictions, ``n`` = its tokens
    that are not special (as keras-hub's ``MaskedLMMaskGenerator`` does).

    Args:
        token_ids: ``(N, S)`` int ids (packed, padded).
        rng: the random source (pass a seeded ``np.random.default_rng``).
        vocab_size: ``V``; random replacements are drawn from ids ``< V`` that are not special.
        mask_id: the id of ``[MASK]``.
        special_ids: ids never chosen (``[PAD]``, ``[CLS]``, ``[SEP]``, ...).
        max_predictions: ``P``, the number of prediction slots per row.

    Returns:
        ``{"token_ids": (N, S) the corrupted input, "mask_positions": (N, P) int32,
        "mask_ids": (N, P) int32 the original ids there, "mask_weights": (N, P) float32
        1 for a real prediction, 0 for an unused slot}``.
    """
    ids = np.asarray(token_ids)
    if ids.ndim != 2:
        raise ValueError(f"token_ids must be (N, S), got shape {ids.shape}")
    check_masking(rate, max_predictions, mask_rate, random_rate)
    n_rows, seq_len = ids.shape
    special = np.isin(ids, np.asarray(list(special_ids)))
    ordinary = np.setdiff1d(np.arange(vocab_size), np.asarray(list(special_ids)))
    # A random score per token, +inf for specials: the k smallest scores of a row are a
    # uniform random choice of k of its ordinary tokens.
    scores = np.where(special, np.inf, rng.random(ids.shape))
    order = np.argsort(scores, axis=1, kind="stable")[:, :max_predictions]  # (N, P)
    counts = np.minimum(np.ceil((~special).sum(1) * rate).astype(int), max_predictions)
    used = np.arange(max_predictions)[None, :] < counts[:, None]  # (N, P)
    positions = np.where(used, order, 0)
    # Keep the slots in position order (easier to read; the loss does not care).
    positions = np.sort(np.where(used, positions, seq_len), axis=1)
    used = positions < seq_len
    positions = np.where(used, positions, 0).astype(np.int32)
    rows = np.arange(n_rows)[:, None]
    originals = np.where(used, ids[rows, positions], 0).astype(np.int32)
    corrupted = ids.astype(np.int32, copy=True)
    u = rng.random(positions.shape)
    replace = np.where(
        u < mask_rate,
        mask_id,
        np.where(
            u < mask_rate + random_rate, rng.choice(ordinary, size=positions.shape), originals
        ),
    )
    corrupted[rows.repeat(max_predictions, 1)[used], positions[used]] = replace[used]
    return {
        "token_ids": corrupted,
        "mask_positions": positions,
        "mask_ids": originals,
        "mask_weights": used.astype(np.float32),
    }


def keras_hub_mask_tokens(
    token_ids: np.ndarray,
    *,
    vocab_size: int,
    mask_id: int,
    special_ids: Sequence[int],
    max_predictions: int,
    rate: float = 0.15,
    mask_rate: float = 0.8,
    random_rate: float = 0.1,
    seed: int | None = None,
) -> dict[str, np.ndarray]:
    """The same masking by ``keras_hub.layers.MaskedLMMaskGenerator`` (numpy in and out).

    keras-hub draws random replacements from all ``V`` ids (specials included) and its
    unused slots have position 0 and weight 0, like :func:`mask_tokens`.
    """
    import keras_hub
    import tensorflow as tf

    if seed is not None:
        tf.random.set_seed(seed)
    generator = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=vocab_size,
        mask_selection_rate=rate,
        mask_token_id=mask_id,
        mask_selection_length=max_predictions,
        unselectable_token_ids=list(special_ids),
        mask_token_rate=mask_rate,
        random_token_rate=random_rate,
    )
    out = generator(tf.constant(np.asarray(token_ids), dtype=tf.int32))
    return {k: np.asarray(v) for k, v in out.items()}


def masking_stats(
    original: np.ndarray, masked: dict[str, np.ndarray], *, mask_id: int, special_ids: Sequence[int]
) -> dict[str, float]:
    """What a masking did, as fractions: ``selected`` of the ordinary tokens, and of the
    selected ones ``masked`` (became ``[MASK]``), ``random`` (became another token) and
    ``kept`` (left as they were)."""
    original = np.asarray(original)
    weights = masked["mask_weights"] > 0
    rows = np.arange(original.shape[0])[:, None].repeat(weights.shape[1], 1)
    pos = masked["mask_positions"]
    now = masked["token_ids"][rows[weights], pos[weights]]
    was = original[rows[weights], pos[weights]]
    n_sel, n_ord = int(weights.sum()), int((~np.isin(original, list(special_ids))).sum())
    return {
        "selected": n_sel / max(n_ord, 1),
        "masked": float(np.mean(now == mask_id)),
        "random": float(np.mean((now != mask_id) & (now != was))),
        "kept": float(np.mean(now == was)),
    }
