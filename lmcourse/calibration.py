"""Calibration: does a classifier's confidence match how often it is right?

Sort predictions into bins by confidence; in a calibrated model, the predictions made with
confidence 0.8 are right 80% of the time. The expected calibration error (ECE; Guo et al.,
2017) is the bins' gap weighted by their share of the predictions,

    ECE = sum_b (n_b / N) |accuracy_b - confidence_b|,

and a reliability diagram plots accuracy_b against confidence_b. Temperature scaling divides
the logits by one number T fitted on validation data: it changes the confidence, never the
predicted class.

Example:
    >>> import numpy as np
    >>> confidence = np.array([0.9, 0.9, 0.9, 0.9, 0.6, 0.6])
    >>> correct = np.array([1, 1, 1, 0, 1, 0])
    >>> round(expected_calibration_error(confidence, correct, n_bins=10), 4)
    0.1333
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmcourse import sampling
from lmcourse._checks import check_int


@dataclass(frozen=True)
class Reliability:
    """The non-empty bins: mean confidence, observed frequency of being right, count."""

    confidence: np.ndarray  # (B,)
    frequency: np.ndarray  # (B,)
    count: np.ndarray  # (B,)


def _check(confidence: np.ndarray, outcome: np.ndarray, n_bins: int) -> None:
    if confidence.ndim != 1 or confidence.shape != outcome.shape or not len(confidence):
        raise ValueError(
            f"confidence {confidence.shape} and outcome {outcome.shape}: give two non-empty "
            "1-D arrays of the same length"
        )
    if confidence.min() < 0 or confidence.max() > 1:
        raise ValueError("confidence must lie in [0, 1]: pass probabilities, not logits")
    if not set(np.unique(outcome)) <= {0, 1}:
        raise ValueError("outcome must be 0/1 (or bool): 1 where the prediction was right")
    check_int("n_bins", n_bins, 1, where="reliability", hint="e.g. 10")


def reliability(confidence, outcome, n_bins: int = 10) -> Reliability:
    """Equal-width bins over [0, 1] (a bin holds (lo, hi], the first [0, hi]), as
    ``sklearn.calibration.calibration_curve(outcome, confidence, n_bins)`` bins.

    Args:
        confidence: (N,) probabilities in [0, 1].
        outcome: (N,) 0/1: whether the event the probability is about happened.
    """
    confidence, outcome = np.asarray(confidence, float), np.asarray(outcome)
    _check(confidence, outcome, n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], confidence)
    count = np.bincount(bins, minlength=n_bins)
    total = np.bincount(bins, weights=confidence, minlength=n_bins)
    hits = np.bincount(bins, weights=outcome.astype(float), minlength=n_bins)
    keep = count > 0
    return Reliability(total[keep] / count[keep], hits[keep] / count[keep], count[keep])


def expected_calibration_error(confidence, correct, n_bins: int = 10) -> float:
    """ECE of top-label confidences (N,) and 0/1 correctness (N,)."""
    r = reliability(confidence, correct, n_bins)
    return float(np.sum(r.count * np.abs(r.frequency - r.confidence)) / r.count.sum())


def top_label(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) of class probabilities (N, C) against integer labels (N,)."""
    probabilities = np.asarray(probabilities, float)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities of shape {probabilities.shape}: expected (N, classes)")
    return probabilities.max(1), (probabilities.argmax(1) == np.asarray(labels)).astype(int)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row softmax of ``logits / temperature``, (N, C) -> (N, C)."""
    return sampling.softmax(np.asarray(logits, float) / temperature)


def negative_log_likelihood(
    logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0
) -> float:
    """Mean -log p(label) under ``softmax(logits / temperature)``."""
    p = softmax(logits, temperature)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.mean(np.log(np.maximum(p, 1e-300))))


def fit_temperature(
    logits: np.ndarray, labels: np.ndarray, low: float = 0.05, high: float = 20.0
) -> float:
    """The temperature T > 0 minimizing validation NLL (golden-section search on log T; the
    NLL is convex in 1/T)."""
    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if negative_log_likelihood(logits, labels, np.exp(c)) < negative_log_likelihood(
            logits, labels, np.exp(d)
        ):
            b = d
        else:
            a = c
    return float(np.exp((a + b) / 2))
