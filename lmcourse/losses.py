"""Softmax, log-softmax and cross-entropy written out, the way chapter 02 derives them.

A model that predicts one of ``V`` classes (the next character, the next token) outputs a
vector of **logits** ``z``; softmax turns it into probabilities and the loss of the true class
``y`` is its negative log-probability::

    log softmax(z)_j = z_j - log sum_k exp(z_k)
    cross_entropy(y, z) = -log softmax(z)_y          (in nats)

Minimizing the mean cross-entropy over a data set is maximum-likelihood estimation, and its
gradient with respect to the logits is ``softmax(z) - onehot(y)``.

Computing ``exp(z)`` directly overflows for logits around 89 in float32 (``exp(89) > 3.4e38``);
the stable form subtracts the row maximum first, which changes nothing mathematically
(``log sum exp(z) = m + log sum exp(z - m)``) but keeps every ``exp`` in ``[0, 1]``.
:func:`naive_log_softmax` keeps the unstable form so the course can show it failing.

Everything here is written with ``keras.ops`` and runs on every Keras backend; inputs may be
NumPy arrays or backend tensors, and results are backend tensors.

Example:
    >>> import numpy as np
    >>> from lmcourse import losses
    >>> logits = np.array([[2.0, 1.0, 0.1], [1000.0, 0.0, -1000.0]], dtype="float32")
    >>> ce = losses.sparse_cross_entropy(np.array([0, 1]), logits)  # per example, nats
    >>> [round(float(x), 4) for x in ce]
    [0.417, 1000.0]
"""

from __future__ import annotations

from typing import Any

REDUCTIONS = ("none", "mean", "sum")


def _ops():
    from keras import ops

    return ops


def _float_logits(logits: Any) -> Any:
    ops = _ops()
    logits = ops.convert_to_tensor(logits)
    if "float" not in str(logits.dtype):
        logits = ops.cast(logits, "float32")
    return logits


def logsumexp(logits: Any, axis: int = -1, keepdims: bool = False) -> Any:
    """``log(sum(exp(logits)))`` along ``axis``, computed without overflow.

    Args:
        logits: float tensor of any shape, e.g. ``(batch, V)``.
        axis: the axis that is summed over (the classes).
        keepdims: keep ``axis`` as a size-1 dimension.

    Returns:
        The shape of ``logits`` without ``axis`` (or with it as size 1 when ``keepdims``).
    """
    ops = _ops()
    logits = _float_logits(logits)
    m = ops.stop_gradient(ops.max(logits, axis=axis, keepdims=True))
    out = m + ops.log(ops.sum(ops.exp(logits - m), axis=axis, keepdims=True))
    return out if keepdims else ops.squeeze(out, axis=axis)


def log_softmax(logits: Any, axis: int = -1) -> Any:
    """Numerically stable ``log(softmax(logits))``: ``(z - max z) - log sum exp(z - max z)``.

    Args:
        logits: float tensor ``(..., V)`` (or with the classes on ``axis``).
        axis: the class axis.

    Returns:
        Log-probabilities, the same shape as ``logits``; ``exp`` of it sums to 1 along
        ``axis``. Finite for any finite logits (e.g. 1000 or -1000).
    """
    ops = _ops()
    logits = _float_logits(logits)
    # (z - m) - log sum exp(z - m): subtracting the max first keeps the small differences
    # exact, where z - logsumexp(z) would round both terms at the size of the largest logit.
    shifted = logits - ops.stop_gradient(ops.max(logits, axis=axis, keepdims=True))
    return shifted - ops.log(ops.sum(ops.exp(shifted), axis=axis, keepdims=True))


def naive_log_softmax(logits: Any, axis: int = -1) -> Any:
    """``log(exp(z) / sum(exp(z)))`` exactly as written on paper: **unstable, for teaching**.

    For logits above ~88 (float32) ``exp`` overflows to ``inf`` and the result holds ``nan``;
    for very negative logits ``exp`` underflows to 0 and the result holds ``-inf``. Use
    :func:`log_softmax` for real work.

    Args:
        logits: float tensor ``(..., V)``.
        axis: the class axis.

    Returns:
        The same shape as ``logits``.
    """
    ops = _ops()
    e = ops.exp(_float_logits(logits))
    return ops.log(e / ops.sum(e, axis=axis, keepdims=True))


def softmax(logits: Any, axis: int = -1) -> Any:
    """Probabilities ``exp(log_softmax(logits))``: non-negative, summing to 1 along ``axis``."""
    return _ops().exp(log_softmax(logits, axis=axis))


def _check_shapes(labels: Any, logits: Any) -> None:
    ls, zs = tuple(labels.shape), tuple(logits.shape)
    if len(zs) < 1 or ls != zs[:-1]:
        raise ValueError(
            f"labels shape {ls} must equal logits shape {zs} without its last (class) "
            f"axis, i.e. {zs[:-1]}: pass one integer class id per row of logits"
        )


def _reduce(values: Any, reduction: str) -> Any:
    ops = _ops()
    if reduction == "none":
        return values
    if reduction == "mean":
        return ops.mean(values)
    return ops.sum(values)


def sparse_cross_entropy(
    labels: Any, logits: Any, reduction: str = "none", stable: bool = True
) -> Any:
    """Cross-entropy ``-log softmax(logits)[label]`` in nats, from integer labels.

    This is the negative log-likelihood of the observed class under the model; its mean over
    a data set is what maximum-likelihood training minimizes. It equals
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)`` (with
    ``reduction="mean"``) up to float rounding.

    Args:
        labels: integer class ids, shape ``logits.shape[:-1]`` (e.g. ``(batch,)``), each in
            ``[0, V)``.
        logits: float tensor ``(..., V)``, unnormalized scores (not probabilities).
        reduction: ``"none"`` (per example, shape ``labels.shape``), ``"mean"`` or ``"sum"``
            (scalars).
        stable: if False, use :func:`naive_log_softmax` (to show it overflowing).

    Returns:
        Per-example losses of shape ``labels.shape``, or a scalar.

    Raises:
        ValueError: ``labels.shape != logits.shape[:-1]`` (the message names both shapes), or
            an unknown ``reduction``.
    """
    ops = _ops()
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}: choose one of {', '.join(REDUCTIONS)}")
    logits = _float_logits(logits)
    labels = ops.convert_to_tensor(labels)
    _check_shapes(labels, logits)
    if "int" not in str(labels.dtype):
        raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
    logp = (log_softmax if stable else naive_log_softmax)(logits, axis=-1)
    picked = ops.take_along_axis(logp, ops.expand_dims(ops.cast(labels, "int32"), -1), axis=-1)
    return _reduce(-ops.squeeze(picked, axis=-1), reduction)


def cross_entropy_grad(labels: Any, logits: Any) -> Any:
    """The gradient of per-example cross-entropy w.r.t. the logits: ``softmax - onehot``.

    Args:
        labels: integer class ids, shape ``logits.shape[:-1]``.
        logits: float tensor ``(..., V)``.

    Returns:
        The shape of ``logits``. (For the *mean* over ``N`` examples divide by ``N``.)
    """
    ops = _ops()
    logits = _float_logits(logits)
    labels = ops.convert_to_tensor(labels)
    _check_shapes(labels, logits)
    onehot = ops.one_hot(ops.cast(labels, "int32"), logits.shape[-1], dtype=logits.dtype)
    return softmax(logits) - onehot
