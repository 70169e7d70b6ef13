"""The Transformer block: self-attention and a feed-forward network, residuals and LayerNorms.

A Transformer block (Vaswani et al., 2017) refines a sequence of vectors ``x (B, T, d)`` in
two sub-layers, each wrapped in a **residual** connection and a **LayerNorm**:

.. math::
    \\text{pre-LN (GPT-2):}\\quad & x \\leftarrow x + \\mathrm{MHA}(\\mathrm{LN}(x)), \\quad
                                 x \\leftarrow x + \\mathrm{FFN}(\\mathrm{LN}(x)) \\\\
    \\text{post-LN (2017):}\\quad & x \\leftarrow \\mathrm{LN}(x + \\mathrm{MHA}(x)), \\quad
                                  x \\leftarrow \\mathrm{LN}(x + \\mathrm{FFN}(x))

with the position-wise feed-forward network
:math:`\\mathrm{FFN}(x) = \\phi(x W_1 + b_1) W_2 + b_2` (``d -> ff_dim -> d``, the same at
every position) and multi-head self-attention from :mod:`lmcourse.models.multi_head_attention`.

:class:`TransformerBlock` has the sub-layer names of keras-hub's ``TransformerDecoder`` /
``TransformerEncoder``, and :func:`copy_block_weights` copies their weights across. The
decoder-only model built from these blocks is :class:`lmcourse.models.gpt.GPT`, the encoder
:func:`lmcourse.models.bert.build_bert_encoder`; the position encodings of the first block's
input are in :mod:`lmcourse.models.positions`.

Shapes: ``B`` batch, ``T`` sequence length, ``d`` = ``d_model``, ``H`` heads,
``d_head = d / H``, ``S`` cache length. A block's cache is one ``(B, 2, S, H, d_head)``
tensor (keys at ``[:, 0]``, values at ``[:, 1]``), the layout of keras-hub's
``CachedMultiHeadAttention``.

Everything uses ``keras.layers``/``keras.ops``, so it runs on TensorFlow, JAX and PyTorch.

Example:
    >>> import numpy as np
    >>> block = TransformerBlock(d_model=32, num_heads=4, ff_dim=128)
    >>> x = np.random.default_rng(0).normal(size=(2, 10, 32)).astype("float32")
    >>> tuple(block(x, use_causal_mask=True).shape)          # (B, T, d)
    (2, 10, 32)
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lmcourse._checks import check_heads, check_int, check_rate, clone_initializer, static_dim
from lmcourse.models.attention import causal_bias
from lmcourse.models.multi_head_attention import MultiHeadAttention, copy_weights_from_keras


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
            :meth:`~lmcourse.models.multi_head_attention.MultiHeadAttention.init_cache`).
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
        self.d_model = check_int("d_model", d_model)
        self.num_heads = check_int("num_heads", num_heads)
        self.head_dim = check_heads(self.d_model, self.num_heads)
        self.ff_dim = check_int("ff_dim", ff_dim)
        self.dropout = check_rate("dropout", dropout)
        self.norm_first = bool(norm_first)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        init = lambda: clone_initializer(self.kernel_initializer)  # noqa: E731 - one per sub-layer
        policy = self.dtype_policy
        self.self_attention = MultiHeadAttention(
            self.num_heads,
            key_dim=self.head_dim,
            dropout=self.dropout,
            kernel_initializer=init(),
            dtype=policy,
            name="self_attention",
        )
        self.self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="self_attention_layer_norm"
        )
        self.self_attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="self_attention_dropout"
        )
        self.feedforward_intermediate_dense = keras.layers.Dense(
            self.ff_dim,
            activation=activation,
            kernel_initializer=init(),
            dtype=policy,
            name="feedforward_intermediate_dense",
        )
        self.feedforward_output_dense = keras.layers.Dense(
            self.d_model, kernel_initializer=init(), dtype=policy, name="feedforward_output_dense"
        )
        self.feedforward_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="feedforward_layer_norm"
        )
        self.feedforward_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="feedforward_dropout"
        )

    def build(self, input_shape) -> None:
        shape = tuple(input_shape)
        if len(shape) != 3 or static_dim(shape[-1]) != self.d_model:
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
            got = tuple(static_dim(d) for d in padding_mask.shape)
            batch = static_dim(x.shape[0])
            if (
                len(got) != 2
                or not (got[1] is None or key_len is None or got[1] == key_len)
                or not (got[0] is None or batch is None or got[0] == batch)
            ):
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
        key_len = static_dim(cache.shape[2]) if cache is not None else static_dim(x.shape[1])
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
            x,
            attention_mask=mask,
            attention_bias=bias,
            use_causal_mask=use_causal_mask,
            training=training,
            cache=cache,
            cache_index=cache_index,
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


_BLOCK_PARTS = (
    "self_attention_layer_norm",
    "feedforward_intermediate_dense",
    "feedforward_output_dense",
    "feedforward_layer_norm",
)


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
        raise ValueError(
            "the keras-hub decoder has cross-attention, which TransformerBlock "
            "does not: build it with decoder_sequence only"
        )
    theirs = keras_hub_layer._self_attention_layer
    copy_weights_from_keras(own.self_attention, theirs)
    for part in _BLOCK_PARTS:
        mine, ref = getattr(own, part), getattr(keras_hub_layer, f"_{part}")
        for a, b in zip(mine.weights, ref.weights, strict=True):
            if tuple(a.shape) != tuple(b.shape):
                raise ValueError(
                    f"{part}: weight {a.name} has shape {tuple(a.shape)} here "
                    f"but {tuple(b.shape)} in keras-hub"
                )
            a.assign(b)


__all__ = ["TransformerBlock", "copy_block_weights"]
