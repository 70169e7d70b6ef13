"""Chapter 02's checked exercises: the gradient of cross-entropy, one Adam step, and the
backward pass of a tanh layer and of an embedding lookup.

Each test draws its own inputs (fixed seeds, float64), calls the learner's function and compares
it with NumPy: the closed-form formulas of the chapter, or central finite differences.

Example:
    >>> from lmcourse.exercises.checking import run_exercises
    >>> print(run_exercises("02", EXERCISES[:1], {"ce_grad": _reference_ce_grad}))
    Chapter 02: 1 of 1 exercises pass.
      [pass]    02.1 The gradient of the mean cross-entropy
"""

from __future__ import annotations

import numpy as np

from lmcourse.exercises.checking import Exercise, Wrong, expect_close, expect_equal


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _reference_ce_grad(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(softmax(logits) - onehot(labels)) / B: logits (B, V), labels (B,) -> (B, V)."""
    grad = _softmax(logits)
    grad[np.arange(len(labels)), labels] -= 1
    return grad / len(labels)


def _ce_grad(f) -> None:
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(6, 5)) * 3, rng.integers(0, 5, size=6)
    want = _reference_ce_grad(z, y)
    got = np.asarray(f(z.copy(), y.copy()), dtype=float)
    if got.shape == want.shape and np.allclose(got, want * len(y)):
        raise Wrong("ce_grad is B times too large: the loss is a mean over B rows, divide by B")
    expect_close(got, want, "ce_grad(z, y) for z of shape (6, 5)")
    big = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]])
    got = np.asarray(f(big.copy(), np.array([0, 2])), dtype=float)
    if not np.all(np.isfinite(got)):
        raise Wrong("ce_grad gave nan or inf for logits near 1000: subtract each row's max first")
    expect_close(got, _reference_ce_grad(big, np.array([0, 2])), "ce_grad for logits near 1000")


def _reference_adam(theta, g, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    s = beta2 * s + (1 - beta2) * g**2
    step = (m / (1 - beta1**t)) / (np.sqrt(s / (1 - beta2**t)) + eps)
    return theta - lr * step, m, s


def _adam_step(f) -> None:
    rng = np.random.default_rng(3)
    theta, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) * 0.01
    zeros = np.zeros_like(theta)
    got = f(theta.copy(), g.copy(), zeros.copy(), zeros.copy(), 1, 0.1)
    expect_equal(len(got), 3, "the number of arrays adam_step returns (theta, m, s)")
    expect_close(
        got[0], _reference_adam(theta, g, zeros, zeros, 1, 0.1)[0],
        "theta after the first step from m = s = 0 (each entry should move by about lr = 0.1, "
        "however small its gradient: that is the bias correction)",
    )  # fmt: skip
    m, s = rng.normal(size=(4, 3)) * 0.01, rng.uniform(size=(4, 3)) * 1e-4
    want = _reference_adam(theta, g, m, s, 5, 0.01, 0.8, 0.99, 1e-6)
    got = f(theta.copy(), g.copy(), m.copy(), s.copy(), 5, 0.01, 0.8, 0.99, 1e-6)
    for name, value, expected in zip(("theta", "m", "s"), got, want, strict=True):
        expect_close(value, expected, f"{name} after step t = 5 (beta1 0.8, beta2 0.99, eps 1e-6)")


def _finite_difference(loss, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``loss()`` with respect to every entry of ``x``."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + h
        up = loss()
        x[i] = keep - h
        grad[i] = (up - loss()) / (2 * h)
        x[i] = keep
    return grad


def _tanh_layer_backward(f) -> None:
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)) * 0.7, rng.normal(size=(5,))
    dh = rng.normal(size=(4, 5))

    def loss():  # L = sum(dh * h): its gradient with respect to h is dh
        return float(np.sum(dh * np.tanh(x @ w + b)))

    got = f(x.copy(), w.copy(), b.copy(), dh.copy())
    expect_equal(len(got), 3, "the number of arrays tanh_layer_backward returns (dx, dW, db)")
    for name, value, param in zip(("dx", "dW", "db"), got, (x, w, b), strict=True):
        expect_close(
            value, _finite_difference(loss, param), f"{name} (against finite differences)",
            atol=1e-6, rtol=1e-5,
        )  # fmt: skip


def _embedding_backward(f) -> None:
    rng = np.random.default_rng(5)
    vocab, ids = 6, np.array([[0, 2, 2], [5, 0, 2], [1, 1, 1], [2, 3, 0]])
    dx = rng.normal(size=(4, 3, 2))
    want = np.zeros((vocab, 2))
    for (b, i), v in np.ndenumerate(ids):  # every position adds its gradient to its row
        want[v] += dx[b, i]
    got = np.asarray(f(ids.copy(), dx.copy(), vocab), dtype=float)
    lost = np.zeros((vocab, 2))
    lost[ids] += dx  # fancy-index += keeps only one update per repeated id
    if got.shape == want.shape and np.allclose(got, lost) and not np.allclose(got, want):
        raise Wrong(
            "repeated ids must add up: `dC[ids] += dx` keeps only one update per repeated id; "
            "use np.add.at(dC, ids, dx)"
        )
    expect_close(got, want, "embedding_backward(ids, dx, 6) with repeated ids")


EXERCISES = (
    Exercise("02.1", "The gradient of the mean cross-entropy", "ce_grad", _ce_grad),
    Exercise("02.2", "One Adam step", "adam_step", _adam_step),
    Exercise(
        "02.3", "The backward pass of a tanh layer", "tanh_layer_backward", _tanh_layer_backward
    ),
    Exercise(
        "02.4", "Gradients into an embedding table", "embedding_backward", _embedding_backward
    ),
)
