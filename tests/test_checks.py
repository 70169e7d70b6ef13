"""The one set of argument checks (lmcourse/_checks.py) and that the package uses it."""

import re
from pathlib import Path

import numpy as np
import pytest

from lmcourse import _checks
from lmcourse._checks import check_heads, check_int, check_number, check_rate, static_dim

PACKAGE = Path(_checks.__file__).parent


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_every_integer_type_is_an_int(value):
    assert check_int("n", value) == 3 and type(check_int("n", value)) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, "3", None, 0])
def test_bools_floats_strings_and_out_of_range_are_not(value):
    with pytest.raises(ValueError, match=r"^n must be an int >= 1, got "):
        check_int("n", value)


def test_messages_are_one_line_with_where_and_the_fix():
    with pytest.raises(ValueError) as e:
        check_int("parts", 11, 1, 10, where="EpochSlices", hint="at most the number of batches")
    assert (
        str(e.value)
        == "EpochSlices: parts must be an int from 1 to 10, got 11: at most the number of batches"
    )
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "kwargs, value, ok",
    [
        ({"low": 0, "low_open": True}, 1e-9, True),
        ({"low": 0, "low_open": True}, 0.0, False),
        ({"low": 0}, 0, True),
        ({"low": 0, "high": 1, "low_open": True}, 1.0, True),
        ({"low": 0, "high": 1, "high_open": True}, 1.0, False),
        ({"low": 0}, float("nan"), False),
        ({"low": 0}, float("inf"), False),
        ({"low": 0}, np.float32(0.5), True),
        ({"low": 0}, True, False),
    ],
)
def test_check_number_bounds(kwargs, value, ok):
    if ok:
        assert check_number("x", value, **kwargs) == pytest.approx(float(value))
    else:
        with pytest.raises(ValueError, match=r"^x must be a number (>|>=|in) "):
            check_number("x", value, **kwargs)


def test_interval_messages():
    with pytest.raises(ValueError, match=r"x must be a number in \(0, 1\], got 2"):
        check_number("x", 2, low=0, high=1, low_open=True)
    with pytest.raises(ValueError, match=r"x must be a number > 0, got -1"):
        check_number("x", -1, low=0, low_open=True)


def test_rates_heads_and_static_dims():
    assert check_rate("dropout", 0) == 0.0
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.0: a fraction"):
        check_rate("dropout", 1.0)
    assert check_heads(384, 12) == 32
    with pytest.raises(
        ValueError, match=r"d_model=10 is not divisible by num_heads=3.*\(e.g. 1, 2, 5, 10\)"
    ):
        check_heads(10, 3)
    assert static_dim(None) is None and static_dim(np.int64(7)) == 7


HAND_WRITTEN = re.compile(r"isinstance\([^)]*, bool\) or not isinstance")


def test_no_module_writes_its_own_number_check():
    """One rule for what an int is: the modules call _checks instead of repeating it."""
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "_checks.py" and HAND_WRITTEN.search(p.read_text())
    ]
    assert not offenders, f"hand-written int/number checks in {offenders}: use lmcourse._checks"


def test_no_module_imports_another_modules_private_helpers():
    offenders = []
    for p in PACKAGE.rglob("*.py"):
        for m in re.finditer(r"from lmcourse[\w.]* import (\([^)]*\)|[^\n]*)", p.read_text()):
            names = re.findall(r"\b\w+\b", m.group(1))
            if any(n.startswith("_") and not n.startswith("__") for n in names):
                offenders.append(f"{p.name}: {m.group(0)}")
    assert not offenders, f"imports of private helpers: {offenders}"
