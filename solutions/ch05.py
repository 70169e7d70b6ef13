"""Chapter 05 — solutions to the checked exercises (`lmcourse check 05 --answers solutions/ch05.py`)."""

import numpy as np


def causal_bias_matrix(T: int) -> np.ndarray:
    """05.1 ``triu(..., k=1)`` is the strict upper triangle: the keys after the query."""
    return np.triu(np.full((T, T), -np.inf), k=1)


def biased_attention(q, k, v, bias=None):
    """05.2 Subtracting each row's maximum leaves the softmax unchanged and keeps exp <= 1."""
    logits = q @ np.swapaxes(k, -1, -2)  # (..., Tq, Tk)
    if bias is not None:
        logits = logits + bias
    logits = logits / np.sqrt(q.shape[-1])
    w = np.exp(logits - logits.max(axis=-1, keepdims=True))
    w = w / w.sum(axis=-1, keepdims=True)
    return w @ v, w


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """05.3 Cut the last axis (reshape), then bring the heads axis before time (transpose)."""
    B, T, D = x.shape
    if D % num_heads:
        raise ValueError(f"{num_heads} heads do not divide vectors of size {D}")
    return x.reshape(B, T, num_heads, D // num_heads).transpose(0, 2, 1, 3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """05.4 The inverse of split_heads: time back before heads, then join the last two axes."""
    B, H, T, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * d)
