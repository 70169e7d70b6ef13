"""Attention from scratch: scaled dot-product attention, masks as biases, multi-head attention.

Scaled dot-product attention (Vaswani et al., 2017) mixes the values ``V`` with weights that
say how well each query matches each key:

.. math::  \\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\!\\left(\\frac{Q K^\\top + B}{\\sqrt{d_k}}\\right) V

``B`` is an optional additive **bias** on the logits (the course's "bias variant"; with
``B = 0`` it is the textbook formula). Masks are such biases: ``B_ij = -inf`` where query
``i`` must not see key ``j`` and 0 elsewhere gives weight exactly 0 to the forbidden keys
(a causal mask, a padding mask); a bias that grows with the distance ``|i - j|`` (ALiBi) is
another. Libraries usually add the bias *after* scaling, ``Q K^T / sqrt(d_k) + B'``; that is
the same family with ``B' = B / sqrt(d_k)`` (and masks do not care: ``-inf`` scaled is
``-inf``).

**Why a large finite negative number instead of -inf.** ``softmax`` of a row whose logits
are all ``-inf`` computes ``exp(-inf - (-inf)) = exp(nan)``: a query with nothing to look at
(a padding row, a batch entry that is all padding) turns the whole output into NaN, and
NaN spreads through every later layer and gradient. :data:`NEG_INF` ``= -1e9`` gives the
same weights wherever some key is allowed (``exp(-1e9)`` is exactly 0 in float32) and
finite, roughly uniform weights where none is. The logits are computed in float32 (also under mixed
precision), where -1e9 is representable; a ``-inf`` in a user's bias is clamped to it.
A boolean ``mask`` additionally zeroes the masked weights after the softmax (as Keras
does), so a fully masked query gets all-zero weights and a zero output.

**Shapes.** ``B`` batch, ``H`` heads, ``Tq``/``Tk`` query/key lengths, ``d_k`` the size of
a query/key vector and ``d_v`` of a value vector.

* ``q (B, [H,] Tq, d_k)``, ``k (B, [H,] Tk, d_k)``, ``v (B, [H,] Tk, d_v)``;
* outputs ``(B, [H,] Tq, d_v)``, weights ``(B, [H,] Tq, Tk)``, each row summing to 1;
* a ``bias`` or ``mask`` of rank 2 is ``(Tq, Tk)``, of rank 3 ``(B, Tq, Tk)`` (as Keras's
  ``attention_mask``; with heads it applies to every head), of rank 4 ``(B, H, Tq, Tk)``;
  any of these axes may be 1 (broadcast).

:class:`MultiHeadAttention` projects its inputs into ``H`` heads, runs the attention in
each, and projects the concatenation back. Its weights have the layout of
``keras.layers.MultiHeadAttention`` (query/key/value kernels ``(d_in, H, d_head)``, output
kernel ``(H, d_v, d_out)``), so :func:`copy_weights_from_keras` makes the two compute the
same function, which the tests check to 1e-5. It also takes a key/value **cache** for
generation one token at a time (chapter 06).

Everything here uses ``keras.ops`` and ``keras.layers`` only, so it runs on every Keras
backend (TensorFlow, JAX, PyTorch).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=(2, 5, 8)).astype("float32")   # (B, Tq, d_k)
    >>> out, w = scaled_dot_product_attention(q, q, q, bias=causal_bias(5))
    >>> tuple(out.shape), tuple(w.shape)
    ((2, 5, 8), (2, 5, 5))
    >>> float(np.asarray(w)[0, 0, 1])                      # the first token cannot see the second
    0.0
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
from keras import ops

NEG_INF = -1e9
"""The "minus infinity" of the attention logits: finite, so a fully masked row is no NaN."""

_RANK_NAMES = {2: "(Tq, Tk)", 3: "(B, Tq, Tk)", 4: "(B, H, Tq, Tk)"}


# ----------------------------------------------------------------------------- shape checks


def _shape(t: Any) -> tuple:
    """The static shape, ``None`` where unknown (a symbolic batch axis)."""
    return tuple(None if d is None else int(d) for d in t.shape)


def _dim_ok(a: int | None, b: int | None) -> bool:
    return a is None or b is None or a == b


def _check_qkv(q: Any, k: Any, v: Any) -> None:
    qs, ks, vs = _shape(q), _shape(k), _shape(v)
    if not len(qs) == len(ks) == len(vs) or len(qs) not in (3, 4):
        raise ValueError(
            f"q, k and v must all be (B, Tq, d_k)/(B, Tk, d_k)/(B, Tk, d_v) or the same with a "
            f"heads axis (B, H, T, d); got q {qs}, k {ks}, v {vs}"
        )
    if not _dim_ok(qs[-1], ks[-1]):
        raise ValueError(
            f"query and key vectors must have the same size d_k to take dot products: "
            f"q has d_k={qs[-1]} (shape {qs}) but k has d_k={ks[-1]} (shape {ks})"
        )
    if not _dim_ok(ks[-2], vs[-2]):
        raise ValueError(
            f"key and value must have one vector per position: k has Tk={ks[-2]} positions "
            f"(shape {ks}) but v has {vs[-2]} (shape {vs})"
        )
    for axis, name in zip(range(len(qs) - 2), ("batch B", "heads H"), strict=False):
        if not (_dim_ok(qs[axis], ks[axis]) and _dim_ok(ks[axis], vs[axis])):
            raise ValueError(
                f"q, k and v must agree on axis {axis} ({name}): got q {qs}, k {ks}, v {vs}"
            )


def _expand_to_logits(name: str, t: Any, logits_shape: tuple) -> Any:
    """Bring a bias/mask to the logits' rank, checking that it broadcasts; else ValueError."""
    rank, target, given = len(t.shape), logits_shape, _shape(t)
    if rank not in (2, 3, 4) or rank > len(target):
        allowed = " or ".join(_RANK_NAMES[r] for r in range(2, len(target) + 1))
        raise ValueError(
            f"{name} has shape {_shape(t)} (rank {rank}); for attention logits of shape "
            f"{target} it must be {allowed}, each axis equal to the logits' or 1"
        )
    if rank == 3 and len(target) == 4:  # (B, Tq, Tk) applies to every head
        t = ops.expand_dims(t, 1)
    shape = _shape(t)
    shape = (1,) * (len(target) - len(shape)) + shape
    for got, want in zip(shape, target, strict=True):
        if got is not None and want is not None and got not in (1, want):
            names = ("B", "H", "Tq", "Tk") if len(target) == 4 else ("B", "Tq", "Tk")
            dims = ", ".join(f"{n}={w}" for n, w in zip(names, target, strict=True))
            raise ValueError(
                f"{name} of shape {given} does not broadcast to the attention logits "
                f"{target} ({dims}): read as {_RANK_NAMES[rank]}, every axis must equal the "
                f"logits' axis or be 1"
            )
    return t


