"""Chapter 04 — checked exercises. Write each function, then run `lmcourse check 04`.

The same stubs are at the end of chapters/04_rnn_lstm.ipynb, where `check("04", globals())`
checks what you wrote in the notebook instead. Solutions: solutions/ch04.py (try first).
Weights use Keras's layout: row vectors, multiplied from the left (`x_t @ W`).
"""

import numpy as np


def simple_rnn(x: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray) -> np.ndarray:
    """04.1 The simple RNN over a whole sequence, ``h_t = tanh(x_t W + h_{t-1} U + b)`` with
    ``h_0 = 0``: ``x`` of shape ``(B, T, D)``, ``W`` ``(D, H)``, ``U`` ``(H, H)``, ``b`` ``(H,)``.
    Return every state, shape ``(B, T, H)`` (what ``SimpleRNN(H, return_sequences=True)``
    returns). A loop over time is fine."""
    raise NotImplementedError


def lstm_step(x_t, h_prev, c_prev, W, U, b):
    """04.2 One LSTM step in ``keras.layers.LSTM``'s layout: ``x_t`` ``(B, D)``, ``h_prev`` and
    ``c_prev`` ``(B, H)``, ``W`` ``(D, 4H)``, ``U`` ``(H, 4H)``, ``b`` ``(4H,)``, the four
    blocks of columns in the order i, f, c, o. With ``a = x_t W + h_prev U + b`` cut into
    ``a_i, a_f, a_c, a_o``: ``i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)``,
    ``c_t = f * c_prev + i * tanh(a_c)``, ``h_t = o * tanh(c_t)``. Return ``(h_t, c_t)``."""
    raise NotImplementedError


def gru_step(x_t, h_prev, W, U, b):
    """04.3 One GRU step in ``keras.layers.GRU``'s convention (``reset_after=True``): ``x_t``
    ``(B, D)``, ``h_prev`` ``(B, H)``, ``W`` ``(D, 3H)`` and ``U`` ``(H, 3H)`` with the blocks
    z, r, h, and ``b`` ``(2, 3H)``: ``b[0]`` for the input, ``b[1]`` for the recurrent part.
    With ``a = x_t W + b[0]`` and ``s = h_prev U + b[1]``, each cut into z, r, h blocks:
    ``z = sigmoid(a_z + s_z)``, ``r = sigmoid(a_r + s_r)``, ``cand = tanh(a_h + r * s_h)``,
    ``h_t = z * h_prev + (1 - z) * cand``. Return ``h_t``, shape ``(B, H)``."""
    raise NotImplementedError


def sampling_distribution(z: np.ndarray, temperature: float, top_k=None) -> np.ndarray:
    """04.4 The distribution a sampler draws the next token from: ``softmax(z / temperature)``
    over the last axis of the logits ``z`` ``(B, V)``; with ``top_k = k``, only the ``k`` most
    likely tokens keep their probability (the others get exactly 0) and the rows are
    renormalized to sum to 1. ``top_k=None`` keeps every token."""
    raise NotImplementedError
