"""The argument checks every module uses: one rule per kind of value, one message style.

Each check returns the value in its plain Python type, or raises ``ValueError`` with one line
that says what was expected, what came, and (with ``hint``) how to fix it. NumPy scalars are
accepted wherever a Python number is (``np.int64(3)`` is an int); ``True`` is never a number.

Example:
    >>> check_int("epochs", np.int64(3))
    3
    >>> check_rate("dropout", 0.1)
    0.1
    >>> check_int("epochs", 0, where="fit", hint="train for at least one epoch")
    Traceback (most recent call last):
    ...
    ValueError: fit: epochs must be an int >= 1, got 0: train for at least one epoch
    >>> check_heads(64, 4)
    16
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def _fail(where: str, message: str, hint: str) -> ValueError:
    prefix = f"{where}: " if where else ""
    suffix = f": {hint}" if hint else ""
    return ValueError(f"{prefix}{message}{suffix}")


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for ``bool`` (which Python counts as int)."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def is_number(value: Any) -> bool:
    """True for real numbers (ints, floats, NumPy scalars), False for ``bool``."""
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_))


def check_int(
    name: str, value: Any, low: int = 1, high: int | None = None, *, where: str = "", hint: str = ""
) -> int:
    """``value`` as an int in ``[low, high]`` (``high=None``: no upper bound)."""
    if not is_int(value) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise _fail(where, f"{name} must be an int {bound}, got {value!r}", hint)
    return int(value)


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    where: str = "",
    hint: str = "",
) -> float:
    """``value`` as a finite float within the bounds (``*_open``: the bound itself excluded).

    The message writes the range as an interval, e.g. ``must be a number in (0, 1]``, or as
    ``> 0`` / ``>= 0`` when there is only a lower bound.
    """
    ok = is_number(value) and math.isfinite(float(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if high is None and low is not None:
            bound = f"{'>' if low_open else '>='} {low:g}"
        else:
            left = "-inf" if low is None else f"{low:g}"
            bound = f"in {'(' if low_open or low is None else '['}{left}, {high:g}{')' if high_open else ']'}"
        raise _fail(where, f"{name} must be a number {bound}, got {value!r}", hint)
    return float(value)


def check_rate(name: str, value: Any, *, where: str = "") -> float:
    """A dropout-like fraction in ``[0, 1)``."""
    if not is_number(value) or not 0.0 <= value < 1.0:
        raise _fail(
            where, f"{name} must be in [0, 1), got {value!r}", "a fraction of the units, 0 for none"
        )
    return float(value)


def check_heads(d_model: int, num_heads: int) -> int:
    """The size of one head, ``d_model // num_heads``; an error names the divisors."""
    if d_model % num_heads:
        divisors = ", ".join(str(h) for h in range(1, min(d_model, 16) + 1) if d_model % h == 0)
        raise ValueError(
            f"d_model={d_model} is not divisible by num_heads={num_heads}: each head gets "
            f"d_model / num_heads dimensions; choose num_heads dividing {d_model} (e.g. {divisors})"
        )
    return d_model // num_heads


def static_dim(dim: Any) -> int | None:
    """A tensor dimension as an int, or None where it is unknown (symbolic) until run time."""
    try:
        return None if dim is None else int(dim)
    except TypeError:  # a symbolic dimension
        return None


def static_shape(tensor: Any) -> tuple[int | None, ...]:
    """A tensor's shape as a tuple of ints, None where a dimension is unknown until run time."""
    return tuple(static_dim(d) for d in tensor.shape)


def clone_initializer(initializer: Any) -> Any:
    """A fresh copy of an initializer, so that two layers never share one seeded instance.

    (Not via ``keras.initializers.serialize``, which imports TensorFlow on every backend.)
    """
    return initializer.__class__.from_config(initializer.get_config())
