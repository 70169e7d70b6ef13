"""Recurrent language models: a simple RNN and an LSTM written out, and the course's char-LSTM.

A recurrent network reads a sequence one step at a time and carries a hidden state
:math:`h_t` from step to step. The simple ("Elman") RNN of chapter 04:

.. math::  h_t = f(x_t W + h_{t-1} U + b), \\qquad o_t = g(h_t V + c)

with :math:`f = \\tanh` and, for a language model, :math:`g = \\mathrm{softmax}` over the
vocabulary. (Keras multiplies row vectors from the left, ``x_t @ W``; textbooks often write
the same thing as :math:`W x_t` with column vectors and transposed matrices.)

The LSTM adds a cell state :math:`c_t` and three gates (input, forget, output):

.. math::
    i_t &= \\sigma(x_t W_i + h_{t-1} U_i + b_i) \\quad
    f_t = \\sigma(x_t W_f + h_{t-1} U_f + b_f) \\quad
    o_t = \\sigma(x_t W_o + h_{t-1} U_o + b_o) \\\\
    \\tilde c_t &= \\tanh(x_t W_c + h_{t-1} U_c + b_c) \\qquad
    c_t = f_t \\odot c_{t-1} + i_t \\odot \\tilde c_t \\qquad
    h_t = o_t \\odot \\tanh(c_t)

:func:`simple_rnn_forward` and :func:`lstm_forward` compute exactly these, with a Python loop
over time in ``keras.ops``, using the weight layout of ``keras.layers.SimpleRNN`` and
``keras.layers.LSTM`` (gate order i, f, c, o), so the course can check them against the
library layers number for number. :func:`build_char_lstm` is the model chapter 04 trains.
Generation from it, carrying the states from token to token, is
:func:`lmcourse.generate.recurrent_next_logits`.

Everything here uses ``keras.layers`` / ``keras.ops`` only and runs on every Keras backend.

Example:
    >>> import numpy as np
    >>> x = np.ones((2, 5, 3), "float32")                      # (batch, time, features)
    >>> W, U, b = np.full((3, 4), 0.1, "float32"), np.eye(4, dtype="float32"), np.zeros(4, "float32")
    >>> outputs, h_last = simple_rnn_forward(x, W, U, b)
    >>> tuple(outputs.shape), tuple(h_last.shape)
    ((2, 5, 4), (2, 4))
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lmcourse._checks import check_int, check_rate

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


def _activation(activation: Any):
    if callable(activation):
        return activation
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation={activation!r} is unknown: choose one of {ACTIVATIONS} or pass a function"
        )
    return keras.activations.get(activation)


def _shape(t: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in ops.shape(t))


def _check_rnn_shapes(x, W, U, b, h0, gates: int, name: str) -> tuple[int, int, int, int]:
    """Check the shapes of a recurrent layer's inputs; return (B, T, D, H)."""
    xs, ws, us, bs = _shape(x), _shape(W), _shape(U), _shape(b)
    if len(xs) != 3:
        raise ValueError(
            f"{name}: x must have shape (batch, time, features), got shape {xs}; "
            "add a batch axis with x[None] for one sequence"
        )
    B, T, D = xs
    if len(ws) != 2 or ws[0] != D or ws[1] % gates:
        want = f"({D}, {gates} * units)" if gates > 1 else f"({D}, units)"
        raise ValueError(f"{name}: W must have shape {want} for x of shape {xs}, got {ws}")
    H = ws[1] // gates
    if us != (H, gates * H):
        raise ValueError(
            f"{name}: U must have shape ({H}, {gates * H}) for W of shape {ws}, got {us}"
        )
    if bs != (gates * H,):
        raise ValueError(f"{name}: b must have shape ({gates * H},) for W of shape {ws}, got {bs}")
    if T is None:
        raise ValueError(
            f"{name} loops over time in Python, so it needs a known number of steps: got x of "
            f"shape {xs}; give the input a fixed length, e.g. keras.Input(shape=(T, {D}))"
        )
    for state in h0:
        if state is not None and _shape(state)[1:] != (H,):
            raise ValueError(
                f"{name}: the initial state must have shape (batch, {H}), got {_shape(state)}"
            )
    return B, T, D, H


