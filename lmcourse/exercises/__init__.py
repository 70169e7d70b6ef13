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

from lmcourse.chapters import CHAPTERS
from lmcourse.exercises.checking import (
    NOT_YET,
    PASSED,
    WRONG,
    Exercise,
    Outcome,
    Report,
    Wrong,
    answers_from,
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
    "exercises_of",
    "expect_close",
    "expect_equal",
    "run_checks",
]


def chapter_id(chapter: str | int) -> str:
    """``"04"`` for ``4``, ``"4"`` or ``"04"``.

    Raises:
        ValueError: no such chapter (the message lists the chapters there are).
    """
    text = str(chapter).strip()
    cid = f"{int(text):02d}" if text.isdigit() else text
    if cid not in CHAPTERS:
        raise ValueError(f"no chapter {chapter!r}: choose one of {', '.join(CHAPTERS)}")
    return cid


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
    return run_exercises(chapter_id(chapter), exercises_of(chapter), answers_from(answers))


def check(chapter: str, answers: Mapping[str, Any] | ModuleType | str | Path | None = None) -> None:
    """Print what passes and what is wrong; ``answers`` defaults to ``exercises/chNN.py``.

    In a notebook: ``check("04", globals())`` checks the functions you wrote in its cells.
    (:func:`run_checks` returns the :class:`Report` instead of printing it.)
    """
    print(run_checks(chapter, answers_file(chapter) if answers is None else answers))
