"""The course's table of contents: each chapter's notebook, parameters and profile table.

A chapter's notebook lives at ``chapters/<slug>.ipynb``; its ``parameters`` cell must hold
exactly the names below (``profile``, ``seed`` and the chapter's own), and every
profile-driven parameter defaults to ``None`` there. ``tests/test_chapters.py`` checks both.
The ranges here are what ``lmcourse run -p name=value`` and ``start_chapter`` validate.
"""

from __future__ import annotations

from pathlib import Path

from lmcourse.config import Chapter, ConfigError, Param

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTERS_DIR = REPO_ROOT / "chapters"

_CHAPTERS = [
    Chapter(
        id="00",
        slug="00_setup",
        title="Setup: environment, backends, profiles, first tensors",
    ),
    Chapter(
        id="01",
        slug="01_language_models",
        title="Language models: the chain rule, n-grams, smoothing, perplexity",
        params={
            "train_fraction": Param(
                float,
                "fraction of the training plays' text used to count n-grams (a prefix)",
                min=0.0,
                max=1.0,
                min_exclusive=True,
            ),
            "min_count": Param(
                int, "words seen fewer times in training become <unk>", min=1, max=100
            ),
            "max_order": Param(
                int, "the highest word n-gram order fitted and compared (3 = trigram)", min=3, max=6
            ),
        },
        # n-grams are counted, not trained: even `full` runs in under a minute on a laptop CPU.
        profiles={
            "smoke": {"train_fraction": 0.1, "min_count": 2, "max_order": 3},
            "standard": {"train_fraction": 1.0, "min_count": 2, "max_order": 4},
            "full": {"train_fraction": 1.0, "min_count": 2, "max_order": 5},
        },
    ),
    Chapter(
        id="02",
        slug="02_learning_math",
        title="The math of learning: loss, gradient descent, optimizers, cross-entropy = MLE",
        params={
            "epochs": Param(
                int,
                "full-batch gradient-descent steps (one step = one epoch); each optimizer in "
                "the SGD/momentum/Adam comparison takes as many minibatch steps",
                min=1,
                max=100_000,
            ),
            "learning_rate": Param(
                float,
                "step size of the hand-written gradient descent on the bigram model (stable "
                "below ~106 there); the learning-rate plot also runs it /30 and x10",
                min=0.0,
                max=10_000.0,
                min_exclusive=True,
            ),
            "batch_size": Param(
                int, "character pairs per minibatch in the SGD/momentum/Adam comparison",
                min=1, max=1_000_000,
            ),
        },
        profiles={
            "smoke": {"epochs": 100, "learning_rate": 100.0, "batch_size": 256},
            "standard": {"epochs": 2000, "learning_rate": 100.0, "batch_size": 256},
            "full": {"epochs": 10_000, "learning_rate": 100.0, "batch_size": 512},
        },
    ),
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
