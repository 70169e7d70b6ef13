"""Chapter 06's parameters and profile values.

The Transformer and a mini-GPT: positions, blocks, GPT vs LSTM, KV-cache generation.
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
    id="06",
    slug="06_transformer_gpt",
    title="The Transformer and a mini-GPT: positions, blocks, GPT vs LSTM, KV-cache generation",
    params={
        "d_model": Param(
            int, "size of the GPT's token vectors; num_heads must divide it", min=8, max=2048
        ),
        "num_heads": Param(int, "attention heads per block", min=1, max=64),
        "num_layers": Param(int, "Transformer blocks of the GPT", min=1, max=48),
        "seq_len": Param(
            int,
            "context window: characters per training sequence (both models) and the "
            "GPT's longest input",
            min=8,
            max=4096,
        ),
        "batch_size": Param(int, "sequences per training batch (both models)", min=1, max=4096),
        "steps": Param(
            int,
            "training steps of each model: the token budget is steps * batch_size * "
            "seq_len characters, the same for the GPT and the LSTM",
            min=10,
            max=1_000_000,
        ),
        "learning_rate": Param(
            float,
            "the GPT's peak AdamW learning rate (warm-up, then cosine decay to 10%)",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "dropout": Param(float, "the GPT's dropout rate", min=0.0, max=0.9),
        "lstm_units": Param(
            int,
            "hidden size of both layers of chapter 04's LSTM, trained for comparison",
            min=8,
            max=8192,
        ),
        "train_chars": Param(
            int,
            "characters of training text used (0: all of it)",
            min=0,
            max=100_000_000,
        ),
        "val_chars": Param(
            int,
            "characters of validation text scored at the end (0: all of it)",
            min=0,
            max=100_000_000,
        ),
    },
    # Training the GPT and the LSTM for the same token budget dominates the run time. Many
    # small steps beat few large ones at equal characters (standard: 3,000 x 32 x 64 = 6.1 M).
    profiles={
        "smoke": {
            "d_model": 32,
            "num_heads": 2,
            "num_layers": 2,
            "seq_len": 32,
            "batch_size": 16,
            "steps": 150,
            "learning_rate": 0.003,
            "dropout": 0.0,
            "lstm_units": 32,
            "train_chars": 200_000,
            "val_chars": 20_000,
        },
        "standard": {
            "d_model": 128,
            "num_heads": 4,
            "num_layers": 4,
            "seq_len": 64,
            "batch_size": 32,
            "steps": 3000,
            "learning_rate": 0.002,
            "dropout": 0.0,
            "lstm_units": 256,
            "train_chars": 0,
            "val_chars": 0,
        },
        "full": {
            "d_model": 384,
            "num_heads": 6,
            "num_layers": 6,
            "seq_len": 256,
            "batch_size": 64,
            "steps": 5000,
            "learning_rate": 0.001,
            "dropout": 0.2,
            "lstm_units": 512,
            "train_chars": 0,
            "val_chars": 0,
        },
    },
)
