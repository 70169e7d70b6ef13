"""Chapter 07's parameters and profile values.

Pretraining a mini-BERT: WordPiece, masked LM 80/10/10, next-sentence pairs.
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
    id="07",
    slug="07_pretraining_mlm",
    title="Pretraining a mini-BERT: WordPiece, masked LM 80/10/10, next-sentence pairs",
    params={
        "train_reviews": Param(
            int,
            "training-split reviews whose text (never their labels) is the "
            "pretraining corpus (0: all 20,000)",
            min=0,
            max=1_000_000,
        ),
        "vocab_size": Param(
            int, "WordPiece vocabulary size, special tokens included", min=200, max=100_000
        ),
        "seq_len": Param(
            int,
            "tokens per input ([CLS] A [SEP] B [SEP]); also the longest input the "
            "encoder reads in chapter 08",
            min=16,
            max=2048,
        ),
        "d_model": Param(
            int, "size of the encoder's vectors; num_heads must divide it", min=8, max=2048
        ),
        "num_heads": Param(int, "attention heads per encoder layer", min=1, max=64),
        "num_layers": Param(int, "Transformer encoder layers", min=1, max=48),
        "steps": Param(
            int,
            "pretraining steps of each of the two encoders (MLM + NSP, and MLM only)",
            min=10,
            max=10_000_000,
        ),
        "batch_size": Param(int, "sentence pairs per batch", min=2, max=4096),
        "learning_rate": Param(
            float,
            "peak AdamW learning rate (10% warm-up, then linear decay to 0)",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "probe_reviews": Param(
            int,
            "labelled training reviews for the linear probe that compares the two "
            "encoders (scored on the validation split)",
            min=100,
            max=20_000,
        ),
    },
    # Pretraining two encoders for `steps` each dominates the run time.
    profiles={
        "smoke": {
            "train_reviews": 600,
            "vocab_size": 2000,
            "seq_len": 64,
            "d_model": 32,
            "num_heads": 2,
            "num_layers": 1,
            "steps": 40,
            "batch_size": 16,
            "learning_rate": 0.002,
            "probe_reviews": 400,
        },
        "standard": {
            "train_reviews": 0,
            "vocab_size": 8000,
            "seq_len": 128,
            "d_model": 128,
            "num_heads": 4,
            "num_layers": 2,
            "steps": 1000,
            "batch_size": 32,
            "learning_rate": 0.001,
            "probe_reviews": 4000,
        },
        "full": {
            "train_reviews": 0,
            "vocab_size": 16000,
            "seq_len": 256,
            "d_model": 256,
            "num_heads": 4,
            "num_layers": 4,
            "steps": 30000,
            "batch_size": 64,
            "learning_rate": 0.0005,
            "probe_reviews": 20000,
        },
    },
)
