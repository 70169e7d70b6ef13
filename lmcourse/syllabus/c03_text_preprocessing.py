"""Chapter 03's parameters and profile values.

Text preprocessing: cleaning, char/word/WordPiece/BPE tokenizers, Chinese, tf.data.
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
    id="03",
    slug="03_text_preprocessing",
    title="Text preprocessing: cleaning, char/word/WordPiece/BPE tokenizers, Chinese, tf.data",
    params={
        "train_fraction": Param(
            float,
            "fraction of the training plays' text (a prefix) the tokenizers are trained on",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "vocab_size": Param(
            int,
            "WordPiece vocabulary size asked for (BPE is compared at the size WordPiece "
            "gets); the vocabulary-size sweep goes up to twice this",
            min=100,
            max=30_000,
        ),
        "zh_lines": Param(
            int,
            "Chinese reviews (of 35,123) compared by character and by word (jieba); a fifth as "
            "many hand-segmented news paragraphs score jieba",
            min=100,
            max=35_123,
        ),
        "seq_len": Param(
            int,
            "characters per language-model window in the tf.data section",
            min=1,
            max=10_000,
        ),
        "batch_size": Param(
            int, "windows per batch in the tf.data throughput comparison", min=1, max=4096
        ),
    },
    # Training WordPiece (keras-hub's learner, ~35 s on all the training plays) dominates.
    profiles={
        "smoke": {
            "train_fraction": 0.03,
            "vocab_size": 400,
            "zh_lines": 1500,
            "seq_len": 100,
            "batch_size": 64,
        },
        "standard": {
            "train_fraction": 1.0,
            "vocab_size": 4000,
            "zh_lines": 10_000,
            "seq_len": 100,
            "batch_size": 64,
        },
        "full": {
            "train_fraction": 1.0,
            "vocab_size": 8000,
            "zh_lines": 35_123,
            "seq_len": 100,
            "batch_size": 64,
        },
    },
)
