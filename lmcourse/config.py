"""Profiles and parameters: resolve a chapter's settings and reject bad ones early.

Every chapter notebook starts with a cell tagged ``parameters`` (papermill overrides it)::

    profile = None   # "smoke" | "standard" | "full"; None -> $LMCOURSE_PROFILE or "standard"
    seed = 42
    epochs = None    # None -> the profile's value

and then calls :func:`start_chapter` with those names. A value given explicitly wins over the
profile's; ``None`` means "take the profile's value". Every value is checked against the
chapter's :class:`~lmcourse.params.Param` spec (the table is ``lmcourse.chapters``), and the
first bad one raises a :class:`~lmcourse.params.ConfigError` whose one-line message names the
valid choices.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from lmcourse.chapters import get_chapter
from lmcourse.params import (
    DEFAULT_PROFILE,
    PROFILE_ENV,
    PROFILE_HELP,
    PROFILES,
    Chapter,
    ConfigError,
)


@dataclass(frozen=True)
class Config:
    """A chapter's resolved settings: attribute access (``cfg.epochs``) and ``as_dict()``."""

    chapter: str
    values: dict[str, Any]
    sources: dict[str, str]  # name -> "given" | "profile" | "default"

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(
                f"chapter {self.chapter} has no parameter {name!r}; "
                f"its parameters are {', '.join(self.values)}"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)

    def table(self) -> str:
        """The resolved settings as a small text table (name, value, where it came from)."""
        rows = [(k, repr(v), self.sources[k]) for k, v in self.values.items()]
        w0 = max(len("parameter"), *(len(r[0]) for r in rows))
        w1 = max(len("value"), *(len(r[1]) for r in rows))
        lines = [f"{'parameter':<{w0}}  {'value':<{w1}}  from", f"{'-' * w0}  {'-' * w1}  -------"]
        lines += [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
        return "\n".join(lines)


def resolve_profile(profile: str | None) -> tuple[str, str]:
    """Return (profile, source): the given one, else $LMCOURSE_PROFILE, else "standard"."""
    if profile is None:
        env = os.environ.get(PROFILE_ENV)
        if env:
            profile, source = env, f"${PROFILE_ENV}"
        else:
            profile, source = DEFAULT_PROFILE, "default"
    else:
        source = "given"
    if profile not in PROFILES:
        where = f" (from ${PROFILE_ENV})" if source.startswith("$") else ""
        raise ConfigError(
            f"unknown profile {profile!r}{where}: choose one of {', '.join(PROFILES)}"
        )
    return profile, source


def check_names(chapter: Chapter, names: list[str] | set[str]) -> None:
    """Raise ConfigError for the first name that is not one of the chapter's parameters."""
    known = chapter.all_params
    for name in names:
        if name not in known:
            raise ConfigError(
                f"chapter {chapter.id} has no parameter {name!r}: "
                f"its parameters are {', '.join(known)}"
            )


def resolve(chapter: Chapter | str, **given: Any) -> Config:
    """Resolve a chapter's parameters: explicit values, then the profile's, then defaults.

    Args:
        chapter: a :class:`Chapter` or its id (``"04"``).
        **given: parameter values; ``None`` means "not given".

    Raises:
        ConfigError: unknown profile, unknown parameter name, or a value of the wrong type or
            out of range. Nothing is started before all values are checked.
    """
    if isinstance(chapter, str):
        chapter = get_chapter(chapter)
    check_names(chapter, given)
    profile, profile_source = resolve_profile(given.get("profile"))
    values: dict[str, Any] = {"profile": profile}
    sources: dict[str, str] = {"profile": profile_source}
    for name, spec in chapter.all_params.items():
        if name == "profile":
            continue
        value = given.get(name)
        if value is not None:
            values[name], sources[name] = spec.check(name, value), "given"
        elif spec.profile_driven:
            values[name], sources[name] = chapter.profiles[profile][name], f"profile {profile}"
        else:
            values[name], sources[name] = spec.default, "default"
    return Config(chapter.id, values, sources)


def start_chapter(chapter_id: str, *, quiet: bool = False, **given: Any) -> Config:
    """The first call of every chapter: validate, seed, load the framework, show the settings.

    Resolves the parameters (see :func:`resolve`), imports TensorFlow/Keras with their
    start-up log noise filtered, seeds Python/NumPy/Keras, and opens the results record of
    this run (``lmcourse.results``). Prints the resolved settings as a table.

    Example:
        >>> cfg = start_chapter("02", profile="smoke", seed=42, epochs=None)  # doctest: +SKIP
        >>> cfg.epochs  # doctest: +SKIP
        20
    """
    # Not at the top: `import lmcourse` stays cheap (the CLI imports this module to validate).
    from lmcourse import results, runtime

    cfg = resolve(chapter_id, **given)
    runtime.import_framework()
    runtime.seed_everything(cfg.seed)
    results.begin(chapter_id, cfg.as_dict())
    if not quiet:
        print(f"Chapter {chapter_id} - profile {cfg.profile!r}: {PROFILE_HELP[cfg.profile]}")
        print(cfg.table())
    return cfg
