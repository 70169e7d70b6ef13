"""A bag-of-embeddings text classifier with every regularizer as a switch (chapter 09).

ids (B, T) -> [TokenDropout] -> Embedding (B, T, d) -> mean over non-padding tokens (B, d) ->
Dense(hidden, ReLU) -> [Dropout] -> Dense(classes) logits (B, C). Id 0 is padding; a text
whose every token was dropped has the zero vector as its mean. L1/L2 penalties, if any, are added to the
loss on the embedding and dense kernels (``kernel_regularizer``); decoupled weight decay
belongs to the optimizer (``keras.optimizers.AdamW(weight_decay=...)``), not here.

Example:
    >>> model = build_bag_classifier(vocab_size=100, dim=8, hidden=16, num_classes=2)
    >>> tuple(model(np.zeros((3, 5), "int32")).shape)
    (3, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from lmcourse._checks import check_int, check_number
from lmcourse.models.bert_layers import MeanPooling
from lmcourse.regularization import TokenDropout
from lmcourse.vocabulary import UNK, Vocabulary

PAD = "<pad>"


def words_of(text: str) -> list[str]:
    """The lowercased white-space words of ``text``."""
    return text.lower().split()


def word_vocabulary(texts: Sequence[str], min_count: int = 1) -> Vocabulary:
    """Words of the training texts, ``<pad>`` = 0 and ``<unk>`` = 1 first."""
    return Vocabulary.from_tokens(
        (w for t in texts for w in words_of(t)), min_count=min_count, specials=(PAD, UNK)
    )


def word_ids(texts: Sequence[str], vocab: Vocabulary, length: int) -> np.ndarray:
    """(N, length) int32 ids, each text cut or padded (with 0) to ``length`` words."""
    check_int("length", length, 1, where="word_ids")
    out = np.zeros((len(texts), length), "int32")
    for i, text in enumerate(texts):
        ids = vocab.encode(words_of(text)[:length])
        out[i, : len(ids)] = ids
    return out


def build_bag_classifier(
    vocab_size: int,
    *,
    dim: int = 64,
    hidden: int = 128,
    num_classes: int = 2,
    dropout: float = 0.0,
    token_dropout: float = 0.0,
    l1: float = 0.0,
    l2: float = 0.0,
    seed: int | None = None,
) -> keras.Model:
    """The classifier; id 0 is padding (masked out of the mean)."""
    for name, value in (("vocab_size", vocab_size), ("dim", dim), ("hidden", hidden)):
        check_int(name, value, 1, where="build_bag_classifier")
    check_int("num_classes", num_classes, 2, where="build_bag_classifier")
    for name, value in (("l1", l1), ("l2", l2)):
        check_number(name, value, low=0.0, where="build_bag_classifier")
    penalty = keras.regularizers.L1L2(l1=l1, l2=l2) if l1 or l2 else None
    init = lambda: keras.initializers.GlorotUniform(seed=seed)  # noqa: E731
    ids = keras.Input((None,), dtype="int32", name="ids")
    kept = TokenDropout(token_dropout, seed=seed)(ids) if token_dropout else ids
    x = keras.layers.Embedding(
        vocab_size,
        dim,
        embeddings_regularizer=penalty,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
    )(kept)
    x = MeanPooling()(x, ops.not_equal(kept, 0))  # bert_layers: zeros if all dropped
    x = keras.layers.Dense(
        hidden, activation="relu", kernel_regularizer=penalty, kernel_initializer=init()
    )(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed)(x)
    logits = keras.layers.Dense(num_classes, kernel_regularizer=penalty, kernel_initializer=init())(
        x
    )
    return keras.Model(ids, logits, name="bag_classifier")
