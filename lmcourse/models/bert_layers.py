"""The pieces a BERT encoder is built from, and how to find them in one.

* :class:`BertEmbedding` - token + learned position + segment embedding, LayerNorm, dropout:
  ``(B, S)`` ids -> ``(B, S, d)``.
* :func:`gelu_approximate` (registered, so it saves) and :data:`ACTIVATIONS`, the
  feed-forward activations by name; :func:`bert_initializer`, BERT's
  ``TruncatedNormal(stddev=0.02)``.
* :class:`MeanPooling` - the mean of the real tokens' vectors, ``(B, S, d) -> (B, d)``.
* :data:`ENCODER_INPUTS` and :func:`encoder_inputs` - the encoder's three ``(B, S)`` int32
  inputs ``token_ids``, ``segment_ids``, ``padding_mask``.
* :func:`embedding_layer` and :func:`transformer_layers` - an encoder's layers by the names
  :func:`lmcourse.models.bert.build_bert_encoder` gives them (``embeddings``,
  ``transformer_layer_0 .. transformer_layer_{L-1}``; the pooler is ``pooler``).

Shapes: ``B`` batch, ``S`` sequence length (``<= max_length``), ``d`` = ``d_model``,
``V`` vocabulary. Everything uses ``keras.layers``/``keras.ops``, so it runs on TensorFlow,
JAX and PyTorch.

Example:
    >>> import numpy as np
    >>> emb = BertEmbedding(vocab_size=10, max_length=8, d_model=4)
    >>> h = emb(np.array([[1, 2, 3]]), np.array([[0, 0, 1]]))             # (B, S, d)
    >>> tuple(MeanPooling()(h, np.array([[1, 1, 0]])).shape)              # (B, d)
    (1, 4)
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lmcourse._checks import check_int, check_rate, static_dim
from lmcourse.models.transformer import TransformerBlock

ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")
"""The names of the encoder's inputs (those of ``keras_hub.models.BertBackbone``)."""


@keras.saving.register_keras_serializable(package="lmcourse")
def gelu_approximate(x: Any) -> Any:
    """GELU with the tanh approximation, as BERT (and keras-hub's BERT) uses it.

    .. math::  \\mathrm{GELU}(x) \\approx \\tfrac12 x\\,(1 + \\tanh(\\sqrt{2/\\pi}\\,(x + 0.044715 x^3)))

    A registered function (not a lambda), so layers using it save to and load from ``.keras``.
    """
    return keras.activations.gelu(x, approximate=True)


ACTIVATIONS: dict[str, Any] = {"gelu_approximate": gelu_approximate, "gelu": "gelu"}
"""The feed-forward activations of :func:`~lmcourse.models.bert.build_bert_encoder`, by name."""


def bert_initializer(stddev: float = 0.02) -> keras.initializers.Initializer:
    """A fresh ``TruncatedNormal(stddev=0.02)``: BERT's initializer of every kernel and table."""
    return keras.initializers.TruncatedNormal(stddev=stddev)


