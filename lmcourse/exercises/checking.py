"""Checked exercises: what one is, how a learner's answers are found, and the report.

An :class:`Exercise` names the one thing a learner writes (a function or a value, looked up by
``answer`` in their namespace) and a ``test`` that calls it and raises :class:`Wrong` with a
plain sentence when it is wrong. :func:`run_checks` runs a chapter's exercises against a
namespace and returns a :class:`Report`: for each exercise *passed*, *not yet* (missing, or
still raising ``NotImplementedError``) or *wrong* (with what is wrong).

Example:
    >>> def test(f):
    ...     expect_close(f(3.0), 9.0, "square(3.0)")
    >>> ex = Exercise("99.1", "Square a number", "square", test)
    >>> print(run_exercises("99", [ex], {"square": lambda x: x * x}))
    Chapter 99: 1 of 1 exercises pass.
      [pass]    99.1 Square a number
    >>> print(run_exercises("99", [ex], {"square": lambda x: x + x}))
    Chapter 99: 0 of 1 exercises pass.
      [wrong]   99.1 Square a number: square(3.0) gave 6, expected 9
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

PASSED, NOT_YET, WRONG = "pass", "not yet", "wrong"


class Wrong(AssertionError):
    """An answer that is wrong; the message says what it gave and what was expected."""


@dataclass(frozen=True)
class Exercise:
    """One checked exercise.

    Args:
        number: ``"04.1"``: chapter, then its place in the chapter.
        title: a few words, as in the notebook's heading.
        answer: the name the learner defines (a function or a value).
        test: called with the learner's object; raises :class:`Wrong` if it is wrong.
    """

    number: str
    title: str
    answer: str
    test: Callable[[Any], None]


@dataclass(frozen=True)
class Outcome:
    """What checking one exercise found: ``status`` is ``"pass"``, ``"not yet"`` or
    ``"wrong"``; ``message`` says why for the last two."""

    exercise: Exercise
    status: str
    message: str = ""


@dataclass(frozen=True)
class Report:
    """The outcomes of one chapter's exercises; ``str(report)`` is the text a learner reads."""

    chapter: str
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        """True when every exercise passes."""
        return all(o.status == PASSED for o in self.outcomes)

    def __str__(self) -> str:
        n_pass = sum(o.status == PASSED for o in self.outcomes)
        lines = [f"Chapter {self.chapter}: {n_pass} of {len(self.outcomes)} exercises pass."]
        for o in self.outcomes:
            tail = f": {o.message}" if o.message else ""
            lines.append(
                f"  {'[' + o.status + ']':<9} {o.exercise.number} {o.exercise.title}{tail}"
            )
        return "\n".join(lines)


def answers_from(source: Mapping[str, Any] | ModuleType | str | Path) -> Mapping[str, Any]:
    """The learner's names: a namespace (``globals()``), a module, or a Python file to run.

    Raises:
        FileNotFoundError: the file does not exist (the message names it).
    """
    if isinstance(source, ModuleType):
        return vars(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"no answers file {path}: write your answers there, or pass --answers FILE"
            )
        return runpy.run_path(str(path))
    return source


def check_one(exercise: Exercise, answers: Mapping[str, Any]) -> Outcome:
    """Run one exercise's test on the learner's answer; never raises."""
    if exercise.answer not in answers:
        return Outcome(exercise, NOT_YET, f"define `{exercise.answer}`")
    try:
        exercise.test(answers[exercise.answer])
    except NotImplementedError:
        return Outcome(exercise, NOT_YET, f"`{exercise.answer}` is not written yet")
    except Wrong as e:
        return Outcome(exercise, WRONG, str(e))
    except Exception as e:  # the learner's code failed: say how, in one line
        return Outcome(exercise, WRONG, f"your code raised {type(e).__name__}: {e}")
    return Outcome(exercise, PASSED)


def run_exercises(chapter: str, exercises: Iterable[Exercise], answers: Mapping) -> Report:
    """Check ``exercises`` against ``answers`` (a name -> object mapping)."""
    return Report(chapter, tuple(check_one(ex, answers) for ex in exercises))


# Helpers for writing tests: each raises Wrong with a sentence a learner understands.


def _show(x: Any) -> str:
    a = np.asarray(x)
    if a.ndim == 0:
        return f"{a.item():.6g}" if np.issubdtype(a.dtype, np.number) else repr(a.item())
    return np.array2string(a, precision=4, threshold=8, edgeitems=2)


def expect_close(got: Any, want: Any, what: str, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """``got`` equals ``want`` (numbers or arrays, same shape) within the tolerances."""
    g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if g.shape != w.shape:
        raise Wrong(f"{what} has shape {g.shape}, expected {w.shape}")
    if not np.allclose(g, w, atol=atol, rtol=rtol):
        if g.ndim == 0:
            raise Wrong(f"{what} gave {_show(g)}, expected {_show(w)}")
        worst = np.unravel_index(np.argmax(np.abs(g - w)), g.shape)
        raise Wrong(
            f"{what} differs most at index {tuple(int(i) for i in worst)}: "
            f"{g[worst]:.6g} instead of {w[worst]:.6g}"
        )


def expect_equal(got: Any, want: Any, what: str) -> None:
    """``got == want`` exactly (ints, strings, lists, tuples)."""
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        same = np.array_equal(np.asarray(got), np.asarray(want))
    else:
        same = got == want
    if not same:
        raise Wrong(f"{what} gave {got!r}, expected {want!r}")
