"""Chapter 09's parameters and profile values.

Measuring models honestly (perplexity, F1, BLEU, ROUGE, calibration, bootstrap intervals) and
fighting overfitting (L1, L2, weight decay, dropout, early stopping, token dropout, tuning).
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
    id="09",
    slug="09_evaluation_regularization",
    title="Evaluation, regularization and tuning: measuring honestly, fighting overfitting",
    params={
        "train_sentences": Param(
            int,
            "labelled Rotten Tomatoes training sentences of the overfitting study (0: all 6,845)",
            min=0,
            max=1_000_000,
        ),
        "epochs": Param(int, "training passes of each regularization run", min=1, max=1000),
        "batch_size": Param(int, "sentences per batch", min=2, max=4096),
        "learning_rate": Param(
            float,
            "Adam(W)'s learning rate of the regularization runs",
            min=0.0,
            max=1.0,
            min_exclusive=True,
        ),
        "range_test_steps": Param(
            int, "batches of the learning-rate range test", min=10, max=100_000
        ),
        "tuner_trials": Param(int, "keras-tuner random-search trials", min=1, max=1000),
        "tuner_epochs": Param(int, "training passes of each tuner trial", min=1, max=1000),
        "bootstrap_resamples": Param(
            int, "resamples of each paired bootstrap interval", min=10, max=1_000_000
        ),
    },
    # Small models on short sentences: the regularization table and the tuner's trials dominate.
    profiles={
        "smoke": {
            "train_sentences": 600,
            "epochs": 6,
            "batch_size": 32,
            "learning_rate": 0.002,
            "range_test_steps": 30,
            "tuner_trials": 2,
            "tuner_epochs": 3,
            "bootstrap_resamples": 200,
        },
        "standard": {
            "train_sentences": 2000,
            "epochs": 30,
            "batch_size": 32,
            "learning_rate": 0.002,
            "range_test_steps": 150,
            "tuner_trials": 12,
            "tuner_epochs": 20,
            "bootstrap_resamples": 1000,
        },
        "full": {
            "train_sentences": 0,
            "epochs": 40,
            "batch_size": 32,
            "learning_rate": 0.002,
            "range_test_steps": 300,
            "tuner_trials": 40,
            "tuner_epochs": 30,
            "bootstrap_resamples": 10000,
        },
    },
)
