"""Chapter 00's checked exercises: shapes, broadcasting, a stable softmax.

Each test draws its own inputs, calls the learner's function and compares it with NumPy.
"""

from __future__ import annotations

import numpy as np

from lmcourse.exercises.checking import Exercise, Wrong, expect_close, expect_equal


def _matmul_shape(f) -> None:
    cases = [((8, 5, 3), (3, 7)), ((4, 2), (2, 6)), ((2, 3, 4, 5), (5, 1))]
    for a, b in cases:
        want = np.matmul(np.ones(a), np.ones(b)).shape
        expect_equal(tuple(f(a, b)), want, f"matmul_shape({a}, {b})")
    try:
        f((4, 3), (4, 3))
    except ValueError:
        return
    raise Wrong("matmul_shape((4, 3), (4, 3)) should raise ValueError: 3 != 4")


def _dense(f) -> None:
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 5, 4)), rng.normal(size=(4, 3)), rng.normal(size=(3,))
    expect_close(f(x, w, b), x @ w + b, "dense(x, w, b) for x of shape (2, 5, 4)")


def _stable_softmax(f) -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3, 6)) * 5
    want = np.exp(z - z.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    expect_close(f(z), want, "stable_softmax(z) for z of shape (3, 6)")
    big = np.array([[1000.0, 0.0], [-1000.0, -1000.0]])
    expect_close(f(big), [[1.0, 0.0], [0.5, 0.5]], "stable_softmax([[1000, 0], [-1000, -1000]])")


EXERCISES = (
    Exercise("00.1", "The shape of a batched matmul", "matmul_shape", _matmul_shape),
    Exercise("00.2", "A dense layer with broadcasting", "dense", _dense),
    Exercise("00.3", "A softmax that does not overflow", "stable_softmax", _stable_softmax),
)
