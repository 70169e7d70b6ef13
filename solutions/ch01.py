"""Chapter 01 — solutions to the checked exercises (`lmcourse check 01 --answers solutions/ch01.py`)."""

import numpy as np


def sentence_log_prob(p_first: np.ndarray, p_next: np.ndarray, ids: np.ndarray) -> float:
    """01.1 Sum logs instead of multiplying probabilities: a product of many small numbers
    underflows."""
    ids = np.asarray(ids)
    return float(np.log(p_first[ids[0]]) + np.log(p_next[ids[:-1], ids[1:]]).sum())


def bigram_counts(ids: np.ndarray, V: int) -> np.ndarray:
    """``(V, V)`` counts ``c(h, w)``: each adjacent pair ``(ids[t], ids[t + 1])`` once."""
    counts = np.zeros((V, V))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)  # np.add.at adds repeated pairs; += would not
    return counts


def add_k_bigram(ids: np.ndarray, V: int, k: float) -> np.ndarray:
    """01.2 ``k`` pseudo-counts for each of the ``V`` next tokens: ``k V`` more in all."""
    c = bigram_counts(np.asarray(ids), V)
    return (c + k) / (c.sum(axis=1, keepdims=True) + k * V)


def interpolated_bigram(ids: np.ndarray, V: int, lambda1: float, lambda2: float) -> np.ndarray:
    """01.3 Each level mixes its relative counts with the level below; a history never seen
    has no counts to trust, so its row is the unigram level."""
    ids = np.asarray(ids)
    p1 = lambda1 * np.bincount(ids, minlength=V) / ids.size + (1 - lambda1) / V  # (V,)
    c = bigram_counts(ids, V)
    c_h = c.sum(axis=1, keepdims=True)  # (V, 1)
    mle = c / np.maximum(c_h, 1)
    return np.where(c_h > 0, lambda2 * mle + (1 - lambda2) * p1, p1)


def perplexity_from_log_probs(log_probs: np.ndarray) -> float:
    """01.4 The cross-entropy is the *mean* surprise, so perplexity does not grow with N."""
    return float(np.exp(-np.mean(log_probs)))
