"""Metrics: how good a model's predictions are.

Language-model metrics all come from one number, the cross-entropy :math:`H` of the model on
a text, in nats per token (natural log):

.. math:: H = -\\frac{1}{N} \\sum_{t=1}^{N} \\ln P(w_t \\mid w_{<t}),
   \\qquad \\text{perplexity} = e^{H}, \\qquad \\text{bits per token} = H / \\ln 2.

Keras losses (``SparseCategoricalCrossentropy``) are in nats too, so ``perplexity(loss)``
turns a training curve into perplexities.

A classifier's predictions are scored by :func:`evaluate_classifier`: accuracy, per-class
and macro F1 (:func:`f1_per_class`), the confusion matrix (:func:`confusion_matrix`).

Example:
    >>> perplexity(cross_entropy([0.25, 0.25, 0.25]))  # 1 in 4 every time: perplexity 4
    4.0
    >>> bits_per_token(math.log(4))
    2.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import keras
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


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` counts; row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def f1_per_class(confusion: np.ndarray) -> np.ndarray:
    """F1 = 2 TP / (2 TP + FP + FN) for each class; 0 where a class is never true nor
    predicted (0/0)."""
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def evaluate_classifier(
    model: keras.Model, batches: Any, *, from_logits: bool = True
) -> dict[str, Any]:
    """Accuracy, macro-F1, the confusion matrix and the predicted probabilities.

    Args:
        model: maps ``x`` to class scores ``(batch, classes)``: logits (``from_logits``) or
            probabilities; one column ``(batch, 1)`` is read as binary (a sigmoid's input
            or output).
        batches: an iterable of ``(x, y)`` batches, ``y`` integer labels ``(batch,)``.
        from_logits: the model outputs logits (softmax/sigmoid them) rather than
            probabilities.

    Returns:
        ``{"accuracy": float, "macro_f1": float, "f1": (classes,) per-class F1,
        "confusion_matrix": (classes, classes) int array, rows = true class, columns =
        predicted, "probabilities": (N, classes), "predictions": (N,), "labels": (N,)}``.
        Macro-F1 averages the F1 of the classes that occur among the labels or the
        predictions (as scikit-learn's ``f1_score(average="macro")`` does).

    Raises:
        ValueError: no batches, or a label outside the model's classes.
    """
    probs, labels = [], []
    for x, y in batches:
        scores = keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64)
        scores = scores.reshape(-1, scores.shape[-1])
        if scores.shape[-1] == 1:
            p1 = 1 / (1 + np.exp(-scores[:, 0])) if from_logits else scores[:, 0]
            p = np.stack([1 - p1, p1], axis=-1)
        elif from_logits:
            e = np.exp(scores - scores.max(axis=-1, keepdims=True))
            p = e / e.sum(axis=-1, keepdims=True)
        else:
            p = scores
        probs.append(p)
        labels.append(np.asarray(keras.ops.convert_to_numpy(y)).reshape(-1).astype(np.int64))
    if not probs:
        raise ValueError("evaluate_classifier: batches gave no batches")
    p, y = np.concatenate(probs), np.concatenate(labels)
    k = p.shape[-1]
    if y.size != len(p):
        raise ValueError(
            f"evaluate_classifier: {y.size} labels for {len(p)} predictions: "
            f"give one integer label per example"
        )
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(
            f"evaluate_classifier: label {int(y.max() if y.max() >= k else y.min())} "
            f"is outside the model's {k} classes 0..{k - 1}"
        )
    pred = np.argmax(p, axis=-1)
    confusion = confusion_matrix(y, pred, k)
    f1 = f1_per_class(confusion)
    present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    return {
        "accuracy": float(np.mean(pred == y)),
        "macro_f1": float(f1[present].mean()),
        "f1": f1,
        "confusion_matrix": confusion,
        "probabilities": p,
        "predictions": pred,
        "labels": y,
    }
