"""Chapter 04's parameters and profile values.

RNN and LSTM: recurrence from scratch, BPTT, a character LSTM language model.
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
    id="04",
    slug="04_rnn_lstm",
    title="RNN and LSTM: recurrence from scratch, BPTT, a character LSTM language model",
    params={
        "epochs": Param(int, "training epochs of the char-LSTM", min=1, max=10_000),
        "steps_per_epoch": Param(
            int,
            "training batches per epoch (0: one pass over the training text)",
            min=0,
            max=1_000_000,
        ),
        "seq_len": Param(
            int,
            "characters per training sequence (backpropagation through time)",
            min=2,
            max=10_000,
        ),
        "batch_size": Param(int, "sequences per training batch", min=1, max=100_000),
        "embed_dim": Param(int, "size of each character's embedding", min=1, max=4096),
        "units": Param(int, "hidden size of both LSTM layers", min=1, max=8192),
        "learning_rate": Param(
            float,
            "Adam's peak learning rate (cosine decay to 5% of it)",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "train_chars": Param(
            int, "characters of training text used (0: all of it)", min=0, max=100_000_000
        ),
        "val_chars": Param(
            int,
            "characters of validation text scored (0: all of it)",
            min=0,
            max=100_000_000,
        ),
        "ngram_order": Param(
            int, "order of the interpolated character n-gram baseline", min=1, max=12
        ),
    },
    profiles={
        "smoke": {
            "epochs": 1,
            "steps_per_epoch": 100,
            "seq_len": 50,
            "batch_size": 32,
            "embed_dim": 16,
            "units": 32,
            "learning_rate": 0.02,
            "train_chars": 200_000,
            "val_chars": 20_000,
            "ngram_order": 3,
        },
        "standard": {
            "epochs": 10,
            "steps_per_epoch": 130,
            "seq_len": 100,
            "batch_size": 64,
            "embed_dim": 64,
            "units": 256,
            "learning_rate": 0.004,
            "train_chars": 0,
            "val_chars": 0,
            "ngram_order": 5,
        },
        "full": {
            "epochs": 40,
            "steps_per_epoch": 200,
            "seq_len": 256,
            "batch_size": 128,
            "embed_dim": 128,
            "units": 512,
            "learning_rate": 0.002,
            "train_chars": 0,
            "val_chars": 0,
            "ngram_order": 7,
        },
    },
)
