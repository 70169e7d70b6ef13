"""Chapter 01's checked exercises: the chain rule, add-k and interpolated bigrams, perplexity.

Each test draws a small random text of token ids, calls the learner's function and compares
it with :class:`lmcourse.models.ngram.NGramLM` or :mod:`lmcourse.metrics`.
"""

from __future__ import annotations

import math

import numpy as np

from lmcourse import metrics
from lmcourse.exercises.checking import Exercise, Wrong, expect_close
from lmcourse.models.ngram import NGramLM
from lmcourse.vocabulary import Vocabulary


def _text(seed: int, v: int = 6, n: int = 40) -> tuple[np.ndarray, Vocabulary]:
    """``n`` random ids in ``0 .. v - 2`` (id ``v - 1`` never occurs) and a vocabulary of ``v``."""
    ids = np.random.default_rng(seed).integers(0, v - 1, size=n)
    return ids, Vocabulary([f"w{i}" for i in range(1, v)])


def _rows(lm: NGramLM, v: int) -> np.ndarray:
    """``(v, v)``: row ``h`` is the model's ``P(. | h)``."""
    return np.stack([lm.distribution(np.array([h])) for h in range(v)])


def _sentence_log_prob(f) -> None:
    ids, vocab = _text(10)
    lm = NGramLM(2, vocab, smoothing="add_k", k=0.5).fit(ids)
    v = len(vocab)
    p_first, p_next = lm.distribution(np.zeros(0, dtype=np.int64)), _rows(lm, v)
    sentence = np.array([3, 0, 0, 4, 1, 2])
    want = float(lm.log_probs(sentence).sum())
    got = f(p_first, p_next, sentence)
    expect_close(got, want, "sentence_log_prob(p_first, p_next, [3, 0, 0, 4, 1, 2])")
    expect_close(f(p_first, p_next, sentence[:1]), math.log(p_first[3]), "a one-token sentence")


def _add_k_bigram(f) -> None:
    ids, vocab = _text(11)
    v = len(vocab)
    for k in (1.0, 0.1):
        lm = NGramLM(2, vocab, smoothing="add_k", k=k).fit(ids)
        got = np.asarray(f(ids, v, k), dtype=float)
        if got.shape == (v, v) and not np.allclose(got.sum(axis=1), 1.0):
            raise Wrong(
                f"with k={k} the rows of add_k_bigram sum to {np.round(got.sum(axis=1), 3)}, "
                "not 1: the denominator is c(h) + k|V|"
            )
        expect_close(got, _rows(lm, v), f"add_k_bigram(ids, {v}, k={k})")


def _interpolated_bigram(f) -> None:
    ids, vocab = _text(12)
    v, lambdas = len(vocab), (0.8, 0.6)
    lm = NGramLM(2, vocab, smoothing="interpolated", lambdas=lambdas).fit(ids)
    got = np.asarray(f(ids, v, *lambdas), dtype=float)
    if got.shape == (v, v) and not np.allclose(got[v - 1].sum(), 1.0):
        raise Wrong(
            f"the row of history {v - 1}, which never occurs, sums to {got[v - 1].sum():.4g}, "
            "not 1: skip the bigram level when c(h) = 0 and use the unigram level alone"
        )
    expect_close(got, _rows(lm, v), f"interpolated_bigram(ids, {v}, 0.8, 0.6)")


def _perplexity_from_log_probs(f) -> None:
    rng = np.random.default_rng(13)
    p = rng.uniform(0.01, 0.9, size=25)
    want = metrics.perplexity(metrics.cross_entropy(p))
    expect_close(f(np.log(p)), want, "perplexity_from_log_probs(25 log-probabilities)")
    expect_close(f(np.log([0.5, 0.5, 0.125, 0.125])), 4.0, "probabilities 1/2, 1/2, 1/8, 1/8")
    with np.errstate(divide="ignore"):
        zero = np.log([0.5, 0.0])
    if not np.isposinf(f(zero)):
        raise Wrong("a probability of 0 (log-probability -inf) should give perplexity inf")


EXERCISES = (
    Exercise("01.1", "The chain rule for a bigram model", "sentence_log_prob", _sentence_log_prob),
    Exercise("01.2", "Add-k bigram probabilities from counts", "add_k_bigram", _add_k_bigram),
    Exercise("01.3", "Jelinek-Mercer interpolation", "interpolated_bigram", _interpolated_bigram),
    Exercise(
        "01.4",
        "Perplexity from log-probabilities",
        "perplexity_from_log_probs",
        _perplexity_from_log_probs,
    ),
)