@keras.saving.register_keras_serializable(package="lmcourse")
class BertEmbedding(keras.layers.Layer):
    """BERT's input vectors: token + learned position + segment embedding, LayerNorm, dropout.

    Args:
        vocab_size: ``V``, the number of token ids.
        max_length: the longest sequence; one learned position vector per position
            ``0 .. max_length - 1``.
        d_model: ``d``, the embedding size.
        num_segments: the number of segment ids (2: sentence A and sentence B).
        dropout: dropout rate after the LayerNorm (training only), in [0, 1).
        layer_norm_epsilon: added to the variance in the LayerNorm (BERT: 1e-12).
        embeddings_initializer: initializer of the three tables (default
            ``TruncatedNormal(stddev=0.02)``).
        **kwargs: ``keras.layers.Layer`` arguments.

    Sub-layers (the names of ``keras_hub.models.BertBackbone``): ``token_embedding`` (a
    ``keras.layers.Embedding`` ``(V, d)``, also the output matrix of
    :class:`~lmcourse.models.bert_pretrainer.MaskedLMHead`), ``position_embedding``
    (``(max_length, d)``), ``segment_embedding`` (``(num_segments, d)``),
    ``embeddings_layer_norm``, ``embeddings_dropout``.

    Call arguments:
        token_ids: ``(B, S)`` int token ids.
        segment_ids: ``(B, S)`` int segment ids; None: all 0.
        training: apply dropout.

    Returns:
        ``(B, S, d)``.

    Raises:
        ValueError: ``S`` (when known) is longer than ``max_length``; the message names both.

    Example:
        >>> import numpy as np
        >>> emb = BertEmbedding(vocab_size=10, max_length=8, d_model=4)
        >>> tuple(emb(np.array([[1, 2, 3]]), np.array([[0, 0, 1]])).shape)
        (1, 3, 4)
    """

    def __init__(
        self,
        vocab_size: int,
        max_length: int,
        d_model: int,
        num_segments: int = 2,
        dropout: float = 0.1,
        layer_norm_epsilon: float = 1e-12,
        embeddings_initializer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size = check_int("vocab_size", vocab_size)
        self.max_length = check_int("max_length", max_length)
        self.d_model = check_int("d_model", d_model)
        self.num_segments = check_int("num_segments", num_segments)
        self.dropout = check_rate("dropout", dropout)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or bert_initializer()
        )
        policy = self.dtype_policy

        def table(rows: int, name: str) -> keras.layers.Embedding:
            init = self.embeddings_initializer  # a fresh copy per table: never one seeded twice
            return keras.layers.Embedding(
                rows,
                self.d_model,
                embeddings_initializer=init.__class__.from_config(init.get_config()),
                dtype=policy,
                name=name,
            )

        self.token_embedding = table(self.vocab_size, "token_embedding")
        self.position_embedding = table(self.max_length, "position_embedding")
        self.segment_embedding = table(self.num_segments, "segment_embedding")
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="embeddings_layer_norm"
        )
        self.embeddings_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="embeddings_dropout"
        )

    def build(self, token_ids_shape=None, segment_ids_shape=None) -> None:
        shape = (None, None) if token_ids_shape is None else tuple(token_ids_shape)
        self.token_embedding.build(shape)
        self.position_embedding.build((None,))
        self.segment_embedding.build(shape)
        self.embeddings_layer_norm.build((*shape, self.d_model))
        self.built = True

    def call(self, token_ids, segment_ids=None, training=None):
        length = static_dim(token_ids.shape[-1])
        if length is not None and length > self.max_length:
            raise ValueError(
                f"a sequence of {length} tokens is longer than max_length={self.max_length}: "
                f"the encoder has position embeddings for positions 0..{self.max_length - 1} "
                f"only; truncate the input to {self.max_length} tokens (or build the encoder "
                f"with a larger max_length)"
            )
        if length is None:
            length = ops.shape(token_ids)[-1]
        tokens = self.token_embedding(token_ids)  # (B, S, d)
        table = ops.convert_to_tensor(self.position_embedding.embeddings)  # (max_length, d)
        positions = ops.cast(ops.slice(table, [0, 0], [length, self.d_model]), tokens.dtype)
        if segment_ids is None:
            segment_ids = ops.zeros_like(token_ids)
        segments = self.segment_embedding(segment_ids)  # (B, S, d)
        x = tokens + positions[None] + segments
        x = self.embeddings_layer_norm(x)
        return self.embeddings_dropout(x, training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return (*token_ids_shape, self.d_model)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "max_length": self.max_length,
            "d_model": self.d_model,
            "num_segments": self.num_segments,
            "dropout": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        }


@keras.saving.register_keras_serializable(package="lmcourse")
class MeanPooling(keras.layers.Layer):
    """The mean of the real tokens' vectors: ``sum_t m_t h_t / sum_t m_t`` (padding left out).

    Sentence-transformers models (all-MiniLM-L6-v2 among them) are trained to be read this
    way, rather than through the ``[CLS]`` vector and the pooler.

    Call arguments:
        sequence_output: ``(B, S, d)``.
        padding_mask: ``(B, S)``, 1/True for real tokens, 0/False for padding.

    Returns:
        ``(B, d)`` (a row of only padding gives zeros, not NaN).

    Example:
        >>> import numpy as np
        >>> h = np.array([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]], "float32")
        >>> keras.ops.convert_to_numpy(MeanPooling()(h, np.array([[1, 1, 0]]))).tolist()
        [[2.0, 3.0]]
    """

    def call(self, sequence_output, padding_mask):
        mask = ops.cast(padding_mask, sequence_output.dtype)[:, :, None]  # (B, S, 1)
        total = ops.sum(sequence_output * mask, axis=1)  # (B, d)
        return total / ops.maximum(ops.sum(mask, axis=1), 1.0)

    def compute_output_shape(self, sequence_output_shape, padding_mask_shape=None):
        return (sequence_output_shape[0], sequence_output_shape[-1])


# ------------------------------------------------------------------------ finding the layers


def encoder_inputs(names: tuple[str, ...] = ENCODER_INPUTS) -> dict[str, Any]:
    """Fresh ``keras.Input`` s ``(B, S)`` int32 named ``names`` (S may vary per batch)."""
    return {n: keras.Input(shape=(None,), dtype="int32", name=n) for n in names}


def transformer_layers(encoder: keras.Model) -> list[TransformerBlock]:
    """The encoder's Transformer blocks ``transformer_layer_0, transformer_layer_1, ...``, in order."""
    blocks = []
    while True:
        try:
            blocks.append(encoder.get_layer(f"transformer_layer_{len(blocks)}"))
        except ValueError:
            return blocks


def embedding_layer(encoder: Any) -> BertEmbedding:
    """The encoder's :class:`BertEmbedding` (the layer ``embeddings``).

    Raises:
        ValueError: ``encoder`` has no such layer: it is not a BERT encoder.
    """
    try:
        layer = encoder.get_layer("embeddings")
    except (ValueError, AttributeError):
        layer = None
    if not isinstance(layer, BertEmbedding):
        raise ValueError(
            f"{getattr(encoder, 'name', encoder)!r} is not a BERT encoder (no BertEmbedding "
            "layer named 'embeddings'): make one with build_bert_encoder"
        )
    return layer


__all__ = [
    "ACTIVATIONS",
    "ENCODER_INPUTS",
    "BertEmbedding",
    "MeanPooling",
    "bert_initializer",
    "embedding_layer",
    "encoder_inputs",
    "gelu_approximate",
    "transformer_layers",
]
