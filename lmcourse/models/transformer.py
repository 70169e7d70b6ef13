"""The Transformer block and a decoder-only mini-GPT, with a key/value cache for generation.

A Transformer block (Vaswani et al., 2017) refines a sequence of vectors ``x (B, T, d)`` in
two sub-layers, each wrapped in a **residual** connection and a **LayerNorm**:

.. math::
    \\text{pre-LN (GPT-2):}\\quad & x \\leftarrow x + \\mathrm{MHA}(\\mathrm{LN}(x)), \\quad
                                 x \\leftarrow x + \\mathrm{FFN}(\\mathrm{LN}(x)) \\\\
    \\text{post-LN (2017):}\\quad & x \\leftarrow \\mathrm{LN}(x + \\mathrm{MHA}(x)), \\quad
                                  x \\leftarrow \\mathrm{LN}(x + \\mathrm{FFN}(x))

with the position-wise feed-forward network
:math:`\\mathrm{FFN}(x) = \\phi(x W_1 + b_1) W_2 + b_2` (``d -> ff_dim -> d``, the same at
every position) and multi-head self-attention from :mod:`lmcourse.models.attention`.

Attention alone cannot tell positions apart (it is a weighted *set* average), so the input
of the first block is ``token embedding + position embedding``: :class:`TokenAndPositionEmbedding`
adds a **learned** vector per position (GPT) or the fixed **sinusoidal** one,
:func:`sinusoidal_positions`.

:class:`GPT` stacks embedding, ``num_layers`` causal blocks, a final LayerNorm and a linear
head: ``(B, T)`` ids in, ``(B, T, V)`` next-token logits out (:func:`build_gpt` makes one).
For generation it has a **key/value cache** (:meth:`GPT.init_cache`,
:meth:`GPT.call_with_cache`): the keys and values of the tokens already read are kept, so a
new token costs one position's work instead of a forward pass over the whole prefix.
:func:`cached_next_logits` plugs it into :func:`lmcourse.generate.generate`;
:func:`keras_hub_next` plugs it into ``keras_hub.samplers``.

Shapes: ``B`` batch, ``T`` sequence length, ``d`` = ``d_model``, ``H`` heads,
``d_head = d / H``, ``S`` cache length (the context window), ``L`` layers, ``V`` vocabulary.
The cache is one tensor ``(B, L, 2, S, H, d_head)`` (keys at ``[:, :, 0]``, values at
``[:, :, 1]``), one ``(B, 2, S, H, d_head)`` slice per layer in the layout of keras-hub's
``CachedMultiHeadAttention``.

Everything uses ``keras.layers``/``keras.ops``, so it runs on TensorFlow, JAX and PyTorch.

Example:
    >>> import numpy as np
    >>> model = build_gpt(vocab_size=20, seq_len=16, d_model=32, num_heads=4, num_layers=2)
    >>> ids = np.random.default_rng(0).integers(0, 20, size=(2, 10))
    >>> tuple(model(ids).shape)                        # (B, T, V) logits
    (2, 10, 20)
    >>> cache = model.init_cache(2)                    # (B, L, 2, S, H, d_head)
    >>> logits, cache = model.call_with_cache(ids, cache, 0)
    >>> bool(np.allclose(logits, model(ids), atol=1e-5))
    True
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from lmcourse.models.attention import MultiHeadAttention, causal_bias, copy_weights_from_keras

POSITIONS = ("learned", "sinusoidal")


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _check_rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def _check_heads(d_model: int, num_heads: int) -> int:
    if d_model % num_heads:
        raise ValueError(
            f"d_model={d_model} is not divisible by num_heads={num_heads}: each head gets "
            f"d_model / num_heads dimensions; choose num_heads dividing {d_model} "
            f"(e.g. {', '.join(str(h) for h in range(1, min(d_model, 16) + 1) if d_model % h == 0)})"
        )
    return d_model // num_heads


def _clone(initializer: Any) -> Any:
    """A fresh copy of an initializer, so that two layers never share one seeded instance.

    (Not via ``keras.initializers.serialize``, which imports TensorFlow on every backend.)
    """
    return initializer.__class__.from_config(initializer.get_config())


def _static(dim: Any) -> int | None:
    try:
        return None if dim is None else int(dim)
    except TypeError:  # a symbolic dimension
        return None


# ------------------------------------------------------------------- position encodings


def sinusoidal_positions(
    length: int, d_model: int, max_wavelength: float = 10_000.0, start: Any = 0
) -> Any:
    """The fixed sinusoidal position encodings of Vaswani et al. (2017).

    .. math::  PE_{p, 2i} = \\sin(p / w^{2i/d}), \\qquad PE_{p, 2i+1} = \\cos(p / w^{2i/d})

    for positions ``p = start .. start + length - 1`` and ``w = max_wavelength``: each pair
    of dimensions is a clock turning at its own speed, from one turn per ``2 pi`` positions
    (``i = 0``) to one per ``2 pi w`` positions. The encoding of ``p + k`` is a fixed rotation
    of that of ``p`` (per pair), so relative offsets are easy to read off. The same numbers
    as ``keras_hub.layers.SinePositionEncoding``.

    Args:
        length: ``T``, the number of positions.
        d_model: ``d``, the size of each encoding vector.
        max_wavelength: ``w``.
        start: the first position (an int or a scalar tensor, e.g. a cache index).

    Returns:
        ``(T, d)`` float32, values in [-1, 1].

    Example:
        >>> import numpy as np
        >>> pe = np.asarray(sinusoidal_positions(50, 16))
        >>> pe.shape, float(pe[0, 0]), float(pe[0, 1])     # position 0: sin 0 = 0, cos 0 = 1
        ((50, 16), 0.0, 1.0)
    """
    length, d_model = _check_int("length", length), _check_int("d_model", d_model)
    positions = ops.cast(ops.arange(length) + ops.cast(start, "int32"), "float32")
    dims = ops.arange(d_model)
    exponent = ops.cast(2 * (dims // 2), "float32") / float(d_model)  # 2i/d for both of a pair
    inv_freq = ops.power(1.0 / float(max_wavelength), exponent)  # (d,)
    angles = positions[:, None] * inv_freq[None, :]  # (T, d)
    odd = ops.cast(dims % 2, "float32")
    return ops.sin(angles) * (1.0 - odd) + ops.cos(angles) * odd


@keras.saving.register_keras_serializable(package="lmcourse")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding plus position embedding: ``E[ids] + P[positions]``.

    Args:
        vocab_size: ``V``, the number of token ids.
        max_length: the longest sequence (the context window); learned positions have one
            vector each for ``0 .. max_length - 1``.
        d_model: ``d``, the embedding size.
        positions: ``"learned"`` (a trained ``(max_length, d)`` table, as GPT) or
            ``"sinusoidal"`` (:func:`sinusoidal_positions`, no weights).
        embeddings_initializer: initializer of the token and position tables (GPT-2 uses a
            normal distribution with standard deviation 0.02).
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        ids: ``(B, T)`` int token ids.
        start_index: the position of the first token (an int or scalar tensor; a cache index
            during generation).

    Returns:
        ``(B, T, d)``.

    Raises:
        ValueError: ``T`` (plus ``start_index``, when it is a plain int) is longer than
            ``max_length``; the message names both sizes.

    Example:
        >>> import numpy as np
        >>> emb = TokenAndPositionEmbedding(vocab_size=10, max_length=8, d_model=4)
        >>> tuple(emb(np.array([[1, 2, 3]])).shape)
        (1, 3, 4)
    """

    def __init__(
        self,
        vocab_size: int,
        max_length: int,
        d_model: int,
        positions: str = "learned",
        embeddings_initializer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size = _check_int("vocab_size", vocab_size)
        self.max_length = _check_int("max_length", max_length)
        self.d_model = _check_int("d_model", d_model)
        if positions not in POSITIONS:
            raise ValueError(f"positions={positions!r} is unknown: choose one of {POSITIONS}")
        self.positions = positions
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.RandomNormal(stddev=0.02)
        )
        self.token_embedding = keras.layers.Embedding(
            self.vocab_size, self.d_model,
            embeddings_initializer=_clone(self.embeddings_initializer),
            dtype=self.dtype_policy, name="token_embedding",
        )

    def build(self, input_shape=None) -> None:
        self.token_embedding.build(input_shape)
        if self.positions == "learned":
            self.position_embeddings = self.add_weight(
                name="position_embeddings", shape=(self.max_length, self.d_model),
                initializer=self.embeddings_initializer,
            )
        self.built = True

    def position_vectors(self, length: int, start_index: Any = 0) -> Any:
        """``(T, d)``: the vectors of positions ``start_index .. start_index + T - 1``."""
        if self.positions == "sinusoidal":
            return sinusoidal_positions(length, self.d_model, start=start_index)
        table = ops.convert_to_tensor(self.position_embeddings)  # (max_length, d)
        return ops.slice(table, [start_index, 0], [length, self.d_model])

    def call(self, ids, start_index=0):
        length = _static(ids.shape[-1])
        if length is None:
            length = ops.shape(ids)[-1]
        else:
            start = start_index if isinstance(start_index, int) else 0
            if start + length > self.max_length:
                where = f" starting at position {start}" if start else ""
                raise ValueError(
                    f"a sequence of {length} tokens{where} is longer than the context window "
                    f"max_length={self.max_length}: the model has position embeddings for "
                    f"positions 0..{self.max_length - 1} only; cut the input to its last "
                    f"{self.max_length - start} tokens"
                )
        tokens = self.token_embedding(ids)  # (B, T, d)
        return tokens + ops.cast(self.position_vectors(length, start_index), tokens.dtype)[None]

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.d_model)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "max_length": self.max_length,
            "d_model": self.d_model,
            "positions": self.positions,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        }


