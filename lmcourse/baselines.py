"""Classical text-classification baselines that every neural model is compared with.

* :func:`majority_accuracy`: always predict the most frequent training label.
* :func:`tfidf_logistic_regression`: TF-IDF of word 1-2-grams and a logistic regression
  (scikit-learn), with the inverse regularization strength ``C`` chosen on the validation
  split - the strong, cheap baseline of sentiment analysis (Wang & Manning, 2012).

Example:
    >>> texts = ["a great film", "great acting", "a dull film", "dull and boring"] * 5
    >>> labels = [1, 1, 0, 0] * 5
    >>> fit = tfidf_logistic_regression(texts, labels, texts[:4], labels[:4], cs=(1.0, 10.0))
    >>> fit.predict(["boring", "great"]).tolist(), fit.c in (1.0, 10.0)
    ([0, 1], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmcourse.data import check_labels

DEFAULT_CS = (0.25, 1.0, 4.0, 16.0, 64.0)
"""The ``C`` values tried (larger = weaker L2 regularization)."""


def majority_accuracy(train_labels: Sequence[int], test_labels: Sequence[int]) -> float:
    """Accuracy on ``test_labels`` of always predicting the training split's commonest label
    (ties: 1)."""
    train, test = check_labels(train_labels), check_labels(test_labels, where="test labels")
    majority = int(train.mean() >= 0.5)
    return float(np.mean(test == majority))


@dataclass
class TfidfFit:
    """A fitted TF-IDF + logistic-regression classifier and how its ``C`` was chosen."""

    pipeline: Any  # sklearn.pipeline.Pipeline: TfidfVectorizer -> LogisticRegression
    c: float
    val_accuracy: dict[float, float] = field(default_factory=dict)  # C -> validation accuracy

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """``(N,)`` predicted labels 0/1."""
        return self.pipeline.predict(list(texts)).astype(np.int64)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, 2)`` class probabilities."""
        return self.pipeline.predict_proba(list(texts))

    def accuracy(self, texts: Sequence[str], labels: Sequence[int]) -> float:
        return float(np.mean(self.predict(texts) == check_labels(labels)))


def _pipeline(c: float, ngram_range: tuple[int, int], seed: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True, min_df=1),
        LogisticRegression(C=c, max_iter=2000, random_state=seed),
    )


def tfidf_logistic_regression(
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    val_texts: Sequence[str],
    val_labels: Sequence[int],
    *,
    cs: Sequence[float] = DEFAULT_CS,
    ngram_range: tuple[int, int] = (1, 2),
    seed: int = 0,
) -> TfidfFit:
    """TF-IDF (word n-grams, sublinear term frequency) + logistic regression, ``C`` chosen on
    the validation split (the first of equally good values: the stronger regularization).

    Args:
        train_texts, train_labels: the labelled training texts (labels 0/1).
        val_texts, val_labels: the validation split that picks ``C``.
        cs: the values of ``C`` to try.
        ngram_range: the word n-gram orders (``(1, 2)``: words and word pairs).
        seed: the solver's random state.

    Returns:
        A :class:`TfidfFit`: the pipeline fitted on the training texts with the chosen ``C``,
        that ``C``, and the validation accuracy of every ``C`` tried.

    Raises:
        ValueError: no texts, texts and labels of different lengths, labels other than 0/1,
            a single class in training, or no ``C`` (one line each).
    """
    y_train = check_labels(train_labels, where="train labels")
    y_val = check_labels(val_labels, where="validation labels")
    if len(train_texts) != len(y_train) or len(val_texts) != len(y_val):
        raise ValueError(
            f"{len(train_texts)} training texts for {len(y_train)} labels and "
            f"{len(val_texts)} validation texts for {len(y_val)} labels: they must pair up"
        )
    if len(set(y_train.tolist())) < 2:
        raise ValueError("the training labels hold one class only: a classifier needs both")
    if not cs:
        raise ValueError("cs is empty: give at least one value of C, e.g. cs=(1.0,)")
    fits, scores = {}, {}
    for c in map(float, cs):
        fits[c] = _pipeline(c, ngram_range, seed).fit(list(train_texts), y_train)
        scores[c] = float(np.mean(fits[c].predict(list(val_texts)) == y_val))
    chosen = max(scores, key=lambda c: (scores[c], -c))  # ties: the smaller C
    return TfidfFit(fits[chosen], chosen, scores)


__all__ = ["DEFAULT_CS", "TfidfFit", "majority_accuracy", "tfidf_logistic_regression"]
