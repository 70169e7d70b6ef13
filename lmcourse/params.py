"""What a chapter parameter accepts, the profiles, and the chapter record. Imports nothing
from the package, so every module can import it.

``Param`` checks one value and raises :class:`ConfigError` with a one-line message that names
the valid choices; ``Chapter`` is one entry of the table of contents (``lmcourse.chapters``);
``lmcourse.config`` resolves a chapter's settings from these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROFILES = ("smoke", "standard", "full")
PROFILE_HELP = {
    "smoke": "proves every code path in seconds on a CPU (CI runs this)",
    "standard": "meaningful results in minutes on a laptop CPU (the default)",
    "full": "the best the chapter can show, sized for a GPU",
}
DEFAULT_PROFILE = "standard"
PROFILE_ENV = "LMCOURSE_PROFILE"


class ConfigError(ValueError):
    """A bad profile, parameter name or value. The message is one line that names the fix."""


@dataclass(frozen=True)
class Param:
    """What one chapter parameter accepts.

    Args:
        kind: ``int``, ``float``, ``str`` or ``bool``. A float parameter accepts ints too.
        help: what the parameter does, shown by ``lmcourse list``.
        min: smallest allowed value (inclusive), for numbers.
        max: largest allowed value (inclusive), for numbers.
        min_exclusive: if True, ``min`` itself is not allowed (e.g. a learning rate > 0).
        choices: the allowed values, for strings.
        profile_driven: if True, ``None`` means "the profile's value" and each profile in the
            chapter's table must give one; if False, ``None`` means ``default``.
        default: the value of a parameter that is not profile-driven, when none is given.
    """

    kind: type
    help: str
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[Any, ...] | None = None
    profile_driven: bool = True
    default: Any = None

    def describe(self) -> str:
        """A short phrase for error messages and ``lmcourse list``: "an int >= 1"."""
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        text = {int: "an int", float: "a number", str: "a string", bool: "True or False"}[self.kind]
        if self.min is not None:
            text += f" {'>' if self.min_exclusive else '>='} {_number(self.min)}"
        if self.max is not None:
            text += f"{' and' if self.min is not None else ''} <= {_number(self.max)}"
        return text

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` (ints widened to float for float params) or raise ConfigError."""
        fix = f"{name} must be {self.describe()} ({self.help})"
        if self.kind is bool:
            ok = isinstance(value, bool)
        elif self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok:
                value = float(value)
                ok = value == value and abs(value) != float("inf")  # no NaN, no inf
        else:
            ok = isinstance(value, self.kind)
        if not ok:
            raise ConfigError(f"{name}={value!r} has the wrong type: {fix}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{name}={value!r} is not allowed: {fix}")
        if self.min is not None and (value <= self.min if self.min_exclusive else value < self.min):
            raise ConfigError(f"{name}={value!r} is out of range: {fix}")
        if self.max is not None and value > self.max:
            raise ConfigError(f"{name}={value!r} is out of range: {fix}")
        return value


def _number(x: float) -> str:
    return f"{int(x):,}".replace(",", "_") if float(x).is_integer() else f"{x:g}"


# Parameters every chapter has. `profile` is resolved first; `seed` is a plain value.
COMMON_PARAMS: dict[str, Param] = {
    "profile": Param(
        str, "how big a run: " + ", ".join(PROFILES), choices=PROFILES, profile_driven=False
    ),
    "seed": Param(
        int, "random seed for Python, NumPy and Keras", min=0, profile_driven=False, default=42
    ),
}


@dataclass(frozen=True)
class Chapter:
    """One chapter of the course: its notebook, its parameters and its profile table.

    ``profiles[p][name]`` is the value of a profile-driven parameter under profile ``p``.
    """

    id: str
    slug: str
    title: str
    params: dict[str, Param] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def all_params(self) -> dict[str, Param]:
        return {**COMMON_PARAMS, **self.params}
