"""Chapter 04's checked exercises: a simple RNN over time, one LSTM step, one GRU step, and the
distribution a sampler draws from.

The weights follow Keras's layouts (row vectors, ``x_t @ W``; the gates side by side in one
kernel), so every answer is compared with the package's loop (:mod:`lmcourse.models.rnn`), a
Keras cell with the same weights, or :func:`lmcourse.sampling.probabilities`. Each test draws
its own inputs with a fixed seed.
"""

from __future__ import annotations

import numpy as np

from lmcourse.exercises.checking import Exercise, Wrong, expect_close

F32 = "float32"


def _normal(rng, *shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(F32)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _simple_rnn(f) -> None:
    from lmcourse.models import rnn

    rng = np.random.default_rng(40)
    x, W, U = _normal(rng, 3, 7, 4), _normal(rng, 4, 5, scale=0.5), _normal(rng, 5, 5, scale=0.5)
    b = _normal(rng, 5, scale=0.1)
    got = np.asarray(f(x, W, U, b), dtype=float)
    want = np.asarray(rnn.simple_rnn_forward(x, W, U, b)[0])  # (B, T, H)
    what = "simple_rnn(x, W, U, b) for x of shape (3, 7, 4) and H = 5"
    if got.shape == want.shape and not np.allclose(got[:, 1:], want[:, 1:], atol=1e-5):
        if np.allclose(got[:, 0], want[:, 0], atol=1e-5):
            raise Wrong(
                f"{what}: the first step is right but the later ones are not; carry the state "
                "forward: step t uses the h computed at step t - 1"
            )
    expect_close(got, want, what)


def _gates_read_in(order: str, m: np.ndarray) -> np.ndarray:
    """``m``'s four gate blocks (last axis) rearranged so that Keras's layout (i, f, c, o)
    computes what a step that reads the blocks in ``order`` computes."""
    blocks = np.split(m, 4, axis=-1)
    return np.concatenate([blocks[order.index(gate)] for gate in "ifco"], axis=-1)


def _lstm_step(f) -> None:
    from lmcourse.models import rnn

    rng = np.random.default_rng(41)
    B, D, H = 3, 4, 5
    x_t, h, c = _normal(rng, B, D), _normal(rng, B, H), _normal(rng, B, H)
    W, U, b = _normal(rng, D, 4 * H), _normal(rng, H, 4 * H), _normal(rng, 4 * H)
    got = f(x_t, h, c, W, U, b)
    _, h_want, c_want = rnn.lstm_forward(x_t[:, None], W, U, b, h0=h, c0=c)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise Wrong("lstm_step must return a tuple (h_t, c_t)")
    h_got, c_got = (np.asarray(t, dtype=float) for t in got)
    for order in ("ifoc", "icfo", "fico"):
        weights = (_gates_read_in(order, m) for m in (W, U, b))
        _, h_alt, _ = rnn.lstm_forward(x_t[:, None], *weights, h0=h, c0=c)
        if h_got.shape == h_alt.shape and np.allclose(h_got, h_alt, atol=1e-5):
            raise Wrong(
                f"you read the gates in the order {', '.join(order)}; Keras's kernel columns are "
                "i, f, c, o (input, forget, candidate, output): W[:, 2H:3H] is the candidate"
            )
    what = "lstm_step(x_t, h_prev, c_prev, W, U, b) with B = 3, D = 4, H = 5"
    expect_close(c_got, c_want, f"the new cell c_t of {what}")
    expect_close(h_got, h_want, f"the new hidden state h_t of {what}")


def _gru_reference(x_t, h, W, U, b, swap_z=False, reset_after=True):
    H = h.shape[-1]
    xz, xr, xh = np.split(x_t @ W + b[0], 3, axis=-1)
    hz, hr, _ = np.split(h @ U + b[1], 3, axis=-1)
    z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
    if reset_after:
        cand = np.tanh(xh + r * (h @ U[:, 2 * H :] + b[1, 2 * H :]))
    else:
        cand = np.tanh(xh + (r * h) @ U[:, 2 * H :] + b[1, 2 * H :])
    return (1 - z) * h + z * cand if swap_z else z * h + (1 - z) * cand


def _gru_step(f) -> None:
    import keras
    from keras import ops

    rng = np.random.default_rng(42)
    B, D, H = 3, 4, 5
    x_t, h = _normal(rng, B, D), _normal(rng, B, H)
    W, U, b = _normal(rng, D, 3 * H), _normal(rng, H, 3 * H), _normal(rng, 2, 3 * H)
    got = np.asarray(f(x_t, h, W, U, b), dtype=float)
    cell = keras.layers.GRUCell(H)  # reset_after=True, Keras's default
    cell.build((None, D))
    cell.set_weights([W, U, b])
    want = ops.convert_to_numpy(cell(x_t, [h])[0])
    if got.shape == want.shape and not np.allclose(got, want, atol=1e-5):
        if np.allclose(got, _gru_reference(x_t, h, W, U, b, swap_z=True), atol=1e-5):
            raise Wrong(
                "z_t and 1 - z_t are swapped: in Keras (and Cho et al., 2014) the update gate keeps "
                "the old state, h_t = z_t * h_prev + (1 - z_t) * candidate"
            )
        if np.allclose(got, _gru_reference(x_t, h, W, U, b, reset_after=False), atol=1e-5):
            raise Wrong(
                "you reset h_prev before the matrix product (reset_after=False); Keras's default "
                "resets after it: candidate = tanh(x W_h + b_h + r * (h_prev U_h + b'_h))"
            )
    expect_close(got, want, "gru_step(x_t, h_prev, W, U, b) with B = 3, D = 4, H = 5")


def _sampling_distribution(f) -> None:
    from lmcourse import sampling

    z = np.random.default_rng(43).normal(scale=2.0, size=(4, 10))
    for temperature, top_k in ((1.0, None), (0.5, None), (2.0, None), (0.7, 3), (1.0, 1)):
        got = np.asarray(f(z, temperature, top_k), dtype=float)
        want = sampling.probabilities(z, temperature=temperature, top_k=top_k)
        what = f"sampling_distribution(z, temperature={temperature}, top_k={top_k})"
        if got.shape == want.shape and not np.allclose(got.sum(-1), 1.0, atol=1e-6):
            raise Wrong(f"the rows of {what} sum to {got.sum(-1).round(4)}, not 1: renormalize")
        times = sampling.probabilities(z * temperature**2, temperature, top_k)  # softmax(z * t)
        if temperature != 1 and got.shape == want.shape and np.allclose(got, times):
            raise Wrong(f"{what}: divide the logits by the temperature, do not multiply")
        expect_close(got, want, what)


EXERCISES = (
    Exercise("04.1", "A simple RNN, looped over time", "simple_rnn", _simple_rnn),
    Exercise("04.2", "One LSTM step in Keras's layout", "lstm_step", _lstm_step),
    Exercise("04.3", "One GRU step in Keras's convention", "gru_step", _gru_step),
    Exercise("04.4", "What a sampler draws from", "sampling_distribution", _sampling_distribution),
)
