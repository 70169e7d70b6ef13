"""The course's table of contents: each chapter's notebook, parameters and profile table.

A chapter's notebook lives at ``chapters/<slug>.ipynb``; its ``parameters`` cell must hold
exactly the names below (``profile``, ``seed`` and the chapter's own), and every
profile-driven parameter defaults to ``None`` there. ``tests/test_chapters.py`` checks both.
The ranges here are what ``lmcourse run -p name=value`` and ``start_chapter`` validate.
"""

from __future__ import annotations

from pathlib import Path

from lmcourse.params import Chapter, ConfigError, Param
from lmcourse.paths import CHAPTERS_DIR

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
    Chapter(
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
                int, "Chinese reviews (of 35,123) compared by character and by word (jieba); a fifth as "
                "many hand-segmented news paragraphs score jieba",
                min=100, max=35_123,
            ),
            "seq_len": Param(
                int, "characters per language-model window in the tf.data section", min=1,
                max=10_000,
            ),
            "batch_size": Param(
                int, "windows per batch in the tf.data throughput comparison", min=1, max=4096
            ),
        },
        # Training WordPiece (keras-hub's learner, ~35 s on all the training plays) dominates.
        profiles={
            "smoke": {"train_fraction": 0.03, "vocab_size": 400, "zh_lines": 1500,
                      "seq_len": 100, "batch_size": 64},
            "standard": {"train_fraction": 1.0, "vocab_size": 4000, "zh_lines": 10_000,
                         "seq_len": 100, "batch_size": 64},
            "full": {"train_fraction": 1.0, "vocab_size": 8000, "zh_lines": 35_123,
                     "seq_len": 100, "batch_size": 64},
        },
    ),
    Chapter(
        id="04",
        slug="04_rnn_lstm",
        title="RNN and LSTM: recurrence from scratch, BPTT, a character LSTM language model",
        params={
            "epochs": Param(int, "training epochs of the char-LSTM", min=1, max=10_000),
            "steps_per_epoch": Param(
                int, "training batches per epoch (0: one pass over the training text)",
                min=0, max=1_000_000,
            ),
            "seq_len": Param(
                int, "characters per training sequence (backpropagation through time)",
                min=2, max=10_000,
            ),
            "batch_size": Param(int, "sequences per training batch", min=1, max=100_000),
            "embed_dim": Param(int, "size of each character's embedding", min=1, max=4096),
            "units": Param(int, "hidden size of both LSTM layers", min=1, max=8192),
            "learning_rate": Param(
                float, "Adam's peak learning rate (cosine decay to 5% of it)",
                min=0.0, max=1.0, min_exclusive=True,
            ),
            "train_chars": Param(
                int, "characters of training text used (0: all of it)", min=0, max=100_000_000
            ),
            "val_chars": Param(
                int, "characters of validation text scored (0: all of it)", min=0,
                max=100_000_000,
            ),
            "ngram_order": Param(
                int, "order of the interpolated character n-gram baseline", min=1, max=12
            ),
        },
        profiles={
            "smoke": {"epochs": 1, "steps_per_epoch": 100, "seq_len": 50, "batch_size": 32,
                      "embed_dim": 16, "units": 32, "learning_rate": 0.02,
                      "train_chars": 200_000, "val_chars": 20_000, "ngram_order": 3},
            "standard": {"epochs": 10, "steps_per_epoch": 130, "seq_len": 100, "batch_size": 64,
                         "embed_dim": 64, "units": 256, "learning_rate": 0.004,
                         "train_chars": 0, "val_chars": 0, "ngram_order": 5},
            "full": {"epochs": 40, "steps_per_epoch": 200, "seq_len": 256, "batch_size": 128,
                     "embed_dim": 128, "units": 512, "learning_rate": 0.002,
                     "train_chars": 0, "val_chars": 0, "ngram_order": 7},
        },
    ),
    Chapter(
        id="05",
        slug="05_attention",
        title="Attention from scratch: scaled dot-product, masks as biases, multi-head",
        params={
            "d_model": Param(
                int,
                "size of the word vectors and of the multi-head attention's inputs; num_heads "
                "must divide it (d_model / num_heads is each head's d_k)",
                min=8,
                max=512,
            ),
            "num_heads": Param(int, "heads of the multi-head attention", min=1, max=64),
            "max_seq_len": Param(
                int,
                "longest sequence in the cost sweep (64, 128, ... up to this); the attention "
                "weights take 16 * num_heads * max_seq_len**2 bytes",
                min=256,
                max=16_384,
            ),
            "vocab_size": Param(
                int,
                "most frequent training words that get count-based (PPMI-SVD) word vectors",
                min=1000,
                max=10_000,
            ),
        },
        # Nothing is trained; the cost sweep (time ~ max_seq_len**2) and the eigendecomposition
        # of the vocab_size x vocab_size PPMI matrix (~ vocab_size**3) set the run time.
        profiles={
            "smoke": {"d_model": 32, "num_heads": 4, "max_seq_len": 2048, "vocab_size": 1000},
            "standard": {"d_model": 64, "num_heads": 4, "max_seq_len": 2048, "vocab_size": 2000},
            "full": {"d_model": 128, "num_heads": 8, "max_seq_len": 4096, "vocab_size": 4000},
        },
    ),
    Chapter(
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
                int, "context window: characters per training sequence (both models) and the "
                "GPT's longest input", min=8, max=4096,
            ),
            "batch_size": Param(int, "sequences per training batch (both models)", min=1,
                                max=4096),
            "steps": Param(
                int, "training steps of each model: the token budget is steps * batch_size * "
                "seq_len characters, the same for the GPT and the LSTM", min=10, max=1_000_000,
            ),
            "learning_rate": Param(
                float, "the GPT's peak AdamW learning rate (warm-up, then cosine decay to 10%)",
                min=0.0, max=1.0, min_exclusive=True,
            ),
            "dropout": Param(float, "the GPT's dropout rate", min=0.0, max=0.9),
            "lstm_units": Param(
                int, "hidden size of both layers of chapter 04's LSTM, trained for comparison",
                min=8, max=8192,
            ),
            "train_chars": Param(
                int, "characters of training text used (0: all of it)", min=0,
                max=100_000_000,
            ),
            "val_chars": Param(
                int, "characters of validation text scored at the end (0: all of it)", min=0,
                max=100_000_000,
            ),
        },
        # Training the GPT and the LSTM for the same token budget dominates the run time.
        profiles={
            "smoke": {"d_model": 32, "num_heads": 2, "num_layers": 2, "seq_len": 32,
                      "batch_size": 16, "steps": 150, "learning_rate": 0.003, "dropout": 0.0,
                      "lstm_units": 32, "train_chars": 200_000, "val_chars": 20_000},
            "standard": {"d_model": 128, "num_heads": 4, "num_layers": 4, "seq_len": 128,
                         "batch_size": 64, "steps": 400, "learning_rate": 0.002,
                         "dropout": 0.0, "lstm_units": 256, "train_chars": 0, "val_chars": 0},
            "full": {"d_model": 384, "num_heads": 6, "num_layers": 6, "seq_len": 256,
                     "batch_size": 64, "steps": 5000, "learning_rate": 0.001, "dropout": 0.2,
                     "lstm_units": 512, "train_chars": 0, "val_chars": 0},
        },
    ),
    Chapter(
        id="07",
        slug="07_pretraining_mlm",
        title="Pretraining a mini-BERT: WordPiece, masked LM 80/10/10, next-sentence pairs",
        params={
            "train_reviews": Param(
                int, "training-split reviews whose text (never their labels) is the "
                "pretraining corpus (0: all 20,000)", min=0, max=1_000_000,
            ),
            "vocab_size": Param(int, "WordPiece vocabulary size, special tokens included",
                                min=200, max=100_000),
            "seq_len": Param(
                int, "tokens per input ([CLS] A [SEP] B [SEP]); also the longest input the "
                "encoder reads in chapter 08", min=16, max=2048,
            ),
            "d_model": Param(int, "size of the encoder's vectors; num_heads must divide it",
                             min=8, max=2048),
            "num_heads": Param(int, "attention heads per encoder layer", min=1, max=64),
            "num_layers": Param(int, "Transformer encoder layers", min=1, max=48),
            "steps": Param(
                int, "pretraining steps of each of the two encoders (MLM + NSP, and MLM "
                "only)", min=10, max=10_000_000,
            ),
            "batch_size": Param(int, "sentence pairs per batch", min=2, max=4096),
            "learning_rate": Param(
                float, "peak AdamW learning rate (10% warm-up, then linear decay to 0)",
                min=0.0, max=1.0, min_exclusive=True,
            ),
            "probe_reviews": Param(
                int, "labelled training reviews for the linear probe that compares the two "
                "encoders (scored on the validation split)", min=100, max=20_000,
            ),
        },
        # Pretraining two encoders for `steps` each dominates the run time.
        profiles={
            "smoke": {"train_reviews": 600, "vocab_size": 2000, "seq_len": 64, "d_model": 32,
                      "num_heads": 2, "num_layers": 1, "steps": 40, "batch_size": 16,
                      "learning_rate": 0.002, "probe_reviews": 400},
            "standard": {"train_reviews": 0, "vocab_size": 8000, "seq_len": 128,
                         "d_model": 128, "num_heads": 4, "num_layers": 2, "steps": 1000,
                         "batch_size": 32, "learning_rate": 0.001, "probe_reviews": 4000},
            "full": {"train_reviews": 0, "vocab_size": 16000, "seq_len": 256, "d_model": 256,
                     "num_heads": 4, "num_layers": 4, "steps": 30000, "batch_size": 64,
                     "learning_rate": 0.0005, "probe_reviews": 20000},
        },
    ),
    Chapter(
        id="08",
        slug="08_finetuning",
        title="Fine-tuning a real pretrained encoder (MiniLM) against TF-IDF and training from scratch",
        params={
            "train_examples": Param(
                int, "labelled Rotten Tomatoes training sentences of the main comparison (0: "
                "all 6,845)", min=0, max=1_000_000,
            ),
            "few_labels": Param(
                int, "the smallest label count of the label-count curve (then x4, x16, ... up "
                "to train_examples)", min=16, max=1_000_000,
            ),
            "seq_len": Param(
                int, "tokens per sentence ([CLS] text [SEP]); at most chapter 07's encoder "
                "length", min=16, max=512,
            ),
            "minilm_layers": Param(
                int, "MiniLM's Transformer layers kept, from the bottom (6: all; fewer train "
                "faster)", min=1, max=6,
            ),
            "epochs": Param(int, "MiniLM fine-tuning passes over train_examples labels",
                            min=1, max=1000),
            "min_steps": Param(
                int, "fewest optimizer steps of a fine-tuning run, however few the labels "
                "(smaller label sets get more epochs)", min=1, max=1_000_000,
            ),
            "batch_size": Param(int, "sentences per batch", min=2, max=4096),
            "learning_rate": Param(
                float, "MiniLM's peak learning rate (full fine-tuning and gradual unfreezing; "
                "warm-up, then linear decay)", min=0.0, max=1.0, min_exclusive=True,
            ),
            "head_learning_rate": Param(
                float, "peak learning rate of the head on frozen MiniLM sentence vectors",
                min=0.0, max=1.0, min_exclusive=True,
            ),
            "scratch_learning_rate": Param(
                float, "peak learning rate of the course's small encoder (from scratch and "
                "chapter 07's)", min=0.0, max=1.0, min_exclusive=True,
            ),
            "scratch_epochs": Param(
                int, "passes of the small encoders over train_examples labels", min=1, max=1000,
            ),
            "imdb_examples": Param(
                int, "labelled IMDB reviews of the long-text contrast (0: all 19,923)", min=0,
                max=1_000_000,
            ),
            "imdb_test_examples": Param(
                int, "IMDB test reviews scored (0: all 2,443)", min=0, max=1_000_000,
            ),
            "imdb_seq_len": Param(int, "tokens per IMDB review (the start is kept)", min=16,
                                  max=512),
            "imdb_epochs": Param(
                int, "MiniLM full fine-tuning passes on IMDB (0: frozen sentence vectors only)",
                min=0, max=100,
            ),
        },
        # MiniLM's fine-tuning runs (22.7 M parameters) dominate the run time.
        profiles={
            "smoke": {"train_examples": 250, "few_labels": 250, "seq_len": 32, "minilm_layers": 1,
                      "epochs": 1,
                      "min_steps": 1, "batch_size": 16, "learning_rate": 0.0001,
                      "head_learning_rate": 0.003, "scratch_learning_rate": 0.001,
                      "scratch_epochs": 1, "imdb_examples": 48, "imdb_test_examples": 48,
                      "imdb_seq_len": 64, "imdb_epochs": 0},
            "standard": {"train_examples": 4000, "few_labels": 250, "seq_len": 48, "minilm_layers": 6,
                         "epochs": 2,
                         "min_steps": 64, "batch_size": 16, "learning_rate": 0.00005,
                         "head_learning_rate": 0.001, "scratch_learning_rate": 0.0005,
                         "scratch_epochs": 3, "imdb_examples": 2000, "imdb_test_examples": 500,
                         "imdb_seq_len": 128, "imdb_epochs": 0},
            "full": {"train_examples": 0, "few_labels": 250, "seq_len": 64, "minilm_layers": 6,
                     "epochs": 3,
                     "min_steps": 250, "batch_size": 32, "learning_rate": 0.00005,
                     "head_learning_rate": 0.001, "scratch_learning_rate": 0.0005,
                     "scratch_epochs": 10, "imdb_examples": 0, "imdb_test_examples": 0,
                     "imdb_seq_len": 256, "imdb_epochs": 2},
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
