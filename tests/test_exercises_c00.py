"""Chapter 00's checks can fail: a typical wrong answer to each is reported as wrong, with a
message that says what is wrong."""

import functools

import numpy as np

from lmcourse import exercises

# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "00")


def test_matmul_shape_that_keeps_the_inner_size_is_wrong():
    o = outcome("matmul_shape", lambda a, b: (*a, b[-1]))  # keeps the contracted axis
    assert o.status == exercises.WRONG
    assert "expected (8, 5, 7)" in o.message


def test_matmul_shape_that_never_raises_is_wrong():
    o = outcome("matmul_shape", lambda a, b: (*a[:-1], b[-1]))  # no check of the inner sizes
    assert o.status == exercises.WRONG
    assert "should raise ValueError" in o.message


def test_dense_without_the_bias_is_wrong():
    o = outcome("dense", lambda x, w, b: x @ w)
    assert o.status == exercises.WRONG
    assert "dense(x, w, b)" in o.message and "differs most at index" in o.message


def test_softmax_without_the_max_subtraction_overflows_and_is_wrong():
    def naive(z):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(z)
            return e / e.sum(axis=-1, keepdims=True)

    o = outcome("stable_softmax", naive)
    assert o.status == exercises.WRONG
    assert "[[1000, 0], [-1000, -1000]]" in o.message


def test_softmax_over_the_wrong_axis_is_wrong():
    o = outcome("stable_softmax", lambda z: np.exp(z - z.max(0)) / np.exp(z - z.max(0)).sum(0))
    assert o.status == exercises.WRONG
    assert "stable_softmax(z)" in o.message
