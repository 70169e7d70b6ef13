"""Chapter 09 — solutions to the checked exercises (`lmcourse check 09 --answers solutions/ch09.py`)."""

from collections import Counter

import numpy as np


def perplexity_from_bits(bits):
    """09.1 Perplexity is 2 to the power of the cross-entropy in bits (e to the power of nats)."""
    return np.power(2.0, bits)


def clipped_matches(hyp, refs, n):
    """09.2 Count each hypothesis n-gram at most as often as the reference richest in it."""
    grams = lambda tokens: Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))  # noqa: E731
    most = Counter()
    for ref in refs:
        most |= grams(ref)  # | keeps the larger count of each n-gram
    return sum(min(count, most[g]) for g, count in grams(hyp).items())


def ece(confidence, correct, n_bins=10):
    """09.3 np.searchsorted on the inner edges puts a value equal to an edge in the lower bin."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    bins = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], confidence)
    total = 0.0
    for b in np.unique(bins):
        inside = bins == b
        total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return total
