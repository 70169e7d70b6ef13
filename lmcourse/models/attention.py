"""Attention from scratch: scaled dot-product attention, masks as biases, heads.

Scaled dot-product attention (Vaswani et al., 2017) mixes the values ``V`` with weights that
say how well each query matches each key:

.. math::
   \\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\!\\left(\\frac{Q K^\\top + B}{\\sqrt{d_k}}\\right) V

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

:func:`split_heads` / :func:`merge_heads` cut vectors into ``H`` heads and join them again;
:func:`expand_to_logits` checks that a bias or mask broadcasts to the logits. The layer that
projects its inputs into heads and attends in each is
:class:`~lmcourse.models.multi_head_attention.MultiHeadAttention`.

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
from typing import Any

from keras import ops

from lmcourse._checks import static_shape

NEG_INF = -1e9
"""The "minus infinity" of the attention logits: finite, so a fully masked row is no NaN."""

_RANK_NAMES = {2: "(Tq, Tk)", 3: "(B, Tq, Tk)", 4: "(B, H, Tq, Tk)"}


# ----------------------------------------------------------------------------- shape checks


def _dim_ok(a: int | None, b: int | None) -> bool:
    return a is None or b is None or a == b


def _check_qkv(q: Any, k: Any, v: Any) -> None:
    qs, ks, vs = static_shape(q), static_shape(k), static_shape(v)
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


def expand_to_logits(name: str, t: Any, logits_shape: tuple) -> Any:
    """Bring a bias/mask to the logits' rank, checking that it broadcasts; else ValueError.

    ``t`` of rank 2 is read as ``(Tq, Tk)``, of rank 3 as ``(B, Tq, Tk)`` (for every head when
    ``logits_shape`` is ``(B, H, Tq, Tk)``), of rank 4 as ``(B, H, Tq, Tk)``; each axis must
    equal the logits' or be 1. ``name`` (``"bias"``, ``"mask"``...) is used in the message.
    """
    rank, target, given = len(t.shape), logits_shape, static_shape(t)
    if rank not in (2, 3, 4) or rank > len(target):
        allowed = " or ".join(_RANK_NAMES[r] for r in range(2, len(target) + 1))
        raise ValueError(
            f"{name} has shape {static_shape(t)} (rank {rank}); for attention logits of shape "
            f"{target} it must be {allowed}, each axis equal to the logits' or 1"
        )
    if rank == 3 and len(target) == 4:  # (B, Tq, Tk) applies to every head
        t = ops.expand_dims(t, 1)
    shape = static_shape(t)
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
        scale = 1.0 / math.sqrt(static_shape(q)[-1])
    logits = ops.matmul(q, ops.swapaxes(k, -1, -2))  # (B,[H,]Tq,d_k) @ (B,[H,]d_k,Tk)
    logits = ops.cast(logits, "float32")
    if bias is not None:
        bias = expand_to_logits("bias", ops.convert_to_tensor(bias), static_shape(logits))
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
    mask = ops.convert_to_tensor(mask)
    mask = ops.cast(expand_to_logits("mask", mask, static_shape(logits)), "bool")
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
            f"padding_bias expects a (B, Tk) mask of real tokens, got shape {static_shape(mask)}"
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
    b, t, d = static_shape(x)
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
    _, h, t, d = static_shape(x)
    return ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (-1, t, h * d))