# ------------------------------------------------------------------------------- the block


@keras.saving.register_keras_serializable(package="lmcourse")
class TransformerBlock(keras.layers.Layer):
    """One Transformer block: self-attention and a feed-forward network, each with a residual
    connection and a LayerNorm (before the sub-layer: pre-LN; after the sum: post-LN).

    The sub-layers have the names and order of ``keras_hub.layers.TransformerDecoder`` (without
    cross-attention) and ``TransformerEncoder``: ``self_attention``,
    ``self_attention_layer_norm``, ``feedforward_intermediate_dense``,
    ``feedforward_output_dense``, ``feedforward_layer_norm`` - so their weights copy across
    one to one (:func:`copy_block_weights`) and the outputs agree to float rounding.

    Args:
        d_model: ``d``, the size of the vectors in and out.
        num_heads: ``H``; must divide ``d_model`` (each head gets ``d / H`` dimensions).
        ff_dim: the hidden size of the feed-forward network (usually ``4 d``).
        dropout: dropout rate on the attention weights and on each sub-layer's output
            (training only), in [0, 1).
        norm_first: True: pre-LN (GPT-2 and later; trains stably without warm-up tricks);
            False: post-LN (the 2017 paper, BERT).
        activation: the feed-forward non-linearity (``"relu"``, keras-hub's default;
            ``"gelu"``, GPT's).
        layer_norm_epsilon: added to the variance in LayerNorm (keras-hub: 1e-5).
        kernel_initializer: initializer of all kernels.
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        x: ``(B, T, d)``.
        padding_mask: ``(B, Tk)``, True/1 for real tokens, False/0 for padding (``Tk = T``,
            or the cache length ``S`` with a cache). Padding is never attended to.
        attention_mask: boolean ``(B, T, Tk)``, True = may attend.
        use_causal_mask: forbid attending to later positions (a decoder).
        cache: ``(B, 2, S, H, d_head)`` keys/values of this block (see
            :meth:`MultiHeadAttention.init_cache`).
        cache_index: where ``x``'s positions go in the cache.
        training: apply dropout.

    Returns:
        ``(B, T, d)``, or ``(outputs, updated cache)`` with a cache.

    Raises:
        ValueError: ``d_model`` not divisible by ``num_heads``, an input whose last axis is not
            ``d_model``, or a padding mask that is not ``(B, Tk)`` (messages name the sizes).

    Example:
        >>> import numpy as np
        >>> block = TransformerBlock(d_model=16, num_heads=4, ff_dim=64)
        >>> x = np.random.default_rng(0).normal(size=(2, 5, 16)).astype("float32")
        >>> tuple(block(x, use_causal_mask=True).shape)
        (2, 5, 16)
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        ff_dim: int,
        dropout: float = 0.0,
        norm_first: bool = True,
        activation: str = "relu",
        layer_norm_epsilon: float = 1e-5,
        kernel_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.d_model = _check_int("d_model", d_model)
        self.num_heads = _check_int("num_heads", num_heads)
        self.head_dim = _check_heads(self.d_model, self.num_heads)
        self.ff_dim = _check_int("ff_dim", ff_dim)
        self.dropout = _check_rate("dropout", dropout)
        self.norm_first = bool(norm_first)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        init = lambda: _clone(self.kernel_initializer)  # noqa: E731 - one per sub-layer
        policy = self.dtype_policy
        self.self_attention = MultiHeadAttention(
            self.num_heads, key_dim=self.head_dim, dropout=self.dropout,
            kernel_initializer=init(), dtype=policy, name="self_attention")
        self.self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="self_attention_layer_norm")
        self.self_attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="self_attention_dropout")
        self.feedforward_intermediate_dense = keras.layers.Dense(
            self.ff_dim, activation=activation, kernel_initializer=init(), dtype=policy,
            name="feedforward_intermediate_dense")
        self.feedforward_output_dense = keras.layers.Dense(
            self.d_model, kernel_initializer=init(), dtype=policy,
            name="feedforward_output_dense")
        self.feedforward_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="feedforward_layer_norm")
        self.feedforward_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="feedforward_dropout")

    def build(self, input_shape) -> None:
        shape = tuple(input_shape)
        if len(shape) != 3 or _static(shape[-1]) != self.d_model:
            raise ValueError(
                f"TransformerBlock(d_model={self.d_model}) expects inputs of shape "
                f"(B, T, {self.d_model}), got {shape}: the last axis must equal d_model"
            )
        self.self_attention.build(shape, shape)
        self.self_attention_layer_norm.build(shape)
        self.feedforward_intermediate_dense.build(shape)
        self.feedforward_output_dense.build((*shape[:-1], self.ff_dim))
        self.feedforward_layer_norm.build(shape)
        self.built = True

    def _mask(self, x, padding_mask, attention_mask, key_len):
        """Merge a ``(B, Tk)`` padding mask and a ``(B, T, Tk)`` attention mask into one."""
        mask = None
        if padding_mask is not None:
            padding_mask = ops.convert_to_tensor(padding_mask)
            got = tuple(_static(d) for d in padding_mask.shape)
            batch = _static(x.shape[0])
            if (len(got) != 2 or not (got[1] is None or key_len is None or got[1] == key_len)
                    or not (got[0] is None or batch is None or got[0] == batch)):
                raise ValueError(
                    f"padding_mask must have shape (B, Tk) = ({batch}, {key_len}) - one "
                    f"True/False per key position of each sequence - got shape {got}"
                )
            mask = ops.cast(padding_mask, "bool")[:, None, :]  # (B, 1, Tk): for every query
        if attention_mask is not None:
            attention_mask = ops.cast(ops.convert_to_tensor(attention_mask), "bool")
            mask = attention_mask if mask is None else ops.logical_and(mask, attention_mask)
        return mask

    def call(
        self,
        x,
        padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        cache=None,
        cache_index=None,
        training=None,
    ):
        key_len = _static(cache.shape[2]) if cache is not None else _static(x.shape[1])
        mask = self._mask(x, padding_mask, attention_mask, key_len)
        bias = None
        if use_causal_mask and mask is None and cache is None and key_len is not None:
            # The causal mask as an additive bias (a graph constant): the same weights as the
            # boolean mask, with one masking op less in the forward and backward pass.
            bias, use_causal_mask = causal_bias(key_len), False
        residual = x
        if self.norm_first:
            x = self.self_attention_layer_norm(x)
        out = self.self_attention(
            x, attention_mask=mask, attention_bias=bias, use_causal_mask=use_causal_mask,
            training=training, cache=cache, cache_index=cache_index,
        )
        if cache is not None:
            out, cache = out
        x = residual + self.self_attention_dropout(out, training=training)
        if not self.norm_first:
            x = self.self_attention_layer_norm(x)

        residual = x
        if self.norm_first:
            x = self.feedforward_layer_norm(x)
        x = self.feedforward_output_dense(self.feedforward_intermediate_dense(x))
        x = residual + self.feedforward_dropout(x, training=training)
        if not self.norm_first:
            x = self.feedforward_layer_norm(x)
        return x if cache is None else (x, cache)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "norm_first": self.norm_first,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


_BLOCK_PARTS = ("self_attention_layer_norm", "feedforward_intermediate_dense",
                "feedforward_output_dense", "feedforward_layer_norm")


def copy_block_weights(own: TransformerBlock, keras_hub_layer: Any) -> TransformerBlock:
    """Give ``own`` the weights of a built ``keras_hub.layers.TransformerDecoder`` (without
    cross-attention) or ``TransformerEncoder``; returns ``own``.

    The attention kernels have ``keras.layers.MultiHeadAttention``'s layout in both, and the
    other sub-layers are the same Keras layers under the same names.

    Raises:
        ValueError: a layer is not built, the keras-hub layer has cross-attention, or the
            sizes differ (named in the message).
    """
    if not (own.built and keras_hub_layer.built):
        raise ValueError("both blocks must be built before copying weights: call each once")
    if getattr(keras_hub_layer, "_cross_attention_layer", None) is not None:
        raise ValueError("the keras-hub decoder has cross-attention, which TransformerBlock "
                         "does not: build it with decoder_sequence only")
    theirs = keras_hub_layer._self_attention_layer
    copy_weights_from_keras(own.self_attention, theirs)
    for part in _BLOCK_PARTS:
        mine, ref = getattr(own, part), getattr(keras_hub_layer, f"_{part}")
        for a, b in zip(mine.weights, ref.weights, strict=True):
            if tuple(a.shape) != tuple(b.shape):
                raise ValueError(f"{part}: weight {a.name} has shape {tuple(a.shape)} here "
                                 f"but {tuple(b.shape)} in keras-hub")
            a.assign(b)
    return own


# --------------------------------------------------------------------------------- the GPT


@keras.saving.register_keras_serializable(package="lmcourse")
class GPT(keras.Model):
    """A decoder-only Transformer language model (GPT): ids ``(B, T)`` -> logits ``(B, T, V)``.

    ``TokenAndPositionEmbedding -> Dropout -> TransformerBlock x L (causal) -> LayerNorm (pre-LN
    only) -> Dense(V)``. Every position predicts the next token from the tokens up to itself;
    the causal mask makes sure it sees no later one. Make one with :func:`build_gpt`.

    Args:
        vocab_size: ``V``.
        seq_len: the context window ``S``: the longest input (learned positions exist up to it).
        d_model, num_heads, num_layers, ff_dim, dropout, activation, norm_first: the blocks'
            sizes and options (see :class:`TransformerBlock`); ``ff_dim=None``: ``4 d_model``.
        positions: ``"learned"`` or ``"sinusoidal"`` position embeddings.
        **kwargs: ``keras.Model`` arguments (``name``).

    Raises:
        ValueError: a size < 1, ``d_model`` not divisible by ``num_heads``, a dropout outside
            [0, 1); a call with more than ``seq_len`` tokens.
    """

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        d_model: int = 128,
        num_heads: int = 4,
        num_layers: int = 4,
        ff_dim: int | None = None,
        dropout: float = 0.0,
        activation: str = "gelu",
        norm_first: bool = True,
        positions: str = "learned",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size = _check_int("vocab_size", vocab_size)
        self.seq_len = _check_int("seq_len", seq_len)
        self.d_model = _check_int("d_model", d_model)
        self.num_heads = _check_int("num_heads", num_heads)
        self.head_dim = _check_heads(self.d_model, self.num_heads)
        self.num_layers = _check_int("num_layers", num_layers)
        self.ff_dim = 4 * self.d_model if ff_dim is None else _check_int("ff_dim", ff_dim)
        self.dropout = _check_rate("dropout", dropout)
        self.activation = activation
        self.norm_first = bool(norm_first)
        self.positions = positions
        self.embedding = TokenAndPositionEmbedding(
            self.vocab_size, self.seq_len, self.d_model, positions=positions, name="embedding")
        self.embedding_dropout = keras.layers.Dropout(self.dropout, name="embedding_dropout")
        self.blocks = [
            TransformerBlock(self.d_model, self.num_heads, self.ff_dim, dropout=self.dropout,
                             norm_first=self.norm_first, activation=activation,
                             name=f"block_{i + 1}")
            for i in range(self.num_layers)
        ]
        self.final_norm = (keras.layers.LayerNormalization(epsilon=1e-5, name="final_layer_norm")
                           if self.norm_first else None)
        self.head = keras.layers.Dense(self.vocab_size, name="logits", dtype="float32")

    def build(self, input_shape=None) -> None:
        shape = (None, None) if input_shape is None else tuple(input_shape)
        self.embedding.build(shape)
        hidden = (*shape, self.d_model)
        for block in self.blocks:
            block.build(hidden)
        if self.final_norm is not None:
            self.final_norm.build(hidden)
        self.head.build(hidden)
        self.built = True

    def _finish(self, x):
        if self.final_norm is not None:
            x = self.final_norm(x)
        return self.head(x)

    def call(self, ids, training=None):
        x = self.embedding_dropout(self.embedding(ids), training=training)  # (B, T, d)
        for block in self.blocks:
            x = block(x, use_causal_mask=True, training=training)
        return self._finish(x)  # (B, T, V), float32

    # -- generation with a key/value cache ------------------------------------------------

    def init_cache(self, batch_size: int, max_length: int | None = None, dtype=None) -> Any:
        """An empty cache ``(B, L, 2, S, H, d_head)`` for ``S = max_length`` (default ``seq_len``).

        Raises:
            ValueError: ``max_length`` is longer than the context window ``seq_len``.
        """
        max_length = self.seq_len if max_length is None else _check_int("max_length", max_length)
        if max_length > self.seq_len and self.positions == "learned":
            raise ValueError(
                f"a cache of max_length={max_length} is longer than the context window "
                f"seq_len={self.seq_len} (no learned positions beyond it)"
            )
        return ops.zeros(
            (_check_int("batch_size", batch_size), self.num_layers, 2, max_length,
             self.num_heads, self.head_dim),
            dtype=dtype or self.compute_dtype,
        )

    def call_with_cache(self, ids, cache, cache_index):
        """Run new tokens ``ids (B, t)`` at positions ``cache_index .. cache_index + t - 1``.

        Each block writes the new keys/values into its slice of the cache and attends over
        the whole cache with a causal mask offset by ``cache_index``, so the not yet written
        (zero) slots are never seen. Prefill a prompt with ``cache_index = 0`` and all its
        tokens; then feed one token at a time.

        Args:
            ids: ``(B, t)`` int token ids.
            cache: ``(B, L, 2, S, H, d_head)`` from :meth:`init_cache` (or a previous call).
            cache_index: an int or scalar int tensor.

        Returns:
            ``(logits (B, t, V), updated cache)``: the same logits as :meth:`call` gives at
            those positions for the whole sequence.
        """
        shape = tuple(_static(d) for d in cache.shape)
        want = (self.num_layers, 2, None, self.num_heads, self.head_dim)
        if len(shape) != 6 or any(w is not None and s != w for s, w in zip(shape[1:], want,
                                                                         strict=True)):
            raise ValueError(
                f"cache must have shape (B, num_layers={self.num_layers}, 2, S, "
                f"num_heads={self.num_heads}, d_head={self.head_dim}), got {shape}: "
                "make it with model.init_cache(batch_size)"
            )
        x = self.embedding(ids, start_index=cache_index)
        layer_caches = []
        for i, block in enumerate(self.blocks):
            x, layer_cache = block(x, use_causal_mask=True, cache=cache[:, i],
                                   cache_index=cache_index, training=False)
            layer_caches.append(layer_cache)
        return self._finish(x), ops.stack(layer_caches, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vocab_size": self.vocab_size,
            "seq_len": self.seq_len,
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "num_layers": self.num_layers,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "norm_first": self.norm_first,
            "positions": self.positions,
        }


def build_gpt(
    vocab_size: int,
    seq_len: int,
    d_model: int = 128,
    num_heads: int = 4,
    num_layers: int = 4,
    ff_dim: int | None = None,
    dropout: float = 0.0,
    *,
    activation: str = "gelu",
    norm_first: bool = True,
    positions: str = "learned",
    name: str = "mini_gpt",
) -> GPT:
    """A built (uncompiled) :class:`GPT`: ``(B, T)`` ids -> ``(B, T, V)`` logits, ``T <= seq_len``.

    Train with ``SparseCategoricalCrossentropy(from_logits=True)``; the softmax is inside the
    loss, as for chapter 04's LSTM.

    Example:
        >>> model = build_gpt(vocab_size=65, seq_len=64, d_model=64, num_heads=4, num_layers=2)
        >>> model.count_params()
        112577
    """
    model = GPT(vocab_size, seq_len, d_model, num_heads, num_layers, ff_dim, dropout,
                activation=activation, norm_first=norm_first, positions=positions, name=name)
    model.build((None, None))
    return model


# ------------------------------------------------------------------- generation helpers


def check_context(model: GPT, length: int, what: str = "the prompt") -> None:
    """Raise a ValueError naming both sizes if ``length`` tokens do not fit the context window."""
    if length > model.seq_len:
        raise ValueError(
            f"{what} has {length} tokens, longer than the model's context window "
            f"seq_len={model.seq_len}: shorten it to at most {model.seq_len} tokens (or keep "
            f"only its last {model.seq_len})"
        )


def compile_fn(fn: Callable) -> Callable:
    """Compile ``fn`` as a graph where the backend can: ``tf.function`` on TensorFlow,
    ``jax.jit`` on JAX (the model's weights become constants: for inference only), the
    function itself on PyTorch."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn


def cached_next_logits(model: GPT, *, compile: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """A ``next_logits`` function for :func:`lmcourse.generate.generate` that uses the cache.

    The first call (a new prompt) **prefills** the cache with all prompt tokens in one
    forward pass; each later call, with the ids extended by one token, runs just that token
    (``call_with_cache`` at ``cache_index = t - 1``). Called with ids that do not extend the
    previous ones, it starts over.

    Args:
        model: a :class:`GPT`.
        compile: run the prefill and the step as compiled graphs (see :func:`compile_fn`).

    Returns:
        ``next_logits(ids (B, t)) -> logits (B, V)`` (NumPy float32) of the token after ``ids``.

    Raises:
        ValueError (when called): ``t`` is longer than the context window ``seq_len``.

    Example:
        >>> from lmcourse.generate import generate
        >>> model = build_gpt(vocab_size=12, seq_len=16, d_model=16, num_heads=2, num_layers=1)
        >>> generate(model, [1, 2, 3], 5, strategy="greedy",
        ...          next_logits=cached_next_logits(model)).shape
        (8,)
    """
    run = compile_fn(model.call_with_cache) if compile else model.call_with_cache
    memory: dict[str, Any] = {"ids": None, "cache": None, "logits": None}

    def next_logits(batch_ids):
        batch_ids = np.asarray(batch_ids, dtype="int32")
        t = batch_ids.shape[1]
        check_context(model, t, "the sequence so far")
        seen = memory["ids"]
        extends = (seen is not None and seen.shape[0] == batch_ids.shape[0]
                   and seen.shape[1] <= t and np.array_equal(batch_ids[:, : seen.shape[1]], seen))
        if extends and seen.shape[1] == t:
            return memory["logits"]
        if extends:
            cache, start = memory["cache"], seen.shape[1]
        else:
            cache, start = model.init_cache(batch_ids.shape[0]), 0
        # prefill (all new tokens at once) or one step; the index is a tensor: one graph
        logits, cache = run(batch_ids[:, start:], cache, ops.convert_to_tensor(start, "int32"))
        memory.update(ids=batch_ids.copy(), cache=cache,
                      logits=ops.convert_to_numpy(logits[:, -1, :]))
        return memory["logits"]

    return next_logits


def full_next_logits(model: GPT, *, compile: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """The no-cache ``next_logits``: a forward pass over the whole sequence for every token.

    The ids are padded to the context window ``seq_len`` so that one compiled graph serves
    every length (the causal mask makes the padding after position ``t - 1`` irrelevant);
    the logits at ``t - 1`` are returned. ``O(seq_len)`` work per token - what the cache saves.

    Raises:
        ValueError (when called): ``t`` is longer than ``seq_len``.
    """
    forward = compile_fn(lambda ids: model(ids, training=False)) if compile else model

    def next_logits(batch_ids):
        batch_ids = np.asarray(batch_ids, dtype="int32")
        t = batch_ids.shape[1]
        check_context(model, t, "the sequence so far")
        padded = np.zeros((batch_ids.shape[0], model.seq_len), "int32")
        padded[:, :t] = batch_ids
        return ops.convert_to_numpy(forward(padded)[:, t - 1, :])

    return next_logits


def keras_hub_next(model: GPT) -> Callable:
    """``next(prompt, cache, index)`` for ``keras_hub.samplers`` (Greedy/TopK/TopP...).

    A keras-hub sampler fills a padded ``prompt (B, S)`` from position ``index`` on; at each
    step it asks ``next`` for the logits of position ``index``, which our model computes from
    the token at ``index - 1`` with the cache. Prefill the cache with the prompt first
    (:func:`sample_with_keras_hub` does all of it).

    Returns:
        ``next(prompt, cache, index) -> (logits (B, V), None, cache)``.
    """

    def next_fn(prompt, cache, index):
        batch = ops.shape(prompt)[0]
        token = ops.slice(prompt, [0, index - 1], [batch, 1])  # (B, 1)
        logits, cache = model.call_with_cache(token, cache, index - 1)
        return logits[:, 0, :], None, cache

    return next_fn


def sample_with_keras_hub(model: GPT, prompt_ids: Any, n: int, sampler: Any) -> np.ndarray:
    """Extend ``prompt_ids (T,)`` or ``(B, T)`` by ``n`` tokens with a keras-hub sampler.

    Args:
        model: a :class:`GPT`.
        prompt_ids: the prompt; ``T + n`` must fit the context window.
        n: tokens to generate.
        sampler: e.g. ``keras_hub.samplers.TopKSampler(k=5, seed=1)``.

    Returns:
        ``(T + n,)`` or ``(B, T + n)`` int32 ids.

    Raises:
        ValueError: ``T + n`` is longer than ``seq_len``.
    """
    ids = np.asarray(prompt_ids, dtype="int32")
    squeeze = ids.ndim == 1
    ids = ids[None] if squeeze else ids
    batch, t = ids.shape
    check_context(model, t + _check_int("n", n, 0), f"the prompt plus {n} new tokens")
    total = t + n
    prompt = np.zeros((batch, total), "int32")
    prompt[:, :t] = ids
    cache = model.init_cache(batch, total)
    _, cache = model.call_with_cache(ids, cache, 0)  # prefill
    mask = np.zeros((batch, total), bool)
    mask[:, :t] = True  # keep the prompt's tokens
    out = sampler(keras_hub_next(model), ops.convert_to_tensor(prompt), cache=cache, index=t,
                  mask=ops.convert_to_tensor(mask))
    out = ops.convert_to_numpy(out)
    return out[0] if squeeze else out


def training_flops_per_token(model: GPT, seq_len: int | None = None) -> float:
    """Approximate FLOPs of one training step per token: ``6 N + 12 L T d``.

    ``N`` is the parameters outside the embeddings (each is used in one multiply-add forward,
    two backward: 6 FLOPs), ``12 L T d`` the attention's ``Q K^T`` and ``A V`` products over
    a context of ``T`` (PaLM's appendix B; nanoGPT's ``estimate_mfu``).
    """
    seq_len = model.seq_len if seq_len is None else seq_len
    n_embed = sum(int(np.prod(w.shape)) for w in model.embedding.weights)
    n = model.count_params() - n_embed
    return 6.0 * n + 12.0 * model.num_layers * seq_len * model.d_model


__all__ = [
    "GPT",
    "TokenAndPositionEmbedding",
    "TransformerBlock",
    "build_gpt",
    "cached_next_logits",
    "check_context",
    "copy_block_weights",
    "full_next_logits",
    "keras_hub_next",
    "sample_with_keras_hub",
    "sinusoidal_positions",
    "training_flops_per_token",
]
