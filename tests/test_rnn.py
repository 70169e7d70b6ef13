"""The from-scratch RNN/LSTM match Keras's layers; the char-LSTM builds, steps and saves."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from lmcourse import generate as gen
from lmcourse.models import rnn


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(3, 9, 5)).astype("float32")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_simple_rnn_matches_keras_simple_rnn(x, activation):
    layer = keras.layers.SimpleRNN(
        6, activation=activation, return_sequences=True, return_state=True
    )
    h0 = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    keras_out, keras_h = layer(x, initial_state=h0)
    out, h = rnn.simple_rnn_forward(x, *layer.get_weights(), h0=h0, activation=activation)
    assert out.shape == (3, 9, 6) and h.shape == (3, 6)
    np.testing.assert_allclose(np.asarray(out), np.asarray(keras_out), atol=1e-5)
    np.testing.assert_allclose(np.asarray(h), np.asarray(keras_h), atol=1e-5)
    np.testing.assert_allclose(np.asarray(out)[:, -1], np.asarray(h), atol=0)


def test_simple_rnn_is_the_recurrence_written_out(x):
    """h_t = tanh(x_t W + h_{t-1} U + b), checked by hand in NumPy for two steps."""
    rng = np.random.default_rng(2)
    W, U, b = rng.normal(size=(5, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)
    out, _ = rnn.simple_rnn_forward(x, W, U, b)
    h1 = np.tanh(x[:, 0] @ W + b)
    h2 = np.tanh(x[:, 1] @ W + h1 @ U + b)
    np.testing.assert_allclose(np.asarray(out)[:, 1], h2, atol=1e-5)


def test_lstm_matches_keras_lstm(x):
    layer = keras.layers.LSTM(7, return_sequences=True, return_state=True)
    rng = np.random.default_rng(3)
    h0, c0 = (rng.normal(size=(3, 7)).astype("float32") for _ in range(2))
    keras_out, keras_h, keras_c = layer(x, initial_state=[h0, c0])
    out, h, c = rnn.lstm_forward(x, *layer.get_weights(), h0=h0, c0=c0)
    for mine, ref in ((out, keras_out), (h, keras_h), (c, keras_c)):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(ref), atol=1e-5)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda a: {**a, "x": a["x"][0]},
            r"x must have shape \(batch, time, features\), got shape \(9, 5\)",
        ),
        (lambda a: {**a, "W": a["W"][:4]}, r"W must have shape \(5, units\) .* got \(4, 6\)"),
        (lambda a: {**a, "U": a["U"][:, :5]}, r"U must have shape \(6, 6\) .* got \(6, 5\)"),
        (lambda a: {**a, "b": a["b"][:2]}, r"b must have shape \(6,\) .* got \(2,\)"),
        (
            lambda a: {**a, "h0": np.zeros((3, 5), "float32")},
            r"initial state must have shape \(batch, 6\), got \(3, 5\)",
        ),
        (lambda a: {**a, "activation": "softmax"}, r"activation='softmax' is unknown"),
    ],
)
def test_simple_rnn_rejects_wrong_shapes_naming_them(x, change, message):
    rng = np.random.default_rng(0)
    args = {
        "x": x,
        "W": rng.normal(size=(5, 6)),
        "U": rng.normal(size=(6, 6)),
        "b": np.zeros(6),
        "h0": None,
        "activation": "tanh",
    }
    with pytest.raises(ValueError, match=message):
        rnn.simple_rnn_forward(**change(args))


def test_lstm_rejects_weights_that_are_not_four_gates(x):
    with pytest.raises(ValueError, match=r"W must have shape \(5, 4 \* units\)"):
        rnn.lstm_forward(x, np.zeros((5, 6)), np.zeros((6, 6)), np.zeros(6))


def test_scratch_layer_takes_simple_rnn_weights_and_round_trips(x, tmp_path):
    ref = keras.layers.SimpleRNN(4, return_sequences=True)
    mine = rnn.ScratchSimpleRNN(4, return_sequences=True)
    ref(x), mine(x)
    mine.set_weights(ref.get_weights())
    np.testing.assert_allclose(np.asarray(mine(x)), np.asarray(ref(x)), atol=1e-5)
    inputs = keras.Input(shape=(9, 5))
    model = keras.Model(inputs, rnn.ScratchSimpleRNN(4, name="scratch")(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.get_layer("scratch").get_config()["units"] == 4
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    with pytest.raises(ValueError, match="units must be an int >= 1"):
        rnn.ScratchSimpleRNN(0)


def test_char_lstm_architecture_and_output():
    model = rnn.build_char_lstm(vocab_size=30, embed_dim=8, units=16)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Embedding", "LSTM", "Dropout", "LSTM", "Dense"]
    assert all(
        layer.rate == 0.2 for layer in model.layers if isinstance(layer, keras.layers.Dropout)
    )
    logits = model(np.zeros((2, 11), "int32"))
    assert tuple(logits.shape) == (2, 11, 30)  # logits: no softmax inside the model
    assert rnn.vocab_size_of(model) == 30
    assert [
        type(layer).__name__
        for layer in rnn.build_char_lstm(5, 2, 3, num_layers=1, dropout=0).layers
    ] == ["InputLayer", "Embedding", "LSTM", "Dense"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocab_size": 0}, "vocab_size must be an int >= 1"),
        ({"units": 2.5}, "units must be an int"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_char_lstm_rejects_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rnn.build_char_lstm(**{"vocab_size": 10, **kwargs})


def test_recurrent_stepper_matches_the_full_forward_pass():
    model = rnn.build_char_lstm(vocab_size=13, embed_dim=4, units=8)
    seq = np.random.default_rng(0).integers(0, 13, size=(2, 12)).astype("int32")
    full = np.asarray(model(seq))
    step = gen.recurrent_next_logits(model)
    stepped = np.stack([step(seq[:, :t]) for t in range(1, 13)], axis=1)
    np.testing.assert_allclose(stepped, full, atol=1e-5)
    # a different prompt starts over instead of continuing the old state
    np.testing.assert_allclose(step(seq[:1, :3]), full[:1, 2], atol=1e-5)


def test_stepper_refuses_a_model_it_cannot_step():
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(5, 3)(inputs)
    x = keras.layers.LayerNormalization()(x)
    with pytest.raises(ValueError, match="cannot step layer"):
        gen.recurrent_next_logits(keras.Model(inputs, keras.layers.Dense(5)(x)))


JAX_SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from lmcourse.models import rnn
    from lmcourse.generate import generate, recurrent_next_logits
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    layer = keras.layers.SimpleRNN(4, return_sequences=True)
    ref = np.asarray(layer(x))
    mine, _ = rnn.simple_rnn_forward(x, *layer.get_weights())
    assert np.abs(np.asarray(mine) - ref).max() < 1e-5
    model = rnn.build_char_lstm(vocab_size=11, embed_dim=4, units=8)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = np.random.default_rng(0).integers(0, 11, size=(4, 7)).astype("int32")
    before = [np.array(w) for w in model.get_weights()]
    loss = model.train_on_batch(ids[:, :-1], ids[:, 1:])
    assert np.isfinite(loss), loss
    assert any(np.abs(a - np.array(b)).max() > 0 for a, b in zip(before, model.get_weights()))
    out = generate(model, [1, 2], 4, strategy="greedy", next_logits=recurrent_next_logits(model))
    assert out.shape == (6,)
    print("ok", float(loss))
    """
)


@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install jax)"
)
def test_char_lstm_trains_one_step_under_the_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok")
