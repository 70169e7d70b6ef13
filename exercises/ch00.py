"""Chapter 00 — checked exercises. Write each function, then run `lmcourse check 00`.

The same stubs are at the end of chapters/00_setup.ipynb, where `check("00", globals())`
checks what you wrote in the notebook instead. Solutions: solutions/ch00.py (try first).
"""

import numpy as np


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """00.1 The shape of ``matmul`` of arrays shaped ``a`` and ``b`` (``b`` is a matrix,
    ``(k, n)``): e.g. ``(8, 5, 3), (3, 7) -> (8, 5, 7)``. Raise ``ValueError`` when the inner
    sizes differ. Work it out from the shapes alone: no arrays."""
    raise NotImplementedError


def dense(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """00.2 A dense layer ``y = x W + b``: ``x`` of shape ``(..., d_in)``, ``w`` of shape
    ``(d_in, d_out)``, ``b`` of shape ``(d_out,)``; returns ``(..., d_out)``. No loops."""
    raise NotImplementedError


def stable_softmax(z: np.ndarray) -> np.ndarray:
    """00.3 The softmax over the last axis of ``z`` that works for ``z = [1000, 0]`` too
    (hint: ``softmax(z) = softmax(z - c)`` for any constant ``c``)."""
    raise NotImplementedError
