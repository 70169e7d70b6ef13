"""Metrics: how good a model's predictions are.

Language-model metrics all come from one number, the cross-entropy :math:`H` of the model on
a text, in nats per token (natural log):

.. math:: H = -\\frac{1}{N} \\sum_{t=1}^{N} \\ln P(w_t \\mid w_{<t}),
   \\qquad \\text{perplexity} = e^{H}, \\qquad \\text{bits per token} = H / \\ln 2.

Keras losses (``SparseCategoricalCrossentropy``) are in nats too, so ``perplexity(loss)``
turns a training curve into perplexities. Later chapters add accuracy, F1 and BLEU here.

Example:
    >>> perplexity(cross_entropy([0.25, 0.25, 0.25]))  # 1 in 4 every time: perplexity 4
    4.0
    >>> bits_per_token(math.log(4))
    2.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

LN2 = math.log(2.0)


def cross_entropy(probs: Iterable[float] | np.ndarray) -> float:
    """Average negative log-probability, in nats, of the probabilities a model gave the
    tokens that really came.

    Args:
        probs: P(w_t | w_<t) for each position t, shape ``(N,)``, each in [0, 1].

    Returns:
        :math:`-\\frac{1}{N}\\sum_t \\ln p_t`; ``inf`` if some probability is 0.

    Raises:
        ValueError: no probabilities, or one outside [0, 1].
    """
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if p.size == 0:
        raise ValueError("cross_entropy needs at least one probability")
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must be in [0, 1]")
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(p)))


def perplexity(cross_entropy_nats: float | np.ndarray) -> float | np.ndarray:
    """Perplexity :math:`e^H` from a cross-entropy in nats per token.

    A model with perplexity ``k`` is as unsure as one that picks uniformly among ``k``
    tokens: the uniform model over a vocabulary ``V`` has perplexity ``|V|``.

    Args:
        cross_entropy_nats: H >= 0 in nats/token (a float, or an array of them).

    Returns:
        e**H, the same shape as the input (a float for a float).
    """
    h = np.asarray(cross_entropy_nats, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = np.exp(h)
    return float(out) if out.ndim == 0 else out


def bits_per_token(cross_entropy_nats: float | np.ndarray) -> float | np.ndarray:
    """Cross-entropy in bits: :math:`H / \\ln 2` (bits per character for a character model).

    Args:
        cross_entropy_nats: H in nats/token (a float or an array).
    """
    out = np.asarray(cross_entropy_nats, dtype=np.float64) / LN2
    return float(out) if out.ndim == 0 else out


def nats_from_perplexity(ppl: float | np.ndarray) -> float | np.ndarray:
    """The inverse of :func:`perplexity`: :math:`\\ln(\\text{ppl})` nats/token.

    Raises:
        ValueError: a perplexity below 1 (no model is surer than certain).
    """
    p = np.asarray(ppl, dtype=np.float64)
    if np.any(p < 1):
        raise ValueError(f"perplexity must be >= 1, got {ppl!r}")
    out = np.log(p)
    return float(out) if out.ndim == 0 else out