def simple_rnn_forward(
    x: Any,
    W: Any,
    U: Any,
    b: Any,
    h0: Any = None,
    activation: Any = "tanh",
) -> tuple[Any, Any]:
    """The simple RNN, step by step: :math:`h_t = f(x_t W + h_{t-1} U + b)`.

    The weights use ``keras.layers.SimpleRNN``'s layout (``kernel``, ``recurrent_kernel``,
    ``bias``), so ``simple_rnn_forward(x, *layer.get_weights())`` equals ``layer(x)``.

    Args:
        x: inputs, shape ``(B, T, D)`` (batch, time, features); T must be known.
        W: input weights, shape ``(D, H)``.
        U: recurrent weights, shape ``(H, H)``.
        b: bias, shape ``(H,)``.
        h0: the state before the first step, shape ``(B, H)``; None -> zeros.
        activation: f, ``"tanh"`` (the default, as in Keras), ``"relu"``, ``"sigmoid"``,
            ``"linear"`` or a function of a tensor.

    Returns:
        ``(outputs, h_T)``: every hidden state, shape ``(B, T, H)``, and the last one,
        shape ``(B, H)``.

    Raises:
        ValueError: a shape that does not fit (the message names the shapes).

    Example:
        >>> import numpy as np, keras
        >>> layer = keras.layers.SimpleRNN(4, return_sequences=True)
        >>> x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
        >>> keras_out = layer(x)
        >>> mine, _ = simple_rnn_forward(x, *layer.get_weights())
        >>> bool(np.allclose(mine, keras_out, atol=1e-5))
        True
    """
    B, T, D, H = _check_rnn_shapes(x, W, U, b, (h0,), 1, "simple_rnn_forward")
    f = _activation(activation)
    x = ops.convert_to_tensor(x, dtype="float32")
    W, U, b = (ops.convert_to_tensor(w, dtype="float32") for w in (W, U, b))
    h = ops.zeros((ops.shape(x)[0], H)) if h0 is None else ops.convert_to_tensor(h0, "float32")
    outputs = []
    for t in range(T):
        h = f(ops.matmul(x[:, t, :], W) + ops.matmul(h, U) + b)  # (B, H)
        outputs.append(h)
    return ops.stack(outputs, axis=1), h


def lstm_forward(
    x: Any,
    W: Any,
    U: Any,
    b: Any,
    h0: Any = None,
    c0: Any = None,
) -> tuple[Any, Any, Any]:
    """The LSTM, step by step, with its four gates written out.

    The weights use ``keras.layers.LSTM``'s layout: the four gates side by side in the order
    input ``i``, forget ``f``, candidate ``c``, output ``o``, so
    ``lstm_forward(x, *layer.get_weights())`` equals ``layer(x)``.

    Args:
        x: inputs, shape ``(B, T, D)``; T must be known.
        W: input weights of the four gates, shape ``(D, 4H)``.
        U: recurrent weights, shape ``(H, 4H)``.
        b: biases, shape ``(4H,)``.
        h0: initial hidden state ``(B, H)``; None -> zeros.
        c0: initial cell state ``(B, H)``; None -> zeros.

    Returns:
        ``(outputs, h_T, c_T)``: hidden states ``(B, T, H)``, the last hidden state and the
        last cell state, each ``(B, H)``.

    Raises:
        ValueError: a shape that does not fit (the message names the shapes).

    Example:
        >>> import numpy as np, keras
        >>> layer = keras.layers.LSTM(4, return_sequences=True)
        >>> x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
        >>> keras_out = layer(x)
        >>> mine, _, _ = lstm_forward(x, *layer.get_weights())
        >>> bool(np.allclose(mine, keras_out, atol=1e-5))
        True
    """
    B, T, D, H = _check_rnn_shapes(x, W, U, b, (h0, c0), 4, "lstm_forward")
    x = ops.convert_to_tensor(x, dtype="float32")
    W, U, b = (ops.convert_to_tensor(w, dtype="float32") for w in (W, U, b))
    batch = ops.shape(x)[0]
    h = ops.zeros((batch, H)) if h0 is None else ops.convert_to_tensor(h0, "float32")
    c = ops.zeros((batch, H)) if c0 is None else ops.convert_to_tensor(c0, "float32")
    outputs = []
    for t in range(T):
        z = ops.matmul(x[:, t, :], W) + ops.matmul(h, U) + b  # (B, 4H): all gates at once
        i = ops.sigmoid(z[:, :H])  # input gate: how much new content to write
        f = ops.sigmoid(z[:, H : 2 * H])  # forget gate: how much of c_{t-1} to keep
        g = ops.tanh(z[:, 2 * H : 3 * H])  # candidate content
        o = ops.sigmoid(z[:, 3 * H :])  # output gate: how much of the cell to show
        c = f * c + i * g  # the cell: an additive memory
        h = o * ops.tanh(c)
        outputs.append(h)
    return ops.stack(outputs, axis=1), h, c


