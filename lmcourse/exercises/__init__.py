"""Exercises a learner can check, from a notebook or a terminal.

Each chapter's checked exercises are ``EXERCISES`` in ``lmcourse/exercises/cNN.py``. A
learner writes the answers in the chapter's notebook and runs ``check("04", globals())``, or
in ``exercises/ch04.py`` (a copy of the notebook's stubs) and runs ``lmcourse check 04``. The
solutions are in ``solutions/ch04.py``; CI checks that each passes.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from lmcourse.chapters import get_chapter
from lmcourse.exercises.checking import (
    NOT_YET,
    PASSED,
    WRONG,
    Exercise,
    Outcome,
    Report,
    Wrong,
    answers_from,
    check_one,
    expect_close,
    expect_equal,
    run_exercises,
)
from lmcourse.paths import REPO_ROOT

__all__ = [
    "NOT_YET",
    "PASSED",
    "WRONG",
    "Exercise",
    "Outcome",
    "Report",
    "Wrong",
    "answers_file",
    "chapter_id",
    "check",
    "check_answer",
    "exercises_of",
    "expect_close",
    "expect_equal",
    "run_checks",
]


def chapter_id(chapter: str | int) -> str:
    """``"04"`` for ``4``, ``"4"``, ``"04"`` or the chapter's slug.

    Raises:
        ConfigError: no such chapter (a ``ValueError``; the message lists the chapters there are).
    """
    return get_chapter(str(chapter).strip()).id


def exercises_of(chapter: str | int) -> tuple[Exercise, ...]:
    """The checked exercises of chapter ``chapter`` (``"04"``)."""
    cid = chapter_id(chapter)
    try:
        module = importlib.import_module(f"lmcourse.exercises.c{cid}")
    except ModuleNotFoundError as e:
        if e.name != f"lmcourse.exercises.c{cid}":
            raise
        raise ValueError(f"chapter {cid} has no checked exercises") from None
    return tuple(module.EXERCISES)


def answers_file(chapter: str | int, folder: str = "exercises") -> Path:
    """``exercises/chNN.py`` (the learner's file) or, with ``folder="solutions"``, the solution."""
    return REPO_ROOT / folder / f"ch{chapter_id(chapter)}.py"


def run_checks(chapter: str, answers: Mapping[str, Any] | ModuleType | str | Path) -> Report:
    """Check chapter ``chapter``'s exercises against ``answers``: a namespace such as
    ``globals()``, a module, or the path of a Python file."""
    cid = chapter_id(chapter)
    return run_exercises(cid, exercises_of(cid), answers_from(answers))


def check_answer(chapter: str | int, key: str, answer: Any) -> Outcome:
    """Check one answer alone: ``key`` is the exercise's number (``"04.2"``) or the name it
    answers (``"lstm_step"``); only that exercise's test runs.

    Raises:
        ValueError: the chapter has no such exercise.
    """
    for exercise in exercises_of(chapter):
        if key in (exercise.number, exercise.answer):
            return check_one(exercise, {exercise.answer: answer})
    raise ValueError(f"chapter {chapter_id(chapter)} has no exercise {key!r}")


def check(chapter: str, answers: Mapping[str, Any] | ModuleType | str | Path | None = None) -> None:
    """Print what passes and what is wrong; ``answers`` defaults to ``exercises/chNN.py``.

    In a notebook: ``check("04", globals())`` checks the functions you wrote in its cells.
    (:func:`run_checks` returns the :class:`Report` instead of printing it.)
    """
    print(run_checks(chapter, answers_file(chapter) if answers is None else answers))
