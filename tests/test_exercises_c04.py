"""Chapter 04's checks can fail: a typical mistake in each exercise is reported as wrong, with a
message that names the mistake."""

import functools

import numpy as np
import pytest

from lmcourse import exercises

SOLUTIONS = exercises.answers_file("04", "solutions")


# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "04")


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def rnn_without_memory(x, W, U, b):  # every step starts again from h = 0
    return np.tanh(x @ W + b)


def lstm_pytorch_order_mistaken(x_t, h, c, W, U, b):  # reads the blocks as i, f, o, c
    a_i, a_f, a_o, a_c = np.split(x_t @ W + h @ U + b, 4, axis=-1)
    c_t = sigmoid(a_f) * c + sigmoid(a_i) * np.tanh(a_c)
    return sigmoid(a_o) * np.tanh(c_t), c_t


def gru_gate_swapped(x_t, h, W, U, b):  # h_t = (1 - z) h_prev + z cand
    a_z, a_r, a_h = np.split(x_t @ W + b[0], 3, axis=-1)
    s_z, s_r, s_h = np.split(h @ U + b[1], 3, axis=-1)
    z, r = sigmoid(a_z + s_z), sigmoid(a_r + s_r)
    return (1 - z) * h + z * np.tanh(a_h + r * s_h)


def gru_reset_before(x_t, h, W, U, b):  # the paper's reset: U_h (r * h_prev)
    H = h.shape[-1]
    a_z, a_r, a_h = np.split(x_t @ W + b[0], 3, axis=-1)
    s_z, s_r, _ = np.split(h @ U + b[1], 3, axis=-1)
    z, r = sigmoid(a_z + s_z), sigmoid(a_r + s_r)
    cand = np.tanh(a_h + (r * h) @ U[:, 2 * H :] + b[1, 2 * H :])
    return z * h + (1 - z) * cand


def top_k_not_renormalized(z, temperature, top_k=None):
    e = np.exp(z / temperature - (z / temperature).max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    if top_k is not None:
        p = np.where(p >= np.sort(p, -1)[..., -top_k][..., None], p, 0.0)
    return p


def temperature_multiplied(z, temperature, top_k=None):
    e = np.exp(z * temperature - (z * temperature).max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize(
    ("number", "answer", "says"),
    [
        ("04.1", rnn_without_memory, "carry the state forward"),
        ("04.2", lstm_pytorch_order_mistaken, "i, f, c, o"),
        ("04.3", gru_gate_swapped, "update gate keeps the old state"),
        ("04.3", gru_reset_before, "reset_after=False"),
        ("04.4", top_k_not_renormalized, "renormalize"),
        ("04.4", temperature_multiplied, "divide the logits by the temperature"),
    ],
)
def test_a_typical_mistake_is_wrong_with_a_hint(number, answer, says):
    result = outcome(number, answer)
    assert result.status == exercises.WRONG
    assert says in result.message, result.message


def test_a_wrong_shape_is_named():
    result = outcome("04.1", lambda x, W, U, b: np.zeros((3, 5)))
    assert result.status == exercises.WRONG
    assert "shape (3, 5)" in result.message and "(3, 7, 5)" in result.message


def test_the_gru_solution_is_keras_gru_over_a_sequence():
    import keras
    from keras import ops

    gru_step = exercises.checking.answers_from(SOLUTIONS)["gru_step"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    layer = keras.layers.GRU(4, return_sequences=True)
    want = ops.convert_to_numpy(layer(x))
    W, U, b = layer.get_weights()
    h = np.zeros((2, 4), "float32")
    for t in range(6):
        h = gru_step(x[:, t], h, W, U, b)
        np.testing.assert_allclose(h, want[:, t], atol=1e-5)
