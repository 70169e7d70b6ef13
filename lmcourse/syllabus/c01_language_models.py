"""Chapter 01's parameters and profile values.

Language models: the chain rule, n-grams, smoothing, perplexity.
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
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
        "min_count": Param(int, "words seen fewer times in training become <unk>", min=1, max=100),
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
)