# ------------------------------------------------------------------- scaled dot-product


def attention_logits(q: Any, k: Any, bias: Any = None, scale: float | None = None) -> Any:
    """The attention logits ``(q k^T + bias) * scale`` in float32.

    Args:
        q: queries ``(B, [H,] Tq, d_k)``.
        k: keys ``(B, [H,] Tk, d_k)``.
        bias: additive bias broadcastable to ``(B, [H,] Tq, Tk)`` (see the module
            docstring), e.g. :func:`causal_bias`, :func:`padding_bias`, :func:`alibi_bias`
            or a sum of them. ``-inf`` entries are clamped to :data:`NEG_INF`.
        scale: multiplies the logits; default ``1 / sqrt(d_k)``.

    Returns:
        ``(B, [H,] Tq, Tk)`` float32.
    """
    q, k = ops.convert_to_tensor(q), ops.convert_to_tensor(k)
    _check_qkv(q, k, k)
    if scale is None:
        scale = 1.0 / math.sqrt(_shape(q)[-1])
    logits = ops.matmul(q, ops.swapaxes(k, -1, -2))  # (B,[H,]Tq,d_k) @ (B,[H,]d_k,Tk)
    logits = ops.cast(logits, "float32")
    if bias is not None:
        bias = _expand_to_logits("bias", ops.convert_to_tensor(bias), _shape(logits))
        logits = logits + ops.maximum(ops.cast(bias, "float32"), NEG_INF)
    return logits * scale


