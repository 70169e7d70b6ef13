"""Chapter 02 — solutions to the checked exercises (`lmcourse check 02 --answers solutions/ch02.py`)."""

import numpy as np


def ce_grad(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """02.1 Predicted minus observed, averaged: the max-shift keeps every exp in (0, 1]."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    return p / len(labels)


def adam_step(theta, g, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """02.2 The bias corrections undo the pull towards the zeros the moments started from."""
    m = beta1 * m + (1 - beta1) * g
    s = beta2 * s + (1 - beta2) * g**2
    m_hat, s_hat = m / (1 - beta1**t), s / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(s_hat) + eps), m, s


def tanh_layer_backward(x, W, b, dh):
    """02.3 Through tanh elementwise (1 - h^2), then the dense layer: each gradient takes the
    shape of its variable; the bias was added to every row, so its gradient sums the rows."""
    h = np.tanh(x @ W + b)
    da = dh * (1 - h**2)
    return da @ W.T, x.T @ da, da.sum(axis=0)


def embedding_backward(ids, dx, V):
    """02.4 A scatter-add: np.add.at adds every repeat, where dC[ids] += dx would keep one."""
    dC = np.zeros((V, dx.shape[-1]))
    np.add.at(dC, ids, dx)
    return dC
