"""From next-token logits to a token: greedy decoding and sampling.

A language model gives, at each step, logits :math:`z` over the vocabulary for the next
token. How we turn them into a token decides what the text reads like:

- **greedy**: :math:`\\arg\\max_j z_j`. Deterministic, and prone to loops ("the the the").
- **temperature** :math:`\\tau`: sample from :math:`\\mathrm{softmax}(z / \\tau)`.
  :math:`\\tau < 1` sharpens the distribution (safer, duller), :math:`\\tau > 1` flattens it
  (more surprising, more errors); :math:`\\tau \\to 0` is greedy.
- **top-k**: keep only the ``k`` most likely tokens, renormalize, sample.
- **top-p** (nucleus): keep the smallest set of most likely tokens whose probability mass
  reaches ``p``, renormalize, sample. The set adapts: small where the model is sure, large
  where it is not.

The filters compose in this order: temperature, then top-k, then top-p (as in most
libraries). They work on NumPy arrays in float64, so the probabilities are exact to print
and to test; a model's logits (any backend) are converted first.

:func:`sample` draws the next token of each row; :func:`probabilities` shows the
distribution it draws from. :func:`lmcourse.generate.generate` calls them once per new token.

Example:
    >>> import numpy as np
    >>> logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    >>> probabilities(logits, top_p=0.8).round(3)      # 0.5 + 0.3 reaches 0.8
    array([[0.625, 0.375, 0.   , 0.   ]])
    >>> sample(logits, greedy=True)
    array([0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lmcourse._checks import check_int, check_number


def _as_logits(logits: Any) -> np.ndarray:
    if hasattr(logits, "numpy") or not isinstance(logits, np.ndarray):
        from keras import ops

        logits = ops.convert_to_numpy(logits)
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim not in (1, 2):
        raise ValueError(f"logits must have shape (V,) or (batch, V), got shape {z.shape}")
    if z.shape[-1] < 1:
        raise ValueError("logits must have at least one entry (the vocabulary is empty)")
    if np.isnan(z).any():
        raise ValueError("logits contain NaN: the model's output is broken (did training diverge?)")
    return z


def check_sampling_args(
    temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> None:
    """Raise a clear ValueError for a temperature <= 0, a k < 1 or a p outside (0, 1]."""
    check_number(
        "temperature",
        temperature,
        low=0,
        low_open=True,
        hint="use greedy decoding for the limit temperature -> 0",
    )
    if top_k is not None:
        check_int("top_k", top_k, hint="or None for no limit")
    if top_p is not None:
        check_number("top_p", top_p, low=0, high=1, low_open=True, hint="or None for no limit")


def softmax(z: np.ndarray) -> np.ndarray:
    """Stable softmax over the last axis, in float64; ``-inf`` logits get probability 0."""
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=-1, keepdims=True)
    e = np.exp(z - m)
    return e / e.sum(axis=-1, keepdims=True)


def top_k_mask(z: np.ndarray, k: int) -> np.ndarray:
    """True for the ``k`` largest entries of each row (exactly ``k``; ties broken by index)."""
    k = min(int(k), z.shape[-1])
    order = np.argsort(-z, axis=-1, kind="stable")[..., :k]
    mask = np.zeros(z.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


def top_p_mask(p_rows: np.ndarray, p: float) -> np.ndarray:
    """True for the nucleus of each row of probabilities: the smallest set of the most likely
    entries whose total reaches ``p``.

    A token is kept when the mass of the tokens ranked above it is still below ``p`` (by more
    than round-off, ``1e-9``: 0.5 + 0.3 reaches 0.8 even if the floats sum to 0.7999...). On
    an exact tie ``cumsum == p`` this keeps one token fewer than ``keras_hub``'s
    ``TopPSampler``, which also keeps the next one.
    """
    order = np.argsort(-p_rows, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(p_rows, order, axis=-1)
    mass_before = np.cumsum(sorted_p, axis=-1) - sorted_p
    keep_sorted = mass_before < p - 1e-9
    keep_sorted[..., 0] = True  # the most likely token is always kept
    mask = np.zeros(p_rows.shape, dtype=bool)
    np.put_along_axis(mask, order, keep_sorted, axis=-1)
    return mask


def probabilities(
    logits: Any,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> np.ndarray:
    """The distribution a sampler draws from: temperature, then top-k, then top-p.

    Args:
        logits: scores, shape ``(V,)`` or ``(B, V)`` (NumPy or any backend's tensor).
        temperature: divides the logits; > 0.
        top_k: keep the ``k`` most likely tokens (None: all).
        top_p: keep the smallest most-likely set with mass >= ``p``, in (0, 1] (None: all).

    Returns:
        Probabilities, float64, the shape of ``logits``; each row sums to 1, and tokens
        filtered out have probability exactly 0.

    Raises:
        ValueError: bad arguments (see :func:`check_sampling_args`) or bad logits.
    """
    check_sampling_args(temperature, top_k, top_p)
    z = _as_logits(logits) / temperature
    if top_k is not None:
        z = np.where(top_k_mask(z, top_k), z, -np.inf)
    probs = softmax(z)
    if top_p is not None:
        probs = np.where(top_p_mask(probs, top_p), probs, 0.0)
        probs /= probs.sum(axis=-1, keepdims=True)
    return probs


def sample(
    logits: Any,
    *,
    greedy: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Choose the next token of each row of logits.

    Args:
        logits: shape ``(V,)`` or ``(B, V)``.
        greedy: take the argmax (the other arguments are then ignored, but still checked).
        temperature, top_k, top_p: see :func:`probabilities`.
        rng: a NumPy Generator or a seed; the same seed gives the same tokens.

    Returns:
        Token ids, int64: shape ``(B,)`` (or ``()`` for logits of shape ``(V,)``).

    Example:
        >>> import numpy as np
        >>> z = np.array([[0.0, 3.0, 1.0], [2.0, 0.0, 0.0]])
        >>> sample(z, greedy=True)
        array([1, 0])
        >>> sample(z, top_k=1, rng=0)        # top-1 sampling is greedy
        array([1, 0])
    """
    check_sampling_args(temperature, top_k, top_p)
    z = _as_logits(logits)
    if greedy:
        return np.argmax(z, axis=-1)
    probs = probabilities(z, temperature, top_k, top_p)
    rng = np.random.default_rng(rng)
    rows = probs.reshape(-1, probs.shape[-1])
    cdf = np.cumsum(rows, axis=-1)
    u = rng.random((rows.shape[0], 1)) * cdf[:, -1:]
    ids = (cdf <= u).sum(axis=-1)  # first index with cdf > u
    ids = np.minimum(ids, rows.shape[-1] - 1)
    # A zero-probability token can only be hit through round-off; step back to a kept one.
    bad = rows[np.arange(rows.shape[0]), ids] == 0
    if bad.any():
        ids[bad] = np.argmax(rows[bad], axis=-1)
    return ids.reshape(probs.shape[:-1]).astype(np.int64)
