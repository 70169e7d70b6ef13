"""Sentence-level uses of a BERT encoder: sentence vectors and a sequence classifier.

* :func:`sentence_vectors` - mean-pooled ``(N, d)`` vectors of packed inputs (NumPy), e.g.
  for similarity or a frozen-feature classifier.
* :func:`build_classifier` - encoder -> a sentence vector (the pooler's ``[CLS]`` vector or
  the mean of the tokens) -> Dropout -> ``Dense(num_classes)`` logits, to fine-tune.

The encoder's layers, grouped top first for gradual unfreezing, are
:func:`lmcourse.models.bert.layer_groups`.

Shapes: ``N`` inputs, ``B`` batch, ``S`` sequence length, ``d`` = ``d_model``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lmcourse._checks import check_int, check_rate
from lmcourse.models.bert import encoder_config
from lmcourse.models.bert_layers import (
    MeanPooling,
    bert_initializer,
    embedding_layer,
    encoder_inputs,
)


def sentence_vectors(
    encoder: keras.Model, inputs: dict[str, Any], *, batch_size: int = 64, normalize: bool = False
) -> Any:
    """Mean-pooled sentence vectors ``(N, d)`` (NumPy, float32) of packed ``inputs``.

    The encoder runs in inference mode (no dropout), ``batch_size`` inputs at a time, each
    batch cut to its longest real input (padding changes nothing under the mask).

    Args:
        encoder: from :func:`~lmcourse.models.bert.build_bert_encoder` (e.g.
            ``lmcourse.pretrained.load_minilm``).
        inputs: ``{"token_ids", "segment_ids", "padding_mask"}``, each ``(N, S)``, padding at
            the end (``lmcourse.pipelines.encode_for_classification``).
        batch_size: inputs per forward pass.
        normalize: scale every vector to length 1 (then a dot product is the cosine).

    Example:
        >>> import numpy as np
        >>> from lmcourse.models.bert import build_bert_encoder
        >>> enc = build_bert_encoder(30, max_length=8, d_model=16, num_heads=2, num_layers=1)
        >>> x = {"token_ids": np.array([[2, 5, 3, 0], [2, 6, 7, 3]], "int32"),
        ...      "segment_ids": np.zeros((2, 4), "int32"),
        ...      "padding_mask": np.array([[1, 1, 1, 0], [1, 1, 1, 1]], "int32")}
        >>> sentence_vectors(enc, x, normalize=True).shape
        (2, 16)
    """
    pool = MeanPooling()
    n, out = len(inputs["token_ids"]), []
    for start in range(0, n, check_int("batch_size", batch_size)):
        batch = {k: np.asarray(v[start : start + batch_size]) for k, v in inputs.items()}
        width = max(int(batch["padding_mask"].sum(axis=1).max()), 1)
        batch = {k: v[:, :width] for k, v in batch.items()}
        seq = encoder(batch, training=False)["sequence_output"]
        out.append(ops.convert_to_numpy(pool(seq, batch["padding_mask"])).astype(np.float32))
    vectors = (
        np.concatenate(out)
        if out
        else np.zeros((0, encoder_config(encoder)["d_model"]), np.float32)
    )
    if normalize:
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


POOLINGS = ("cls", "mean")


def build_classifier(
    encoder: keras.Model,
    *,
    num_classes: int = 2,
    dropout: float = 0.1,
    pooling: str = "cls",
    name: str = "classifier",
) -> keras.Model:
    """A sequence classifier: encoder -> a sentence vector -> Dropout -> ``Dense(num_classes)``.

    Args:
        encoder: from :func:`~lmcourse.models.bert.build_bert_encoder` (pretrained or not); its
            weights are shared, so freezing its layers (:func:`~lmcourse.models.bert.layer_groups`)
            freezes them here.
        num_classes: the number of classes (2 or more).
        dropout: rate of the dropout before the head, in [0, 1).
        pooling: ``"cls"``: the pooler's ``tanh(P h_[CLS] + c)`` (``pooled_output``, BERT's choice);
            ``"mean"``: :class:`~lmcourse.models.bert_layers.MeanPooling` of ``sequence_output``
            over the real tokens (sentence-transformers' choice). With ``"mean"`` the pooler is
            unused, so it is frozen (``trainable = False``) and no optimizer keeps state for it.
        name: the model's name.

    Returns:
        A functional ``keras.Model``: the encoder's three inputs -> ``(B, num_classes)``
        float32 logits (train with ``SparseCategoricalCrossentropy(from_logits=True)``).
        The head is the layer ``classifier_head``.

    Raises:
        ValueError: ``num_classes < 2``, a dropout outside [0, 1) or an unknown pooling.
    """
    num_classes = check_int("num_classes", num_classes, low=2)
    dropout = check_rate("dropout", dropout)
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} is not one of {', '.join(POOLINGS)}")
    embedding_layer(encoder)
    inputs = encoder_inputs()
    out = encoder(inputs)
    if pooling == "mean":
        encoder.get_layer("pooler").trainable = False
        pooled = MeanPooling(name="mean_pooling")(out["sequence_output"], inputs["padding_mask"])
    else:
        pooled = out["pooled_output"]
    x = keras.layers.Dropout(dropout, name="classifier_dropout")(pooled)
    logits = keras.layers.Dense(
        num_classes, kernel_initializer=bert_initializer(), dtype="float32", name="classifier_head"
    )(x)
    return keras.Model(inputs, logits, name=name)


__all__ = ["POOLINGS", "build_classifier", "sentence_vectors"]
