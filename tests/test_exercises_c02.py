"""Chapter 02's checks catch the usual mistakes, and say what is wrong."""

import functools

import numpy as np

from lmcourse import exercises

# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "02")


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_cross_entropy_gradient_summed_instead_of_averaged():
    def summed(z, y):  # forgets the 1/B of the mean
        return softmax(z) - np.eye(z.shape[1])[y]

    result = outcome("02.1", summed)
    assert result.status == exercises.WRONG
    assert "divide by B" in result.message


def test_cross_entropy_gradient_without_the_max_shift():
    def naive(z, y):
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True) - np.eye(z.shape[1])[y]) / len(y)

    with np.errstate(all="ignore"):
        result = outcome("02.1", naive)
    assert result.status == exercises.WRONG
    assert "max" in result.message


def test_adam_without_bias_correction():
    def uncorrected(theta, g, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g**2
        return theta - lr * m / (np.sqrt(s) + eps), m, s

    result = outcome("02.2", uncorrected)
    assert result.status == exercises.WRONG
    assert "bias correction" in result.message


def test_tanh_backward_with_the_derivative_at_the_wrong_place():
    def pre_activation(x, W, b, dh):  # 1 - a^2 with the pre-activation a instead of 1 - h^2
        a = x @ W + b
        da = dh * (1 - a**2)
        return da @ W.T, x.T @ da, da.sum(axis=0)

    result = outcome("02.3", pre_activation)
    assert result.status == exercises.WRONG
    assert "finite differences" in result.message


def test_embedding_backward_with_fancy_index_assignment():
    def lossy(ids, dx, V):
        dC = np.zeros((V, dx.shape[-1]))
        dC[ids] += dx
        return dC

    result = outcome("02.4", lossy)
    assert result.status == exercises.WRONG
    assert "np.add.at" in result.message
