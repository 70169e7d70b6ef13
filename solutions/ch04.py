"""Chapter 04 — solutions to the checked exercises (`lmcourse check 04 --answers solutions/ch04.py`)."""

import numpy as np


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def simple_rnn(x: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray) -> np.ndarray:
    """04.1 The same W, U, b at every step; h carries the past from one step to the next."""
    h = np.zeros((x.shape[0], W.shape[1]), dtype=x.dtype)
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        states.append(h)
    return np.stack(states, axis=1)


def lstm_step(x_t, h_prev, c_prev, W, U, b):
    """04.2 One matrix product for all four gates, then cut it in Keras's order i, f, c, o."""
    a_i, a_f, a_c, a_o = np.split(x_t @ W + h_prev @ U + b, 4, axis=-1)
    c_t = _sigmoid(a_f) * c_prev + _sigmoid(a_i) * np.tanh(a_c)  # additive: the memory
    return _sigmoid(a_o) * np.tanh(c_t), c_t


def gru_step(x_t, h_prev, W, U, b):
    """04.3 z close to 1 keeps the old state; r scales the recurrent part of the candidate."""
    a_z, a_r, a_h = np.split(x_t @ W + b[0], 3, axis=-1)
    s_z, s_r, s_h = np.split(h_prev @ U + b[1], 3, axis=-1)
    z, r = _sigmoid(a_z + s_z), _sigmoid(a_r + s_r)
    cand = np.tanh(a_h + r * s_h)
    return z * h_prev + (1 - z) * cand


def sampling_distribution(z: np.ndarray, temperature: float, top_k=None) -> np.ndarray:
    """04.4 Scale, drop all but the k largest logits (-inf: probability 0), then softmax."""
    z = np.asarray(z, dtype=float) / temperature
    if top_k is not None:
        kth = np.sort(z, axis=-1)[..., -top_k][..., None]
        z = np.where(z >= kth, z, -np.inf)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
