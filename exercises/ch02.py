"""Chapter 02 — checked exercises. Write each function, then run `lmcourse check 02`.

The same stubs are at the end of chapters/02_learning_math.ipynb, where `check("02", globals())`
checks what you wrote in the notebook instead. Solutions: solutions/ch02.py (try first).
All functions take and return NumPy arrays (float64).
"""

import numpy as np


def ce_grad(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """02.1 The gradient of the mean cross-entropy
    ``L = -(1/B) sum_b log softmax(logits[b])[labels[b]]`` with respect to ``logits``, of shape
    ``(B, V)``; ``labels`` are ``B`` integers in ``[0, V)``. Returns ``(B, V)``:
    ``(softmax(logits) - onehot(labels)) / B``. It must work for logits near 1000 too."""
    raise NotImplementedError


def adam_step(theta, g, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """02.2 One Adam step. ``theta`` (parameters), ``g`` (their gradient), ``m`` and ``s``
    (the moments after step ``t - 1``; zeros before the first step) have one shape; ``t >= 1``
    is the number of this step. Return ``(theta, m, s)`` after it::

        m <- beta1 m + (1 - beta1) g          s <- beta2 s + (1 - beta2) g**2
        theta <- theta - lr * (m / (1 - beta1**t)) / (sqrt(s / (1 - beta2**t)) + eps)
    """
    raise NotImplementedError


def tanh_layer_backward(x, W, b, dh):
    """02.3 The backward pass of ``h = tanh(x @ W + b)``: ``x`` ``(B, d_in)``, ``W``
    ``(d_in, d_out)``, ``b`` ``(d_out,)``, and ``dh = dL/dh`` ``(B, d_out)``. Return
    ``(dx, dW, db)``, the gradients of ``L`` with respect to ``x``, ``W`` and ``b`` (their
    shapes). Hint: ``tanh'(a) = 1 - tanh(a)**2``."""
    raise NotImplementedError


def embedding_backward(ids, dx, V):
    """02.4 The lookup ``x = C[ids]`` takes row ``ids[b, i]`` of ``C`` ``(V, m)`` for each
    position; ``ids`` is ``(B, n)`` integers in ``[0, V)``, ``dx = dL/dx`` is ``(B, n, m)``.
    Return ``dC`` ``(V, m)``: row ``v`` is the sum of ``dx[b, i]`` over every position with
    ``ids[b, i] == v``. Ids repeat."""
    raise NotImplementedError
