"""Multi-head attention from scratch, weight-compatible with ``keras.layers.MultiHeadAttention``.

:class:`MultiHeadAttention` projects its inputs into ``H`` heads, runs the scaled dot-product
attention of :mod:`lmcourse.models.attention` in each, and projects the concatenation back.
Its weights have the layout of ``keras.layers.MultiHeadAttention`` (query/key/value kernels
``(d_in, H, d_head)``, output kernel ``(H, d_v, d_out)``), so :func:`copy_weights_from_keras`
and :func:`copy_weights_to_keras` make the two compute the same function, which the tests
check to 1e-5. It also takes a key/value **cache** ``(B, 2, S, H, d_head)`` for generation
one token at a time (chapter 06).

Shapes: ``B`` batch, ``H`` heads, ``Tq``/``Tk`` query/key lengths, ``d_head`` the size of one
head's vectors, ``S`` the cache length.

Everything here uses ``keras.ops`` and ``keras.layers`` only, so it runs on every Keras
backend (TensorFlow, JAX, PyTorch).

Example:
    >>> import numpy as np
    >>> mha = MultiHeadAttention(num_heads=2)
    >>> x = np.ones((1, 3, 8), "float32")
    >>> tuple(mha(x, use_causal_mask=True).shape)
    (1, 3, 8)
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lmcourse._checks import check_int, check_rate, static_shape
from lmcourse.models.attention import attention_weights, causal_mask, expand_to_logits

# -------------------------------------------------------------------- multi-head attention


@keras.saving.register_keras_serializable(package="lmcourse")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention from scratch, weight-compatible with ``keras.layers.MultiHeadAttention``.

    For each head ``h``: ``Q_h = x_q W^Q_h + b^Q_h``, ``K_h = x_k W^K_h + b^K_h``,
    ``V_h = x_v W^V_h + b^V_h``; ``O_h = softmax((Q_h K_h^T + bias) / sqrt(d_k)) V_h``;
    the output is ``sum_h O_h W^O_h + b^O`` (= the concatenated heads times one matrix).

    Args:
        num_heads: ``H``, the number of heads.
        key_dim: ``d_k``, the size of each head's query/key vectors. ``None``: the query's
            last dimension divided by ``num_heads`` (the Transformer's ``d_model / H``),
            which must divide evenly.
        value_dim: ``d_v``, each head's value size; ``None``: ``key_dim``.
        use_bias: whether the four projections have biases.
        dropout: dropout rate on the attention weights (training only).
        output_dim: size of the output vectors; ``None``: the query's last dimension.
            (``keras.layers.MultiHeadAttention`` calls it ``output_shape``.)
        kernel_initializer: initializer of the four kernels.
        bias_initializer: initializer of the four biases.
        seed: seed of the dropout.
        **kwargs: ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        query: ``(B, Tq, d_q)``.
        value: ``(B, Tk, d_v_in)``; ``None``: ``query`` (self-attention).
        key: ``(B, Tk, d_k_in)``; ``None``: ``value``.
        attention_mask: boolean ``(B, Tq, Tk)`` (or broadcastable, e.g. ``(B, 1, Tk)``),
            ``True`` = may attend, as in Keras.
        attention_bias: additive bias on the logits, rank 2/3/4 as in
            :func:`~lmcourse.models.attention.scaled_dot_product_attention`, e.g.
            :func:`~lmcourse.models.attention.alibi_bias`.
        use_causal_mask: forbid attending to later positions.
        return_attention_scores: also return the weights ``(B, H, Tq, Tk)``.
        training: apply dropout.
        cache: ``(B, 2, S, H, d_head)`` keys (``[:, 0]``) and values (``[:, 1]``) of earlier
            positions, the layout of ``keras_hub.layers.CachedMultiHeadAttention`` (needs
            ``key_dim == value_dim``); :meth:`init_cache` makes an empty one.
        cache_index: where the new positions go in the cache (an int or a scalar tensor).
            The projections of ``key``/``value`` are written at ``cache[:, :, cache_index:]``
            and attention runs over the whole cache, so combine it with ``use_causal_mask``
            (which then lets query ``i`` see cache positions ``<= cache_index + i``, hiding
            the unwritten rest). ``None`` with a cache: use the cache as given (precomputed
            keys/values, e.g. for cross-attention) and ignore ``key``/``value``.

    Returns:
        ``(B, Tq, d_out)``; with ``return_attention_scores`` a tuple ``(outputs, weights)``;
        with a ``cache`` a tuple ending in the updated cache.

    Raises:
        ValueError: ``key_dim=None`` and ``num_heads`` does not divide the query size, a mask
            or bias that does not broadcast to ``(B, H, Tq, Tk)``, a cache of the wrong shape
            (messages name the sizes).

    Example:
        >>> import numpy as np
        >>> mha = MultiHeadAttention(num_heads=4)                 # key_dim = 32 / 4
        >>> x = np.random.default_rng(0).normal(size=(2, 6, 32)).astype("float32")
        >>> y, w = mha(x, use_causal_mask=True, return_attention_scores=True)
        >>> tuple(y.shape), tuple(w.shape), mha.key_dim
        ((2, 6, 32), (2, 4, 6, 6), 8)
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int | None = None,
        value_dim: int | None = None,
        use_bias: bool = True,
        dropout: float = 0.0,
        output_dim: int | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        for name, value, low in (
            ("num_heads", num_heads, 1),
            ("key_dim", key_dim, 1),
            ("value_dim", value_dim, 1),
            ("output_dim", output_dim, 1),
        ):
            if value is None and name != "num_heads":
                continue
            check_int(name, value, low)
        check_rate("dropout", dropout)
        as_int = lambda n: None if n is None else int(n)  # noqa: E731
        num_heads, key_dim, value_dim, output_dim = map(
            as_int, (num_heads, key_dim, value_dim, output_dim)
        )
        self.num_heads = num_heads
        self._key_dim_arg, self._value_dim_arg = key_dim, value_dim
        self.key_dim, self.value_dim = key_dim, value_dim or key_dim
        self.use_bias = use_bias
        self.dropout = float(dropout)
        self.output_dim = output_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.dropout_layer = keras.layers.Dropout(self.dropout, seed=seed)

    # -- weights -------------------------------------------------------------------------

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"{name} must have shape (batch, length, features) with a known feature "
                    f"size, got {tuple(shape)}"
                )
        d_q, d_k_in, d_v_in = int(query_shape[-1]), int(key_shape[-1]), int(value_shape[-1])
        h = self.num_heads
        if self._key_dim_arg is None:
            if d_q % h:
                raise ValueError(
                    f"key_dim=None splits the query size {d_q} into num_heads={h} heads, but "
                    f"{d_q} is not divisible by {h}: choose num_heads dividing {d_q} or pass key_dim"
                )
            self.key_dim = d_q // h
        self.value_dim = self._value_dim_arg or self.key_dim
        d_out = self.output_dim or d_q
        self.query_kernel = self._kernel("query_kernel", (d_q, h, self.key_dim))
        self.query_bias = self._bias("query_bias", (h, self.key_dim))
        self.key_kernel = self._kernel("key_kernel", (d_k_in, h, self.key_dim))
        self.key_bias = self._bias("key_bias", (h, self.key_dim))
        self.value_kernel = self._kernel("value_kernel", (d_v_in, h, self.value_dim))
        self.value_bias = self._bias("value_bias", (h, self.value_dim))
        self.output_kernel = self._kernel("output_kernel", (h, self.value_dim, d_out))
        self.output_bias = self._bias("output_bias", (d_out,))
        self.built = True

    def _kernel(self, name, shape):
        return self.add_weight(name=name, shape=shape, initializer=self.kernel_initializer)

    def _bias(self, name, shape):
        if not self.use_bias:
            return None
        return self.add_weight(name=name, shape=shape, initializer=self.bias_initializer)

    # -- the pieces (public, so a Transformer block or a cache can reuse them) ----------------

    def _project(self, x, kernel, bias):
        y = ops.einsum("btd,dhk->bhtk", x, kernel)  # (B, T, d_in) x (d_in, H, d) -> (B, H, T, d)
        if bias is not None:
            y = y + ops.expand_dims(bias, 1)  # (H, d) -> (H, 1, d)
        return y

    def project_query(self, query: Any) -> Any:
        """``(B, Tq, d_q) -> (B, H, Tq, key_dim)``: the queries of every head."""
        return self._project(query, self.query_kernel, self.query_bias)

    def project_key_value(self, key: Any, value: Any) -> tuple[Any, Any]:
        """``(B, Tk, d) -> (B, H, Tk, key_dim), (B, H, Tk, value_dim)``: keys and values per head."""
        return (
            self._project(key, self.key_kernel, self.key_bias),
            self._project(value, self.value_kernel, self.value_bias),
        )

    def combine_heads(self, heads: Any) -> Any:
        """``(B, H, Tq, value_dim) -> (B, Tq, d_out)``: the output projection of all heads."""
        y = ops.einsum("bhtv,hvo->bto", heads, self.output_kernel)
        return y if self.output_bias is None else y + self.output_bias

    def attend(self, q, k, v, attention_mask=None, attention_bias=None, training=None):
        """Attention of projected heads: ``q (B,H,Tq,d_k)``, ``k (B,H,Tk,d_k)``, ``v (B,H,Tk,d_v)``.

        Returns ``(heads (B, H, Tq, d_v), weights (B, H, Tq, Tk))``; dropout (when training)
        is applied to the weights that mix the values, the returned weights are before it.
        """
        weights = attention_weights(q, k, bias=attention_bias, mask=attention_mask)
        dropped = self.dropout_layer(weights, training=training) if self.dropout else weights
        return ops.matmul(ops.cast(dropped, v.dtype), v), weights

    def init_cache(self, batch_size: int, max_length: int, dtype: str | None = None) -> Any:
        """An empty key/value cache ``(B, 2, max_length, H, d_head)`` for :meth:`call`."""
        self._check_cacheable()
        return ops.zeros(
            (batch_size, 2, max_length, self.num_heads, self.key_dim),
            dtype=dtype or self.compute_dtype,
        )

    def _check_cacheable(self):
        if not self.built:
            raise ValueError("build the layer (call it once) before making a cache")
        if self.key_dim != self.value_dim:
            raise ValueError(
                f"a key/value cache stores keys and values in one tensor, so key_dim ({self.key_dim})"
                f" must equal value_dim ({self.value_dim})"
            )

    def _use_cache(self, cache, k, v, cache_index):
        self._check_cacheable()
        want = (self.num_heads, self.key_dim)
        shape = static_shape(cache)
        if len(shape) != 5 or shape[1] != 2 or tuple(shape[3:]) != want:
            raise ValueError(
                f"cache must have shape (B, 2, S, num_heads={want[0]}, key_dim={want[1]}), "
                f"got {shape}"
            )
        if cache_index is None:  # precomputed keys/values
            k, v = cache[:, 0], cache[:, 1]
        else:
            as_cache = lambda t: ops.expand_dims(ops.transpose(t, (0, 2, 1, 3)), 1)  # noqa: E731
            start = [0, 0, cache_index, 0, 0]
            cache = ops.slice_update(cache, start, ops.cast(as_cache(k), cache.dtype))
            cache = ops.slice_update(
                cache, [0, 1, cache_index, 0, 0], ops.cast(as_cache(v), cache.dtype)
            )
            k, v = cache[:, 0], cache[:, 1]
        # (B, S, H, d) -> (B, H, S, d)
        return ops.transpose(k, (0, 2, 1, 3)), ops.transpose(v, (0, 2, 1, 3)), cache

    # -- call -------------------------------------------------------------------------------

    def call(
        self,
        query,
        value=None,
        key=None,
        attention_mask=None,
        attention_bias=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
        cache=None,
        cache_index=None,
    ):
        value = query if value is None else value
        key = value if key is None else key
        q = self.project_query(query)  # (B, H, Tq, d_k)
        k, v = self.project_key_value(key, value)  # (B, H, Tk, d_k), (B, H, Tk, d_v)
        offset = 0
        if cache is not None:
            k, v, cache = self._use_cache(cache, k, v, cache_index)  # Tk = S, the cache length
            offset = 0 if cache_index is None else cache_index
        tq, tk = static_shape(q)[2], static_shape(k)[2]
        mask = None
        if attention_mask is not None:
            mask = ops.cast(
                expand_to_logits(
                    "attention_mask",
                    ops.convert_to_tensor(attention_mask),
                    (static_shape(q)[0], self.num_heads, tq, tk),
                ),
                "bool",
            )
        if use_causal_mask:
            causal = causal_mask(tq, tk, offset)  # (Tq, Tk)
            mask = causal if mask is None else ops.logical_and(mask, causal)
        heads, weights = self.attend(q, k, v, mask, attention_bias, training=training)
        outputs = self.combine_heads(heads)  # (B, Tq, d_out)
        result = (outputs, weights) if return_attention_scores else (outputs,)
        if cache is not None:
            result += (cache,)
        return result if len(result) > 1 else outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            key_dim=self._key_dim_arg,
            value_dim=self._value_dim_arg,
            use_bias=self.use_bias,
            dropout=self.dropout,
            output_dim=self.output_dim,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            seed=self.seed,
        )
        return config


# ----------------------------------------------------------------- weights to/from Keras

_PARTS = ("query", "key", "value", "output")


def _keras_parts(keras_mha):
    dense = {
        "query": keras_mha.query_dense,
        "key": keras_mha.key_dense,
        "value": keras_mha.value_dense,
        "output": keras_mha.output_dense,
    }
    return {p: (d.kernel, getattr(d, "bias", None)) for p, d in dense.items()}


def _check_pair(own: MultiHeadAttention, keras_mha: Any) -> dict:
    if not (own.built and keras_mha.built):
        raise ValueError("both layers must be built before copying weights: call each once")
    sizes = {
        "num_heads": (own.num_heads, keras_mha.num_heads),
        "key_dim": (own.key_dim, keras_mha.key_dim),
        "value_dim": (own.value_dim, keras_mha.value_dim),
        "use_bias": (own.use_bias, keras_mha.use_bias),
    }
    bad = {n: ab for n, ab in sizes.items() if ab[0] != ab[1]}
    if bad:
        text = ", ".join(f"{n} {a} vs {b}" for n, (a, b) in bad.items())
        raise ValueError(
            f"the layers differ (own vs keras): {text}; build them with the same sizes"
        )
    theirs = _keras_parts(keras_mha)
    for part in _PARTS:
        mine = getattr(own, f"{part}_kernel")
        if tuple(mine.shape) != tuple(theirs[part][0].shape):
            raise ValueError(
                f"{part} kernels differ in shape: own {tuple(mine.shape)} vs keras "
                f"{tuple(theirs[part][0].shape)} (were they called on inputs of the same size?)"
            )
    return theirs


def copy_weights_from_keras(own: MultiHeadAttention, keras_mha: Any) -> MultiHeadAttention:
    """Give ``own`` the weights of a built ``keras.layers.MultiHeadAttention``; returns ``own``.

    Raises:
        ValueError: a layer is not built, or the sizes differ (named in the message).
    """
    for part, (kernel, bias) in _check_pair(own, keras_mha).items():
        getattr(own, f"{part}_kernel").assign(kernel)
        if bias is not None:
            getattr(own, f"{part}_bias").assign(bias)
    return own


def copy_weights_to_keras(own: MultiHeadAttention, keras_mha: Any) -> Any:
    """Give a built ``keras.layers.MultiHeadAttention`` the weights of ``own``; returns it."""
    for part, (kernel, bias) in _check_pair(own, keras_mha).items():
        kernel.assign(getattr(own, f"{part}_kernel"))
        if bias is not None:
            bias.assign(getattr(own, f"{part}_bias"))
    return keras_mha
