"""Chapter 01 — checked exercises. Write each function, then run `lmcourse check 01`.

The same stubs are at the end of chapters/01_language_models.ipynb, where
`check("01", globals())` checks what you wrote in the notebook instead. Token ids are integers
``0 .. V - 1``. Solutions: solutions/ch01.py (try first).
"""

import numpy as np


def sentence_log_prob(p_first: np.ndarray, p_next: np.ndarray, ids: np.ndarray) -> float:
    """01.1 The chain rule for a bigram model: ``ln P(w_1..w_T) = ln p_first[w_1] +
    sum_{t=2..T} ln p_next[w_{t-1}, w_t]``. ``p_first`` has shape ``(V,)`` (the first
    token's distribution), ``p_next`` shape ``(V, V)`` (row ``h`` is ``P(. | h)``), ``ids``
    shape ``(T,)``. Returns a float, in nats."""
    raise NotImplementedError


def add_k_bigram(ids: np.ndarray, V: int, k: float) -> np.ndarray:
    """01.2 The add-k bigram model of the text ``ids`` (shape ``(N,)``) as a ``(V, V)``
    matrix: ``P[h, w] = (c(h, w) + k) / (c(h) + k V)``, where ``c(h, w)`` counts the
    positions where ``h`` is followed by ``w`` and ``c(h) = sum_w c(h, w)``."""
    raise NotImplementedError


def interpolated_bigram(ids: np.ndarray, V: int, lambda1: float, lambda2: float) -> np.ndarray:
    """01.3 Jelinek-Mercer interpolation as a ``(V, V)`` matrix ``P[h, w]``:
    ``P1(w) = lambda1 c(w) / N + (1 - lambda1) / V`` (``N`` tokens in all) and
    ``P[h, w] = lambda2 c(h, w) / c(h) + (1 - lambda2) P1(w)``, or ``P1(w)`` alone when
    ``c(h) = 0`` (a history never followed by anything). Counts as in 01.2."""
    raise NotImplementedError


def perplexity_from_log_probs(log_probs: np.ndarray) -> float:
    """01.4 The perplexity ``e^H`` of a model that gave the true tokens the natural-log
    probabilities ``log_probs`` (shape ``(N,)``), with ``H = -(1/N) sum_t log_probs[t]``.
    A log-probability of ``-inf`` (probability 0) gives ``inf``."""
    raise NotImplementedError
