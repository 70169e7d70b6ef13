"""Chapter 08's parameters and profile values.

Fine-tuning a real pretrained encoder (MiniLM) against TF-IDF and training from scratch.
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
    id="08",
    slug="08_finetuning",
    title="Fine-tuning a real pretrained encoder (MiniLM) against TF-IDF and training from scratch",
    params={
        "train_examples": Param(
            int,
            "labelled Rotten Tomatoes training sentences of the main comparison (0: all 6,845)",
            min=0,
            max=1_000_000,
        ),
        "few_labels": Param(
            int,
            "the smallest label count of the label-count curve (then x4, x16, ... up "
            "to train_examples)",
            min=16,
            max=1_000_000,
        ),
        "seq_len": Param(
            int,
            "tokens per sentence ([CLS] text [SEP]); at most chapter 07's encoder length",
            min=16,
            max=512,
        ),
        "minilm_layers": Param(
            int,
            "MiniLM's Transformer layers kept, from the bottom (6: all; fewer train faster)",
            min=1,
            max=6,
        ),
        "epochs": Param(
            int, "MiniLM fine-tuning passes over train_examples labels", min=1, max=1000
        ),
        "min_steps": Param(
            int,
            "fewest optimizer steps of a fine-tuning run, however few the labels "
            "(smaller label sets get more epochs)",
            min=1,
            max=1_000_000,
        ),
        "batch_size": Param(int, "sentences per batch", min=2, max=4096),
        "learning_rate": Param(
            float,
            "MiniLM's peak learning rate (full fine-tuning and gradual unfreezing; "
            "warm-up, then linear decay)",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "head_learning_rate": Param(
            float,
            "peak learning rate of the head on frozen MiniLM sentence vectors",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "scratch_learning_rate": Param(
            float,
            "peak learning rate of the course's small encoder (from scratch and chapter 07's)",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "scratch_epochs": Param(
            int,
            "passes of the small encoders over train_examples labels",
            min=1,
            max=1000,
        ),
        "imdb_examples": Param(
            int,
            "labelled IMDB reviews of the long-text contrast (0: all 19,923)",
            min=0,
            max=1_000_000,
        ),
        "imdb_test_examples": Param(
            int,
            "IMDB test reviews scored (0: all 2,443)",
            min=0,
            max=1_000_000,
        ),
        "imdb_seq_len": Param(int, "tokens per IMDB review (the start is kept)", min=16, max=512),
        "imdb_epochs": Param(
            int,
            "MiniLM full fine-tuning passes on IMDB (0: frozen sentence vectors only)",
            min=0,
            max=100,
        ),
    },
    # MiniLM's fine-tuning runs (22.7 M parameters) dominate the run time.
    profiles={
        "smoke": {
            "train_examples": 250,
            "few_labels": 250,
            "seq_len": 32,
            "minilm_layers": 1,
            "epochs": 1,
            "min_steps": 1,
            "batch_size": 16,
            "learning_rate": 0.0001,
            "head_learning_rate": 0.003,
            "scratch_learning_rate": 0.001,
            "scratch_epochs": 1,
            "imdb_examples": 32,
            "imdb_test_examples": 32,
            "imdb_seq_len": 32,
            "imdb_epochs": 0,
        },
        "standard": {
            "train_examples": 4000,
            "few_labels": 250,
            "seq_len": 48,
            "minilm_layers": 6,
            "epochs": 2,
            "min_steps": 64,
            "batch_size": 16,
            "learning_rate": 0.00005,
            "head_learning_rate": 0.001,
            "scratch_learning_rate": 0.0005,
            "scratch_epochs": 3,
            "imdb_examples": 2000,
            "imdb_test_examples": 500,
            "imdb_seq_len": 128,
            "imdb_epochs": 0,
        },
        "full": {
            "train_examples": 0,
            "few_labels": 250,
            "seq_len": 64,
            "minilm_layers": 6,
            "epochs": 3,
            "min_steps": 250,
            "batch_size": 32,
            "learning_rate": 0.00005,
            "head_learning_rate": 0.001,
            "scratch_learning_rate": 0.0005,
            "scratch_epochs": 10,
            "imdb_examples": 0,
            "imdb_test_examples": 0,
            "imdb_seq_len": 256,
            "imdb_epochs": 2,
        },
    },
)
