"""Chapter 09's checks catch the usual mistakes, each with a message that says what to fix."""

import functools
from collections import Counter

import numpy as np
import pytest

from lmcourse import exercises

# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "09")


def unclipped(hyp, refs, n):  # every hypothesis n-gram that occurs anywhere counts, repeats too
    grams = [tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1)]
    seen = {tuple(r[i : i + n]) for r in refs for i in range(len(r) - n + 1)}
    return sum(g in seen for g in grams)


def summed_over_references(hyp, refs, n):  # clipped to the sum over references, not the max
    grams = lambda t: Counter(tuple(t[i : i + n]) for i in range(len(t) - n + 1))  # noqa: E731
    total = sum((grams(r) for r in refs), Counter())
    return sum(min(c, total[g]) for g, c in grams(hyp).items())


def ece_unweighted(confidence, correct, n_bins=10):
    bins = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], confidence)
    return np.mean(
        [abs(correct[bins == b].mean() - confidence[bins == b].mean()) for b in np.unique(bins)]
    )


@pytest.mark.parametrize(
    ("number", "answer", "says"),
    [
        ("09.1", np.exp, "bits are base 2"),
        ("09.2", unclipped, "clip it"),
        ("09.2", summed_over_references, "should be"),
        ("09.3", ece_unweighted, "weight each bin by n_b / N"),
    ],
)
def test_a_typical_mistake_is_wrong_with_a_hint(number, answer, says):
    result = outcome(number, answer)
    assert result.status == exercises.WRONG
    assert says in result.message, result.message
