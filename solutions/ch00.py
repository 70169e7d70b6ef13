"""Chapter 00 — solutions to the checked exercises (`lmcourse check 00 --answers solutions/ch00.py`)."""

import numpy as np


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """00.1 Batch axes of ``a`` stay; the inner sizes must match and disappear."""
    if a[-1] != b[0]:
        raise ValueError(f"inner sizes differ: {a[-1]} != {b[0]}")
    return (*a[:-1], b[-1])


def dense(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """00.2 ``@`` multiplies the last axis of ``x`` with ``w``; ``b`` broadcasts over the rest."""
    return x @ w + b


def stable_softmax(z: np.ndarray) -> np.ndarray:
    """00.3 Subtract each row's maximum first: the largest exponent is then ``e^0 = 1``."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