@keras.saving.register_keras_serializable(package="lmcourse")
class ScratchSimpleRNN(keras.layers.Layer):
    """A simple RNN layer whose forward pass is :func:`simple_rnn_forward`.

    It has the same weights as ``keras.layers.SimpleRNN(units)`` (``kernel``,
    ``recurrent_kernel``, ``bias``), so weights copy across with ``set_weights``. The loop
    over time is unrolled in Python: the sequence length must be known when the layer is
    called (like ``SimpleRNN(unroll=True)``).

    Args:
        units: H, the size of the hidden state.
        activation: f: ``"tanh"``, ``"relu"``, ``"sigmoid"`` or ``"linear"``.
        return_sequences: return all states ``(B, T, H)`` (True) or the last ``(B, H)``.
        **kwargs: base Layer arguments (``name``, ``dtype``, ...).

    Example:
        >>> import numpy as np, keras
        >>> x = np.ones((1, 4, 3), "float32")
        >>> mine, ref = ScratchSimpleRNN(5), keras.layers.SimpleRNN(5)
        >>> _ = mine(x), ref(x)
        >>> mine.set_weights(ref.get_weights())
        >>> bool(np.allclose(mine(x), ref(x), atol=1e-6))
        True
    """

    def __init__(
        self, units: int, activation: str = "tanh", return_sequences: bool = False, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be an int >= 1, got {units!r}")
        _activation(activation)
        self.units = units
        self.activation = activation
        self.return_sequences = return_sequences

    def build(self, input_shape) -> None:
        d = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(d, self.units), initializer="glorot_uniform", name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), initializer="orthogonal", name="recurrent_kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        outputs, h = simple_rnn_forward(
            inputs, self.kernel, self.recurrent_kernel, self.bias, activation=self.activation
        )
        return outputs if self.return_sequences else h

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (*input_shape[:2], self.units)
        return (input_shape[0], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "return_sequences": self.return_sequences,
        }


def build_char_lstm(
    vocab_size: int,
    embed_dim: int = 64,
    units: int = 256,
    num_layers: int = 2,
    dropout: float = 0.2,
    name: str = "char_lstm",
) -> keras.Model:
    """The chapter 04 language model: Embedding -> LSTM -> (Dropout -> LSTM) ... -> Dense logits.

    ``(B, T)`` token ids in, ``(B, T, V)`` **logits** out: the score of every next token at
    every position. The softmax is not in the model; train with
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``, which computes
    ``log_softmax`` in one stable step (no ``log(0)`` for a tiny probability), and apply
    ``softmax`` (or a sampler) only when you need probabilities.

    Dropout sits between stacked LSTM layers: while training it zeroes a fraction of the
    features one LSTM passes to the next (the non-recurrent connections, as in Zaremba et al.,
    2014). It is a separate layer, which keeps the LSTM eligible for the fast cuDNN kernel on
    a GPU. There is none between the last LSTM and the output layer: at the small training
    budgets of a CPU, where the model underfits, noise right before the softmax slows
    learning more than it helps against overfitting.

    Args:
        vocab_size: V, the number of token ids (characters).
        embed_dim: the size of each token's embedding vector.
        units: H, the hidden size of every LSTM layer.
        num_layers: how many LSTM layers are stacked (>= 1).
        dropout: the dropout rate between stacked LSTM layers, in [0, 1).
        name: the model's name.

    Returns:
        An uncompiled functional ``keras.Model`` accepting any sequence length.

    Raises:
        ValueError: a size < 1 or a dropout rate outside [0, 1).

    Example:
        >>> import numpy as np
        >>> model = build_char_lstm(vocab_size=30, embed_dim=8, units=16)
        >>> tuple(model(np.zeros((2, 7), "int32")).shape)   # (batch, time, vocab) logits
        (2, 7, 30)
    """
    for arg, value in (
        ("vocab_size", vocab_size),
        ("embed_dim", embed_dim),
        ("units", units),
        ("num_layers", num_layers),
    ):
        check_int(arg, value)
    check_rate("dropout", dropout)
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, name="embedding")(ids)  # (B, T, E)
    for i in range(num_layers):
        if i > 0 and dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
        x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i + 1}")(x)  # (B, T, H)
    logits = keras.layers.Dense(vocab_size, name="logits", dtype="float32")(x)  # (B, T, V)
    return keras.Model(ids, logits, name=name)


def vocab_size_of(model: keras.Model) -> int | None:
    """The number of token ids a language model reads (its first Embedding's ``input_dim``),
    or None if it has no Embedding layer."""
    for layer in model.layers if hasattr(model, "layers") else ():
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    return None