def attention_weights(
    q: Any, k: Any, bias: Any = None, mask: Any = None, scale: float | None = None
) -> Any:
    """The attention weights ``softmax((q k^T + bias) * scale)``, masked, in float32.

    Args:
        q: queries ``(B, [H,] Tq, d_k)``.
        k: keys ``(B, [H,] Tk, d_k)``.
        bias: additive bias broadcastable to ``(B, [H,] Tq, Tk)``.
        mask: boolean, broadcastable to ``(B, [H,] Tq, Tk)``; ``True`` = may attend (the
            convention of ``keras.layers.MultiHeadAttention``). Masked weights are exactly 0;
            a row with no allowed key is all zeros.
        scale: default ``1 / sqrt(d_k)``.

    Returns:
        ``(B, [H,] Tq, Tk)`` float32; every row with an allowed key sums to 1.
    """
    logits = attention_logits(q, k, bias=bias, scale=scale)
    if mask is None:
        return ops.softmax(logits, axis=-1)
    mask = ops.cast(_expand_to_logits("mask", ops.convert_to_tensor(mask), _shape(logits)), "bool")
    weights = ops.softmax(ops.where(mask, logits, NEG_INF), axis=-1)
    return ops.where(mask, weights, 0.0)


def scaled_dot_product_attention(
    q: Any, k: Any, v: Any, bias: Any = None, mask: Any = None, scale: float | None = None
) -> tuple[Any, Any]:
    """``softmax((q k^T + bias) / sqrt(d_k)) v``: every query's weighted average of the values.

    Args:
        q: queries ``(B, [H,] Tq, d_k)``.
        k: keys ``(B, [H,] Tk, d_k)``.
        v: values ``(B, [H,] Tk, d_v)``.
        bias: additive bias on the logits, broadcastable to ``(B, [H,] Tq, Tk)``; rank 2 is
            ``(Tq, Tk)``, rank 3 ``(B, Tq, Tk)``, rank 4 ``(B, H, Tq, Tk)``.
        mask: boolean, same shapes as ``bias``; ``True`` = may attend.
        scale: multiplies ``q k^T + bias``; default ``1 / sqrt(d_k)``.

    Returns:
        ``(outputs, weights)``: outputs ``(B, [H,] Tq, d_v)`` in ``v``'s dtype and weights
        ``(B, [H,] Tq, Tk)`` in float32.

    Raises:
        ValueError: ``q`` and ``k`` differ in ``d_k``, ``k`` and ``v`` in ``Tk``, the ranks or
            batch/head axes disagree, or a bias/mask does not broadcast to the logits; the
            message names the shapes.

    Example:
        >>> import numpy as np
        >>> q = np.eye(3, 4, dtype="float32")[None] * 10      # (1, 3, 4): three sharp queries
        >>> v = np.arange(6, dtype="float32").reshape(1, 3, 2)
        >>> out, w = scaled_dot_product_attention(q, q, v)
        >>> np.round(np.asarray(w)[0], 2).tolist()              # each query finds its own key
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    q, k, v = (ops.convert_to_tensor(x) for x in (q, k, v))
    _check_qkv(q, k, v)
    weights = attention_weights(q, k, bias=bias, mask=mask, scale=scale)
    outputs = ops.matmul(ops.cast(weights, v.dtype), v)  # (B,[H,]Tq,Tk) @ (B,[H,]Tk,d_v)
    return outputs, weights


# ------------------------------------------------------------------------- masks as biases


def mask_to_bias(mask: Any) -> Any:
    """A boolean mask (``True`` = may attend) as an additive bias: 0 where True, NEG_INF else."""
    return ops.where(ops.cast(ops.convert_to_tensor(mask), "bool"), 0.0, NEG_INF)


def _positions(query_len: int, key_len: int | None, offset: Any) -> tuple[Any, Any, int]:
    key_len = query_len if key_len is None else key_len
    for name, n in (("query_len", query_len), ("key_len", key_len)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be an int >= 1, got {n!r}")
    i = ops.expand_dims(ops.arange(query_len, dtype="int32") + ops.cast(offset, "int32"), 1)
    j = ops.expand_dims(ops.arange(key_len, dtype="int32"), 0)
    return i, j, key_len  # query positions (Tq, 1), key positions (1, Tk)


def causal_mask(query_len: int, key_len: int | None = None, offset: Any = 0) -> Any:
    """Boolean ``(Tq, Tk)``: query ``i`` (at position ``offset + i``) may see keys ``j <= offset + i``.

    With ``offset = 0`` and ``Tq = Tk`` this is the lower triangle (``keras``'s
    ``use_causal_mask``). With a key/value cache, the new queries start at ``offset`` (the
    cache index); ``offset`` may be a tensor.
    """
    i, j, _ = _positions(query_len, key_len, offset)
    return ops.greater_equal(i, j)


def causal_bias(query_len: int, key_len: int | None = None, offset: Any = 0) -> Any:
    """The causal mask as an additive bias ``(Tq, Tk)``: 0 on and below the diagonal, NEG_INF above.

    Example:
        >>> import numpy as np
        >>> (np.asarray(causal_bias(3)) < 0).astype(int).tolist()
        [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    """
    return mask_to_bias(causal_mask(query_len, key_len, offset))


def padding_bias(mask: Any) -> Any:
    """A padding bias from a ``(B, Tk)`` mask of real tokens (``True``/1 = token, ``False``/0 = pad).

    Returns:
        ``(B, 1, Tk)`` float32: 0 for real tokens, NEG_INF for padding, for every query. It
        broadcasts to ``(B, Tq, Tk)`` and (as rank 3) to every head.

    Raises:
        ValueError: ``mask`` is not 2-D.
    """
    mask = ops.convert_to_tensor(mask)
    if len(mask.shape) != 2:
        raise ValueError(
            f"padding_bias expects a (B, Tk) mask of real tokens, got shape {_shape(mask)}"
        )
    return ops.expand_dims(mask_to_bias(mask), 1)


def alibi_slopes(num_heads: int) -> Any:
    """ALiBi's per-head slopes ``m_h = 2^(-8 h / H)`` for ``h = 1..H``: a geometric sequence.

    Head 1 (``m = 2^(-8/H)``) is the most local, head ``H`` (``m = 1/256``) the most global.
    """
    if not isinstance(num_heads, int) or isinstance(num_heads, bool) or num_heads < 1:
        raise ValueError(f"num_heads must be an int >= 1, got {num_heads!r}")
    h = ops.arange(1, num_heads + 1, dtype="float32")
    return ops.power(2.0, -8.0 * h / num_heads)


def alibi_bias(num_heads: int, query_len: int, key_len: int | None = None, offset: Any = 0) -> Any:
    """ALiBi (Press et al., 2022): a relative-position bias ``-m_h |i - j|``, one slope per head.

    No position embeddings needed: attention to a key fades linearly (in the logits) with its
    distance, at a different rate in each head. Combine with :func:`causal_bias` for a
    decoder. Here the bias is added before the ``1/sqrt(d_k)`` scaling (the course's
    formula), so its slope on the scaled logits is ``m_h / sqrt(d_k)``; multiply it by
    ``sqrt(d_k)`` for the paper's exact slopes.

    Args:
        num_heads: ``H``.
        query_len: ``Tq``.
        key_len: ``Tk`` (default ``Tq``).
        offset: the position of the first query (a cache index).

    Returns:
        ``(1, H, Tq, Tk)`` float32, 0 on the diagonal and negative elsewhere.

    Example:
        >>> import numpy as np
        >>> np.asarray(alibi_bias(2, 3))[0, 0].tolist()       # head 1: slope 2^-4
        [[0.0, -0.0625, -0.125], [-0.0625, 0.0, -0.0625], [-0.125, -0.0625, 0.0]]
    """
    i, j, _ = _positions(query_len, key_len, offset)
    distance = ops.cast(ops.abs(i - j), "float32")  # (Tq, Tk)
    slopes = ops.reshape(alibi_slopes(num_heads), (1, num_heads, 1, 1))
    return 0.0 - slopes * distance[None, None]  # 0.0 - x, not -x: no -0.0 on the diagonal


# ----------------------------------------------------------------------------- heads


def split_heads(x: Any, num_heads: int) -> Any:
    """``(B, T, H * d) -> (B, H, T, d)``: cut each vector into ``H`` pieces, one per head.

    Raises:
        ValueError: the last axis is not divisible by ``num_heads`` (names both sizes).
    """
    x = ops.convert_to_tensor(x)
    b, t, d = _shape(x)
    if d % num_heads:
        raise ValueError(
            f"cannot split a vector of size {d} into num_heads={num_heads} equal heads: "
            f"{d} is not divisible by {num_heads} (choose num_heads dividing {d})"
        )
    x = ops.reshape(x, (-1, t, num_heads, d // num_heads))
    return ops.transpose(x, (0, 2, 1, 3))


def merge_heads(x: Any) -> Any:
    """``(B, H, T, d) -> (B, T, H * d)``: concatenate the heads again."""
    x = ops.convert_to_tensor(x)
    _, h, t, d = _shape(x)
    return ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (-1, t, h * d))


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
            :func:`scaled_dot_product_attention`, e.g. :func:`alibi_bias`.
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
        for name, value, low in (("num_heads", num_heads, 1), ("key_dim", key_dim, 1),
                                 ("value_dim", value_dim, 1), ("output_dim", output_dim, 1)):
            if value is None and name != "num_heads":
                continue
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        as_int = lambda n: None if n is None else int(n)  # noqa: E731
        num_heads, key_dim, value_dim, output_dim = map(as_int, (num_heads, key_dim, value_dim, output_dim))
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
        return (self._project(key, self.key_kernel, self.key_bias),
                self._project(value, self.value_kernel, self.value_bias))

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
        return ops.zeros((batch_size, 2, max_length, self.num_heads, self.key_dim),
                         dtype=dtype or self.compute_dtype)

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
        shape = _shape(cache)
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
            cache = ops.slice_update(cache, [0, 1, cache_index, 0, 0],
                                     ops.cast(as_cache(v), cache.dtype))
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
        tq, tk = _shape(q)[2], _shape(k)[2]
        mask = None
        if attention_mask is not None:
            mask = ops.cast(_expand_to_logits(
                "attention_mask", ops.convert_to_tensor(attention_mask),
                (_shape(q)[0], self.num_heads, tq, tk)), "bool")
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
    dense = {"query": keras_mha.query_dense, "key": keras_mha.key_dense,
             "value": keras_mha.value_dense, "output": keras_mha.output_dense}
    return {p: (d.kernel, getattr(d, "bias", None)) for p, d in dense.items()}


def _check_pair(own: MultiHeadAttention, keras_mha: Any) -> dict:
    if not (own.built and keras_mha.built):
        raise ValueError("both layers must be built before copying weights: call each once")
    sizes = {"num_heads": (own.num_heads, keras_mha.num_heads),
             "key_dim": (own.key_dim, keras_mha.key_dim),
             "value_dim": (own.value_dim, keras_mha.value_dim),
             "use_bias": (own.use_bias, keras_mha.use_bias)}
    bad = {n: ab for n, ab in sizes.items() if ab[0] != ab[1]}
    if bad:
        text = ", ".join(f"{n} {a} vs {b}" for n, (a, b) in bad.items())
        raise ValueError(f"the layers differ (own vs keras): {text}; build them with the same sizes")
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
