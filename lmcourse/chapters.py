"""The course's table of contents: each chapter's notebook, parameters and profile table.

Each chapter's table is its own module in :mod:`lmcourse.syllabus`. A chapter's notebook
lives at ``chapters/<slug>.ipynb``; its ``parameters`` cell must hold exactly the chapter's
names (``profile``, ``seed`` and its own), and every profile-driven parameter defaults to
``None`` there. ``tests/test_chapters.py`` checks both. The ranges are what ``lmcourse run -p
name=value`` and ``start_chapter`` validate.
"""

from __future__ import annotations

from pathlib import Path

from lmcourse.params import Chapter, ConfigError
from lmcourse.paths import CHAPTERS_DIR
from lmcourse.syllabus import (
    c00_setup,
    c01_language_models,
    c02_learning_math,
    c03_text_preprocessing,
    c04_rnn_lstm,
    c05_attention,
    c06_transformer_gpt,
    c07_pretraining_mlm,
    c08_finetuning,
    c09_evaluation_regularization,
)

_CHAPTERS = [
    c00_setup.CHAPTER,
    c01_language_models.CHAPTER,
    c02_learning_math.CHAPTER,
    c03_text_preprocessing.CHAPTER,
    c04_rnn_lstm.CHAPTER,
    c05_attention.CHAPTER,
    c06_transformer_gpt.CHAPTER,
    c07_pretraining_mlm.CHAPTER,
    c08_finetuning.CHAPTER,
    c09_evaluation_regularization.CHAPTER,
]

CHAPTERS: dict[str, Chapter] = {c.id: c for c in _CHAPTERS}


def get_chapter(key: str) -> Chapter:
    """Find a chapter by id (``"4"``, ``"04"``), slug or notebook file name.

    Raises:
        ConfigError: no such chapter; the message lists the chapters there are.
    """
    k = Path(str(key)).name.removesuffix(".ipynb")
    if k.isdigit():
        k = f"{int(k):02d}"
    for chapter in _CHAPTERS:
        if k in (chapter.id, chapter.slug):
            return chapter
    raise ConfigError(
        f"unknown chapter {key!r}: choose one of {', '.join(CHAPTERS)} (or 'all'); "
        "`lmcourse list` shows their titles"
    )


def notebook_path(chapter: Chapter) -> Path:
    """``chapters/<slug>.ipynb`` in the course checkout."""
    return CHAPTERS_DIR / f"{chapter.slug}.ipynb"
