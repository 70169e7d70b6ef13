"""The paired bootstrap (Efron; Koehn, 2004 for BLEU): is system B really better than A?

Score both systems on the same test examples, then resample the examples with replacement
many times and rescore: the spread of the resampled *difference* is its uncertainty. Pairing
matters: both systems are scored on the same resample, so the examples' own difficulty cancels.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = (rng.random(500) < 0.70).astype(float)    # right/wrong of system A on 500 items
    >>> b = np.where(rng.random(500) < 0.2, 1.0, a)   # B: A plus some fixes
    >>> r = paired_bootstrap(np.mean, a, b, seed=0)
    >>> r.low > 0                                      # the whole 95% interval is above 0
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BootstrapResult:
    difference: float  # score(b) - score(a) on the full test set
    low: float  # the confidence interval of the difference
    high: float
    p_value: float  # share of resamples where b did not beat a (one-sided)
    confidence: float

    def __str__(self) -> str:
        return (
            f"{self.difference:+.4f} [{self.low:+.4f}, {self.high:+.4f}] "
            f"({self.confidence:.0%} interval; p = {self.p_value:.3f})"
        )


def paired_bootstrap(
    score: Callable[[np.ndarray], float],
    a: np.ndarray,
    b: np.ndarray,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile interval of ``score(b[idx]) - score(a[idx])`` over resampled indices.

    Args:
        score: maps per-example rows (first axis = examples) to one number, e.g. ``np.mean``
            of 0/1 correctness, or BLEU of summed sentence statistics.
        a, b: per-example rows of the two systems on the same N examples, shape (N, ...).
    """
    a, b = np.asarray(a), np.asarray(b)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(
            f"a has {len(a)} examples, b {len(b)}: score both on the same N >= 2 examples"
        )
    if not 0 < confidence < 1 or n_resamples < 10:
        raise ValueError("use 0 < confidence < 1 and n_resamples >= 10 (1,000 is usual)")
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, len(a), len(a))
        diffs[i] = score(b[idx]) - score(a[idx])
    tail = (1 - confidence) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    return BootstrapResult(
        float(score(b) - score(a)), float(low), float(high), float(np.mean(diffs <= 0)), confidence
    )
