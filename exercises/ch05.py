"""Chapter 05 — checked exercises. Write each function, then run `lmcourse check 05`.

The same stubs are at the end of chapters/05_attention.ipynb, where `check("05", globals())`
checks what you wrote in the notebook instead. Solutions: solutions/ch05.py (try first).
"""

import numpy as np


def causal_bias_matrix(T: int) -> np.ndarray:
    """05.1 The causal mask as an additive bias, shape ``(T, T)``: ``B[i, j] = 0`` where query
    ``i`` may see key ``j`` (``j <= i``, itself included) and ``-inf`` (or a large negative
    number such as ``-1e9``) where ``j > i``, the future."""
    raise NotImplementedError


def biased_attention(q, k, v, bias=None):
    """05.2 ``softmax((q k^T + bias) / sqrt(d_k)) v`` in NumPy, the bias added *before* the
    scaling as in this chapter: ``q`` ``(..., Tq, d_k)``, ``k`` ``(..., Tk, d_k)``, ``v``
    ``(..., Tk, d_v)`` with the same leading axes (batch, or batch and heads); ``bias``
    broadcasts to the logits ``(..., Tq, Tk)``. Return ``(outputs (..., Tq, d_v), weights
    (..., Tq, Tk))``. The softmax must not overflow for logits in the thousands."""
    raise NotImplementedError


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """05.3 ``(B, T, H * d) -> (B, H, T, d)``: cut every vector into ``H = num_heads`` pieces
    of size ``d``, head ``h`` getting entries ``h * d`` to ``(h + 1) * d``. Raise ``ValueError``
    when ``num_heads`` does not divide the vector size."""
    raise NotImplementedError


def merge_heads(x: np.ndarray) -> np.ndarray:
    """05.4 ``(B, H, T, d) -> (B, T, H * d)``: concatenate the heads of every position again,
    so that ``merge_heads(split_heads(y, H))`` is ``y``."""
    raise NotImplementedError
