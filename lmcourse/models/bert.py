"""A mini-BERT: the bidirectional Transformer encoder, its pretraining heads, a classifier.

BERT (Devlin et al., 2018) reads a whole sequence at once, with no causal mask: every
position sees every other (real) position. The input is one or two segments, packed as
``[CLS] A ... [SEP] B ... [SEP] [PAD] ...``; each token's input vector is the sum

.. math::  e_t = E_{\\text{token}}[w_t] + E_{\\text{position}}[t] + E_{\\text{segment}}[s_t]

followed by LayerNorm and dropout (:class:`BertEmbedding`). ``L`` post-LN
:class:`~lmcourse.models.transformer.TransformerBlock` s (GELU feed-forward, LayerNorm
epsilon 1e-12) refine it into ``sequence_output (B, S, d)``; the **pooler**, a
``Dense(d, tanh)`` on the ``[CLS]`` vector at position 0, gives ``pooled_output (B, d)``, the
summary of the whole input that sentence-level heads read (:func:`build_bert_encoder`).
With the default arguments the encoder is the arrangement of
``keras_hub.models.BertBackbone``, and :func:`copy_weights_from_keras_hub` makes the two
compute the same function (checked to 1e-5 in the tests).

Pretraining (chapter 07) trains two heads at once (:func:`build_pretrainer`):

* **masked language modeling** (MLM): some tokens are hidden (80% ``[MASK]``, 10% a random
  token, 10% unchanged) and :class:`MaskedLMHead` predicts the original token at those
  ``P`` positions from both sides' context. Its output matrix is the token embedding itself
  (``logits = h E^T + b``, *weight tying*): the same ``V x d`` table reads tokens in and
  writes them out.
* **next sentence prediction** (NSP): from ``pooled_output``, is segment B the sentence
  that followed A (1) or a random one (0)?

Fine-tuning (chapter 08) puts a small head on ``pooled_output`` (:func:`build_classifier`)
and trains it with the encoder frozen, unfrozen group by group from the top
(:func:`layer_groups`, ULMFiT's gradual unfreezing) or all at once.
:func:`save_pretrained` / :func:`load_pretrained` carry a pretrained encoder and its
vocabulary from one chapter to the next, and refuse a vocabulary that does not belong to it
(:class:`VocabularyMismatchError`).

Shapes: ``B`` batch, ``S`` sequence length (``<= max_length``), ``d`` = ``d_model``,
``L`` layers, ``V`` vocabulary, ``P`` masked positions per sequence.

Everything uses ``keras.layers``/``keras.ops``, so it runs on TensorFlow, JAX and PyTorch
(keras-hub is imported only by the tests and by the caller of
:func:`copy_weights_from_keras_hub`).

Example:
    >>> import numpy as np
    >>> encoder = build_bert_encoder(50, max_length=16, d_model=32, num_heads=4, num_layers=2)
    >>> x = {"token_ids": np.array([[2, 7, 9, 3, 0, 0]], "int32"),
    ...      "segment_ids": np.zeros((1, 6), "int32"),
    ...      "padding_mask": np.array([[1, 1, 1, 1, 0, 0]], "int32")}
    >>> out = encoder(x)
    >>> tuple(out["sequence_output"].shape), tuple(out["pooled_output"].shape)
    ((1, 6, 32), (1, 32))
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from lmcourse.models.transformer import (
    TransformerBlock,
    _check_heads,
    _check_int,
    _check_rate,
    _static,
    copy_block_weights,
)

ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")
"""The names of the encoder's inputs (those of ``keras_hub.models.BertBackbone``)."""

ENCODER_FILE, VOCAB_FILE, METADATA_FILE = "encoder.keras", "vocab.txt", "metadata.json"


@keras.saving.register_keras_serializable(package="lmcourse")
def gelu_approximate(x: Any) -> Any:
    """GELU with the tanh approximation, as BERT (and keras-hub's BERT) uses it.

    .. math::  \\mathrm{GELU}(x) \\approx \\tfrac12 x\\,(1 + \\tanh(\\sqrt{2/\\pi}\\,(x + 0.044715 x^3)))

    A registered function (not a lambda), so layers using it save to and load from ``.keras``.
    """
    return keras.activations.gelu(x, approximate=True)


ACTIVATIONS: dict[str, Any] = {"gelu_approximate": gelu_approximate, "gelu": "gelu"}
"""The feed-forward activations :func:`build_bert_encoder` accepts, by name."""


def _activation_name(block: TransformerBlock) -> str:
    name = getattr(block.feedforward_intermediate_dense.activation, "__name__", "")
    return "gelu" if name == "gelu" else "gelu_approximate"


def bert_initializer(stddev: float = 0.02) -> keras.initializers.Initializer:
    """A fresh ``TruncatedNormal(stddev=0.02)``: BERT's initializer of every kernel and table."""
    return keras.initializers.TruncatedNormal(stddev=stddev)


# ------------------------------------------------------------------------------ embedding


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

    Sub-layers (the names of ``keras_hub.models.BertBackbone``): ``token_embedding``
    (a ``keras.layers.Embedding`` ``(V, d)``, also the output matrix of :class:`MaskedLMHead`),
    ``position_embedding`` (``(max_length, d)``), ``segment_embedding``
    (``(num_segments, d)``), ``embeddings_layer_norm``, ``embeddings_dropout``.

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
        self.vocab_size = _check_int("vocab_size", vocab_size)
        self.max_length = _check_int("max_length", max_length)
        self.d_model = _check_int("d_model", d_model)
        self.num_segments = _check_int("num_segments", num_segments)
        self.dropout = _check_rate("dropout", dropout)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or bert_initializer())
        policy = self.dtype_policy

        def table(rows: int, name: str) -> keras.layers.Embedding:
            init = self.embeddings_initializer  # a fresh copy per table: never one seeded twice
            return keras.layers.Embedding(
                rows, self.d_model, embeddings_initializer=init.__class__.from_config(
                    init.get_config()), dtype=policy, name=name)

        self.token_embedding = table(self.vocab_size, "token_embedding")
        self.position_embedding = table(self.max_length, "position_embedding")
        self.segment_embedding = table(self.num_segments, "segment_embedding")
        self.embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="embeddings_layer_norm")
        self.embeddings_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="embeddings_dropout")

    def build(self, token_ids_shape=None, segment_ids_shape=None) -> None:
        shape = (None, None) if token_ids_shape is None else tuple(token_ids_shape)
        self.token_embedding.build(shape)
        self.position_embedding.build((None,))
        self.segment_embedding.build(shape)
        self.embeddings_layer_norm.build((*shape, self.d_model))
        self.built = True

    def call(self, token_ids, segment_ids=None, training=None):
        length = _static(token_ids.shape[-1])
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


# -------------------------------------------------------------------------------- encoder


def encoder_inputs(names: tuple[str, ...] = ENCODER_INPUTS) -> dict[str, Any]:
    """Fresh ``keras.Input`` s ``(B, S)`` int32 named ``names`` (S may vary per batch)."""
    return {n: keras.Input(shape=(None,), dtype="int32", name=n) for n in names}


def build_bert_encoder(
    vocab_size: int,
    *,
    max_length: int,
    d_model: int = 128,
    num_heads: int = 4,
    num_layers: int = 2,
    ff_dim: int | None = None,
    dropout: float = 0.1,
    num_segments: int = 2,
    norm_first: bool = False,
    layer_norm_epsilon: float = 1e-12,
    activation: str = "gelu_approximate",
    name: str = "bert_encoder",
) -> keras.Model:
    """A BERT encoder as a functional ``keras.Model``.

    ``embeddings`` (:class:`BertEmbedding`) -> ``transformer_layer_0 .. transformer_layer_{L-1}``
    (:class:`~lmcourse.models.transformer.TransformerBlock`, no causal mask, padding masked)
    -> ``sequence_output``; ``pooler`` (``Dense(d, tanh)``) on position 0 (``[CLS]``) ->
    ``pooled_output``. All kernels and tables start from ``TruncatedNormal(stddev=0.02)``.
    The defaults (post-LN, epsilon 1e-12, tanh-approximate GELU) are the arrangement of
    ``keras_hub.models.BertBackbone``.

    Args:
        vocab_size: ``V``.
        max_length: the longest input (learned positions exist up to it).
        d_model: ``d``, the hidden size.
        num_heads: ``H``; must divide ``d_model``.
        num_layers: ``L``, the number of Transformer blocks.
        ff_dim: the feed-forward hidden size; None: ``4 d_model``.
        dropout: dropout rate of the embeddings, attention weights and sub-layer outputs.
        num_segments: the number of segment ids.
        norm_first: False: post-LN (BERT); True: pre-LN.
        layer_norm_epsilon: of every LayerNorm (BERT: 1e-12).
        activation: the feed-forward non-linearity: ``"gelu_approximate"`` (tanh form, as
            keras-hub's BERT computes it) or ``"gelu"`` (the exact ``x Phi(x)``, as the
            original BERT and HuggingFace checkpoints were trained).
        name: the model's name.

    Returns:
        A ``keras.Model``: inputs ``{"token_ids", "segment_ids", "padding_mask"}``, each
        ``(B, S)`` int32 (``padding_mask``: 1/True for real tokens, 0/False for padding; bool
        is accepted too); outputs ``{"sequence_output": (B, S, d), "pooled_output": (B, d)}``.

    Raises:
        ValueError: a size < 1, ``d_model`` not divisible by ``num_heads``, a dropout outside
            [0, 1) (before anything is built); a call with more than ``max_length`` tokens.

    Example:
        >>> encoder = build_bert_encoder(100, max_length=32, d_model=64, num_heads=4)
        >>> [layer.name for layer in encoder.layers if layer.weights]
        ['embeddings', 'transformer_layer_0', 'transformer_layer_1', 'pooler']
    """
    vocab_size = _check_int("vocab_size", vocab_size)
    max_length = _check_int("max_length", max_length)
    d_model = _check_int("d_model", d_model)
    num_heads = _check_int("num_heads", num_heads)
    _check_heads(d_model, num_heads)
    num_layers = _check_int("num_layers", num_layers)
    ff_dim = 4 * d_model if ff_dim is None else _check_int("ff_dim", ff_dim)
    dropout = _check_rate("dropout", dropout)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is not one of {', '.join(ACTIVATIONS)}: "
                         "BERT's feed-forward layers use a GELU")

    inputs = encoder_inputs()
    x = BertEmbedding(vocab_size, max_length, d_model, num_segments=num_segments,
                      dropout=dropout, layer_norm_epsilon=layer_norm_epsilon,
                      name="embeddings")(inputs["token_ids"], inputs["segment_ids"])
    for i in range(num_layers):
        x = TransformerBlock(d_model, num_heads, ff_dim, dropout=dropout,
                             norm_first=norm_first, activation=ACTIVATIONS[activation],
                             layer_norm_epsilon=layer_norm_epsilon,
                             kernel_initializer=bert_initializer(),
                             name=f"transformer_layer_{i}")(
            x, padding_mask=inputs["padding_mask"])
    pooled = keras.layers.Dense(d_model, activation="tanh", kernel_initializer=bert_initializer(),
                                name="pooler")(x[:, 0, :])  # the [CLS] vector
    return keras.Model(inputs, {"sequence_output": x, "pooled_output": pooled}, name=name)


def _blocks(encoder: keras.Model) -> list[TransformerBlock]:
    blocks = []
    while True:
        try:
            blocks.append(encoder.get_layer(f"transformer_layer_{len(blocks)}"))
        except ValueError:
            return blocks


def _embeddings(encoder: Any) -> BertEmbedding:
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


def encoder_config(encoder: keras.Model) -> dict[str, Any]:
    """The arguments of :func:`build_bert_encoder` that rebuild ``encoder`` (read off its layers).

    Returns:
        ``{"vocab_size", "max_length", "d_model", "num_heads", "num_layers", "ff_dim",
        "dropout", "num_segments", "norm_first", "layer_norm_epsilon", "activation", "name"}``:
        plain JSON values; ``build_bert_encoder(**encoder_config(e))`` has the same shapes as ``e``.

    Raises:
        ValueError: ``encoder`` is not one made by :func:`build_bert_encoder`.
    """
    emb = _embeddings(encoder)
    blocks = _blocks(encoder)
    if not blocks:
        raise ValueError(f"{encoder.name!r} has no layer 'transformer_layer_0': not a BERT encoder")
    first = blocks[0]
    return {
        "vocab_size": emb.vocab_size,
        "max_length": emb.max_length,
        "d_model": emb.d_model,
        "num_heads": first.num_heads,
        "num_layers": len(blocks),
        "ff_dim": first.ff_dim,
        "dropout": emb.dropout,
        "num_segments": emb.num_segments,
        "norm_first": first.norm_first,
        "layer_norm_epsilon": emb.layer_norm_epsilon,
        "activation": _activation_name(first),
        "name": encoder.name,
    }


def token_embedding(encoder: keras.Model) -> keras.layers.Embedding:
    """The encoder's ``(V, d)`` token ``keras.layers.Embedding`` (to tie an output layer to)."""
    return _embeddings(encoder).token_embedding


def _assign(mine: Any, theirs: Any, what: str) -> None:
    if tuple(mine.shape) != tuple(theirs.shape):
        raise ValueError(f"{what}: shape {tuple(mine.shape)} here but {tuple(theirs.shape)} in "
                         "the keras-hub backbone: build both with the same sizes")
    mine.assign(theirs)


def copy_weights_from_keras_hub(encoder: keras.Model, backbone: Any) -> keras.Model:
    """Give ``encoder`` the weights of a ``keras_hub.models.BertBackbone``; returns ``encoder``.

    Maps ``token_embedding``, ``position_embedding``, ``segment_embedding`` and
    ``embeddings_layer_norm`` onto the :class:`BertEmbedding`, each ``transformer_layer_i``
    (a ``keras_hub.layers.TransformerEncoder``) onto the block of the same name
    (:func:`~lmcourse.models.transformer.copy_block_weights`), and ``pooled_dense`` onto
    ``pooler``. A default encoder then computes the backbone's function (to float rounding).

    Args:
        encoder: from :func:`build_bert_encoder` with ``norm_first=False`` (BERT's post-LN).
        backbone: e.g. ``keras_hub.models.BertBackbone(vocabulary_size=V, num_layers=L,
            num_heads=H, hidden_dim=d, intermediate_dim=ff_dim, max_sequence_length=
            max_length, num_segments=...)`` (from a config: nothing is downloaded).

    Raises:
        ValueError: the sizes differ (named in the message), or ``encoder`` is pre-LN.

    Example:
        >>> import keras_hub
        >>> backbone = keras_hub.models.BertBackbone(
        ...     vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16,
        ...     intermediate_dim=32, max_sequence_length=8)
        >>> encoder = build_bert_encoder(50, max_length=8, d_model=16, num_heads=2, num_layers=1,
        ...                              ff_dim=32)
        >>> encoder = copy_weights_from_keras_hub(encoder, backbone)
    """
    cfg = encoder_config(encoder)
    theirs = {
        "vocab_size": backbone.vocabulary_size, "d_model": backbone.hidden_dim,
        "num_layers": backbone.num_layers, "num_heads": backbone.num_heads,
        "ff_dim": backbone.intermediate_dim, "max_length": backbone.max_sequence_length,
        "num_segments": backbone.num_segments,
    }
    differ = [f"{k}={cfg[k]} here but {v} in keras-hub" for k, v in theirs.items() if cfg[k] != v]
    if differ:
        raise ValueError("the encoder and the BertBackbone have different sizes: "
                         + "; ".join(differ))
    if cfg["norm_first"]:
        raise ValueError("the encoder is pre-LN (norm_first=True) but BertBackbone is post-LN: "
                         "build the encoder with norm_first=False")
    emb = _embeddings(encoder)
    _assign(emb.token_embedding.embeddings, backbone.token_embedding.embeddings,
            "token_embedding")
    _assign(emb.position_embedding.embeddings, backbone.position_embedding.position_embeddings,
            "position_embedding")
    _assign(emb.segment_embedding.embeddings, backbone.segment_embedding.embeddings,
            "segment_embedding")
    for mine, ref in zip(emb.embeddings_layer_norm.weights,
                         backbone.embeddings_layer_norm.weights, strict=True):
        _assign(mine, ref, "embeddings_layer_norm")
    for block, ref in zip(_blocks(encoder), backbone.transformer_layers, strict=True):
        copy_block_weights(block, ref)
    pooler = encoder.get_layer("pooler")
    for mine, ref in zip(pooler.weights, backbone.pooled_dense.weights, strict=True):
        _assign(mine, ref, "pooler")
    return encoder


# ------------------------------------------------------------------------ pretraining heads


@keras.saving.register_keras_serializable(package="lmcourse")
class MaskedLMHead(keras.layers.Layer):
    """Predicts the tokens at the masked positions, with the token embedding as output matrix.

    ``h = LayerNorm(GELU(x W + b))`` at the ``P`` gathered positions, then
    ``logits = h E^T + c`` where ``E (V, d)`` is the encoder's token embedding (weight tying:
    no second ``d x V`` matrix; the same vector reads a token in and scores it out) and
    ``c (V,)`` a bias of this layer.

    **Saving.** The embedding belongs to the encoder, so ``get_config`` cannot carry it and
    ``from_config`` alone cannot rebuild the head (it raises, saying so). Save and load the
    :class:`BertPretrainer` (:func:`build_pretrainer`) instead: it owns both the encoder and
    the head, rebuilds the tie on loading, and the shared table is stored once.

    Args:
        token_embedding: the encoder's ``keras.layers.Embedding`` ``(V, d)``
            (:func:`token_embedding`); must be built.
        layer_norm_epsilon: of the LayerNorm (BERT: 1e-12).
        kernel_initializer: of the ``d x d`` dense layer (default ``TruncatedNormal(0.02)``).
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        sequence_output: ``(B, S, d)`` from the encoder.
        mask_positions: ``(B, P)`` int indices into ``S`` of the tokens to predict (pad with
            any valid index, e.g. 0, and give those a sample weight of 0).

    Returns:
        ``(B, P, V)`` float32 logits.

    Raises:
        ValueError: ``token_embedding`` is missing or not a built ``keras.layers.Embedding``,
            or ``sequence_output``'s last axis is not ``d`` (the message names both sizes).

    Example:
        >>> import numpy as np
        >>> encoder = build_bert_encoder(30, max_length=8, d_model=16, num_heads=2, num_layers=1)
        >>> head = MaskedLMHead(token_embedding(encoder))
        >>> seq = np.zeros((2, 8, 16), "float32")
        >>> tuple(head(seq, np.array([[1, 4], [2, 0]])).shape)
        (2, 2, 30)
    """

    def __init__(
        self,
        token_embedding: keras.layers.Embedding | None = None,
        layer_norm_epsilon: float = 1e-12,
        kernel_initializer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(token_embedding, keras.layers.Embedding) or not token_embedding.built:
            raise ValueError(
                "MaskedLMHead needs the encoder's built token embedding (a keras.layers."
                f"Embedding), got {type(token_embedding).__name__}: pass "
                "token_embedding=token_embedding(encoder); a saved head is loaded as part of "
                "its BertPretrainer, which rebuilds the tie"
            )
        self.token_embedding = token_embedding
        self.vocab_size = int(token_embedding.input_dim)
        self.d_model = int(token_embedding.output_dim)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer or bert_initializer())
        self.dense = keras.layers.Dense(
            self.d_model, activation=gelu_approximate, kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy, name="dense")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm")

    def build(self, sequence_output_shape=None, mask_positions_shape=None) -> None:
        shape = tuple(sequence_output_shape or (None, None, self.d_model))
        if _static(shape[-1]) != self.d_model:
            raise ValueError(
                f"MaskedLMHead expects sequence_output (B, S, {self.d_model}) - the size of the "
                f"tied token embedding - got {shape}"
            )
        hidden = (shape[0], None, self.d_model)
        self.dense.build(hidden)
        self.layer_norm.build(hidden)
        self.output_bias = self.add_weight(name="output_bias", shape=(self.vocab_size,),
                                           initializer="zeros")
        self.built = True

    def call(self, sequence_output, mask_positions):
        positions = ops.cast(mask_positions, "int32")[:, :, None]  # (B, P, 1)
        x = ops.take_along_axis(sequence_output, positions, axis=1)  # (B, P, d)
        x = self.layer_norm(self.dense(x))
        table = ops.cast(self.token_embedding.embeddings, "float32")  # (V, d)
        logits = ops.matmul(ops.cast(x, "float32"), ops.transpose(table))  # (B, P, V)
        return logits + ops.cast(self.output_bias, "float32")

    def compute_output_shape(self, sequence_output_shape, mask_positions_shape):
        return (*tuple(mask_positions_shape), self.vocab_size)

    def compute_output_spec(self, sequence_output, mask_positions):
        shape = self.compute_output_shape(sequence_output.shape, mask_positions.shape)
        return keras.KerasTensor(shape, dtype="float32")

    def get_config(self) -> dict[str, Any]:
        # token_embedding is the encoder's layer, not part of this config: see the docstring.
        return {
            **super().get_config(),
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="lmcourse")
class BertPretrainer(keras.Model):
    """The encoder with its pretraining heads: ``{"mlm": (B, P, V)[, "nsp": (B, 2)]}`` logits.

    A functional model (made by :func:`build_pretrainer`) that *owns* the encoder (as its
    layer named like the encoder) and the heads, so that ``save``/``keras.saving.load_model``
    rebuild the tie between :class:`MaskedLMHead` and the token embedding; ``get_config`` is
    ``{"encoder": <the encoder's config>, "nsp": ..., "name": ...}``. A sample-weight dict
    passed to ``fit``/``train_on_batch``/``evaluate`` may leave outputs out (``{"mlm":
    weights}``): they are weighted 1.

    Args:
        encoder: from :func:`build_bert_encoder` (or its serialized config, when loading).
        nsp: add the next-sentence head ``nsp_head`` (``Dense(2)`` on ``pooled_output``).
        **kwargs: ``keras.Model`` arguments (``name``).
    """

    def __init__(self, encoder: Any, nsp: bool = True, **kwargs: Any) -> None:
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        emb = _embeddings(encoder)
        inputs = encoder_inputs((*ENCODER_INPUTS, "mask_positions"))
        out = encoder({k: inputs[k] for k in ENCODER_INPUTS})
        head = MaskedLMHead(emb.token_embedding, layer_norm_epsilon=emb.layer_norm_epsilon,
                            name="mlm_head")
        outputs = {"mlm": head(out["sequence_output"], inputs["mask_positions"])}
        if nsp:
            outputs["nsp"] = keras.layers.Dense(
                2, kernel_initializer=bert_initializer(), dtype="float32",
                name="nsp_head")(out["pooled_output"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._encoder_name = encoder.name
        self.nsp = bool(nsp)

    def _complete(self, y_pred: Any, sample_weight: Any) -> Any:
        """A sample-weight dict without an entry for some output: weight 1 (None) there."""
        if isinstance(sample_weight, dict) and isinstance(y_pred, dict):
            return {k: sample_weight.get(k) for k in y_pred}
        return sample_weight

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # Keras 3.15 looks every output up in a sample-weight dict (KeyError otherwise), so
        # {"mlm": weights} alone would fail; fill in the missing outputs.
        return super().compute_loss(x, y, y_pred, self._complete(y_pred, sample_weight),
                                    training=training)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y, y_pred, self._complete(y_pred, sample_weight))

    @property
    def encoder(self) -> keras.Model:
        """The BERT encoder inside (the same object that was passed in)."""
        return self.get_layer(self._encoder_name)

    def get_config(self) -> dict[str, Any]:
        # Not the functional config: the constructor's arguments, so from_config gives a
        # BertPretrainer back (as keras-hub's Task does).
        return {"encoder": keras.saving.serialize_keras_object(self.encoder), "nsp": self.nsp,
                "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BertPretrainer:
        return cls(**config)


def build_pretrainer(encoder: keras.Model, *, nsp: bool = True,
                     name: str = "bert_pretrainer") -> BertPretrainer:
    """The encoder plus BERT's pretraining heads, ready to ``compile`` and ``fit``.

    Inputs: the encoder's three ``(B, S)`` inputs and ``mask_positions (B, P)`` int32.
    Outputs: ``{"mlm": (B, P, V)}`` logits from :class:`MaskedLMHead` (tied to the token
    embedding), plus ``"nsp": (B, 2)`` logits from ``nsp_head`` when ``nsp``.

    Train with one loss per output and the MLM targets' weights (0 for padded mask slots)::

        model.compile(optimizer, loss={
            "mlm": keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"),
            "nsp": keras.losses.SparseCategoricalCrossentropy(from_logits=True)})
        model.fit(ds)  # ds yields (x, {"mlm": (B, P), "nsp": (B,)}, {"mlm": (B, P) weights})

    The sample-weight dict may hold ``"mlm"`` only: :class:`BertPretrainer` weights the
    outputs without an entry by 1 (plain Keras 3.15 would raise a ``KeyError`` for
    ``"nsp"``). Sample weights reach ``weighted_metrics`` (e.g. ``{"mlm":
    "sparse_categorical_accuracy"}``), not ``metrics``, which count padded mask slots too. With the default reduction ``"sum_over_batch_size"`` the weighted MLM loss
    is divided by ``B * P`` (padded slots included); ``"mean_with_sample_weight"`` divides
    by the sum of the weights, the mean over the real masked tokens.

    Args:
        encoder: from :func:`build_bert_encoder`.
        nsp: add the next-sentence-prediction head.
        name: the model's name.

    Returns:
        A :class:`BertPretrainer` (a functional ``keras.Model``); ``model.encoder`` is
        ``encoder``, whose weights it trains.

    Example:
        >>> import numpy as np
        >>> encoder = build_bert_encoder(40, max_length=8, d_model=16, num_heads=2, num_layers=1)
        >>> model = build_pretrainer(encoder)
        >>> x = {"token_ids": np.ones((2, 8), "int32"), "segment_ids": np.zeros((2, 8), "int32"),
        ...      "padding_mask": np.ones((2, 8), "int32"),
        ...      "mask_positions": np.array([[1, 2, 3], [4, 0, 0]], "int32")}
        >>> {k: tuple(v.shape) for k, v in model(x).items()}
        {'mlm': (2, 3, 40), 'nsp': (2, 2)}
    """
    return BertPretrainer(encoder, nsp=nsp, name=name)


# -------------------------------------------------------------------------- fine-tuning


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


def sentence_vectors(encoder: keras.Model, inputs: dict[str, Any], *, batch_size: int = 64,
                     normalize: bool = False) -> Any:
    """Mean-pooled sentence vectors ``(N, d)`` (NumPy, float32) of packed ``inputs``.

    The encoder runs in inference mode (no dropout), ``batch_size`` inputs at a time, each
    batch cut to its longest real input (padding changes nothing under the mask).

    Args:
        encoder: from :func:`build_bert_encoder` (e.g. ``lmcourse.pretrained.load_minilm``).
        inputs: ``{"token_ids", "segment_ids", "padding_mask"}``, each ``(N, S)``, padding at
            the end (``lmcourse.pipelines.encode_for_classification``).
        batch_size: inputs per forward pass.
        normalize: scale every vector to length 1 (then a dot product is the cosine).

    Example:
        >>> import numpy as np
        >>> enc = build_bert_encoder(30, max_length=8, d_model=16, num_heads=2, num_layers=1)
        >>> x = {"token_ids": np.array([[2, 5, 3, 0], [2, 6, 7, 3]], "int32"),
        ...      "segment_ids": np.zeros((2, 4), "int32"),
        ...      "padding_mask": np.array([[1, 1, 1, 0], [1, 1, 1, 1]], "int32")}
        >>> sentence_vectors(enc, x, normalize=True).shape
        (2, 16)
    """
    pool = MeanPooling()
    n, out = len(inputs["token_ids"]), []
    for start in range(0, n, _check_int("batch_size", batch_size)):
        batch = {k: np.asarray(v[start : start + batch_size]) for k, v in inputs.items()}
        width = max(int(batch["padding_mask"].sum(axis=1).max()), 1)
        batch = {k: v[:, :width] for k, v in batch.items()}
        seq = encoder(batch, training=False)["sequence_output"]
        out.append(ops.convert_to_numpy(pool(seq, batch["padding_mask"])).astype(np.float32))
    vectors = np.concatenate(out) if out else np.zeros((0, encoder_config(encoder)["d_model"]),
                                                       np.float32)
    if normalize:
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


POOLINGS = ("cls", "mean")


def build_classifier(encoder: keras.Model, *, num_classes: int = 2, dropout: float = 0.1,
                     pooling: str = "cls", name: str = "classifier") -> keras.Model:
    """A sequence classifier: encoder -> a sentence vector -> Dropout -> ``Dense(num_classes)``.

    Args:
        encoder: from :func:`build_bert_encoder` (pretrained or not); its weights are shared,
            so freezing its layers (:func:`layer_groups`) freezes them here.
        num_classes: the number of classes (2 or more).
        dropout: rate of the dropout before the head, in [0, 1).
        pooling: ``"cls"``: the pooler's ``tanh(P h_[CLS] + c)`` (``pooled_output``, BERT's
            choice); ``"mean"``: :class:`MeanPooling` of ``sequence_output`` over the real
            tokens (sentence-transformers' choice). With ``"mean"`` the pooler is unused, so
            it is frozen (``trainable = False``) and no optimizer keeps state for it.
        name: the model's name.

    Returns:
        A functional ``keras.Model``: the encoder's three inputs -> ``(B, num_classes)``
        float32 logits (train with ``SparseCategoricalCrossentropy(from_logits=True)``).
        The head is the layer ``classifier_head``.

    Raises:
        ValueError: ``num_classes < 2``, a dropout outside [0, 1) or an unknown pooling.
    """
    num_classes = _check_int("num_classes", num_classes, low=2)
    dropout = _check_rate("dropout", dropout)
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} is not one of {', '.join(POOLINGS)}")
    _embeddings(encoder)
    inputs = encoder_inputs()
    out = encoder(inputs)
    if pooling == "mean":
        encoder.get_layer("pooler").trainable = False
        pooled = MeanPooling(name="mean_pooling")(out["sequence_output"], inputs["padding_mask"])
    else:
        pooled = out["pooled_output"]
    x = keras.layers.Dropout(dropout, name="classifier_dropout")(pooled)
    logits = keras.layers.Dense(num_classes, kernel_initializer=bert_initializer(),
                                dtype="float32", name="classifier_head")(x)
    return keras.Model(inputs, logits, name=name)


def layer_groups(encoder: keras.Model, *, pooler: bool = True,
                 per_group: int = 1) -> list[list[keras.layers.Layer]]:
    """The encoder's layers in groups, **top first**: the order of gradual unfreezing.

    ``[[pooler, transformer_layer_{L-1}], [transformer_layer_{L-2}], ..., [transformer_layer_0],
    [embeddings]]``: ULMFiT (Howard & Ruder, 2018) unfreezes the top group first, since the
    top layers are the most task-specific, and one more group each epoch. Together the
    groups hold every weight of the encoder exactly once.

    Args:
        encoder: from :func:`build_bert_encoder`.
        pooler: put the pooler into the top group; False leaves it out (a classifier with
            mean pooling never uses it).
        per_group: Transformer layers per group (2: six layers unfreeze in three stages).

    Example:
        >>> encoder = build_bert_encoder(30, max_length=8, d_model=16, num_heads=2, num_layers=3)
        >>> [[layer.name for layer in group] for group in layer_groups(encoder)]
        [['pooler', 'transformer_layer_2'], ['transformer_layer_1'], ['transformer_layer_0'], ['embeddings']]
        >>> [[layer.name for layer in group]
        ...  for group in layer_groups(encoder, pooler=False, per_group=2)]
        [['transformer_layer_2', 'transformer_layer_1'], ['transformer_layer_0'], ['embeddings']]
    """
    per_group = _check_int("per_group", per_group)
    embeddings = _embeddings(encoder)
    blocks = _blocks(encoder)[::-1]
    groups = [blocks[i : i + per_group] for i in range(0, len(blocks), per_group)]
    if pooler:
        groups[0] = [encoder.get_layer("pooler"), *groups[0]]
    return [*groups, [embeddings]]


# ------------------------------------------------------------------------ save and load


class VocabularyMismatchError(ValueError):
    """A vocabulary that does not belong to the saved encoder (other tokens, other size)."""


def _vocab_bytes(vocabulary: list[str]) -> bytes:
    return "".join(f"{token}\n" for token in vocabulary).encode("utf-8")


def _first_difference(a: list[str], b: list[str]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"; the first difference is at id {i}: {x!r} vs {y!r}"
    return ""


def save_pretrained(encoder: keras.Model, vocabulary: list[str], folder: str | os.PathLike,
                    metadata: dict[str, Any] | None = None) -> Path:
    """Save a pretrained encoder with its vocabulary into ``folder``, all or nothing.

    Writes ``encoder.keras``, ``vocab.txt`` (one token per line, UTF-8, the line number is
    the id) and ``metadata.json`` (``metadata`` plus ``encoder_config``, ``vocab_size`` and
    ``vocab_sha256``, the SHA-256 of ``vocab.txt``). The files are written into a fresh
    temporary folder next to ``folder``, which is then renamed into place (an older
    ``folder`` is replaced), so a crash never leaves a half-written folder behind.

    Args:
        encoder: from :func:`build_bert_encoder`.
        vocabulary: the tokens by id; ``len(vocabulary)`` must equal the encoder's ``V``.
        folder: where to save (created, parents included).
        metadata: JSON-serializable extras (corpus, steps, losses...); the keys
            ``encoder_config``, ``vocab_size`` and ``vocab_sha256`` are set here.

    Returns:
        ``folder`` as a ``Path``.

    Raises:
        VocabularyMismatchError: ``len(vocabulary)`` differs from the encoder's vocabulary size.
        ValueError: a token contains a line break (it could not be read back).
    """
    folder = Path(folder)
    vocabulary = [str(t) for t in vocabulary]
    config = encoder_config(encoder)
    if len(vocabulary) != config["vocab_size"]:
        raise VocabularyMismatchError(
            f"the vocabulary has {len(vocabulary)} tokens but the encoder's token embedding has "
            f"{config['vocab_size']} rows: save the vocabulary the encoder was built with"
        )
    bad = [i for i, t in enumerate(vocabulary) if "\n" in t or "\r" in t]
    if bad:
        raise ValueError(f"token {bad[0]} ({vocabulary[bad[0]]!r}) contains a line break: "
                         "vocab.txt holds one token per line")
    vocab = _vocab_bytes(vocabulary)
    meta = {**(metadata or {}), "encoder_config": config, "vocab_size": len(vocabulary),
            "vocab_sha256": hashlib.sha256(vocab).hexdigest()}
    text = json.dumps(meta, indent=2, ensure_ascii=False)  # fails before anything is written

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    old = None
    try:
        encoder.save(tmp / ENCODER_FILE)
        (tmp / VOCAB_FILE).write_bytes(vocab)
        (tmp / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.replace(folder, old / folder.name)
        os.replace(tmp, folder)
    except BaseException:
        if old is not None and not folder.exists():  # put the previous version back
            os.replace(old / folder.name, folder)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def load_pretrained(
    folder: str | os.PathLike, vocabulary: list[str] | None = None
) -> tuple[keras.Model, list[str], dict[str, Any]]:
    """Load what :func:`save_pretrained` wrote: ``(encoder, vocabulary, metadata)``.

    Args:
        folder: the folder given to :func:`save_pretrained`.
        vocabulary: the vocabulary the caller tokenizes with, to check against the saved
            one; None: use the saved one (returned).

    Returns:
        The encoder (``keras.Model``, same weights), the saved vocabulary (``list[str]``, by
        id) and the metadata dict (with ``encoder_config``, ``vocab_size``, ``vocab_sha256``).

    Raises:
        FileNotFoundError: ``folder`` or one of its three files is missing (the message says
            how to make it: run chapter 07).
        VocabularyMismatchError: ``vocabulary`` differs from the saved one, ``vocab.txt``'s
            size differs from the encoder's embedding size, or ``vocab.txt`` was changed
            after saving (its SHA-256 differs from the metadata's).
    """
    folder = Path(folder)
    missing = [n for n in (ENCODER_FILE, VOCAB_FILE, METADATA_FILE) if not (folder / n).is_file()]
    if missing:
        what = "does not exist" if not folder.is_dir() else f"lacks {', '.join(missing)}"
        raise FileNotFoundError(
            f"no pretrained encoder in {folder}: the folder {what}; run chapter 07 "
            "(07_pretraining.ipynb, e.g. `lmcourse run 07`) to pretrain and save one there "
            "(lmcourse.models.bert.save_pretrained)"
        )
    raw = (folder / VOCAB_FILE).read_bytes()
    saved = raw.decode("utf-8").split("\n")
    if saved and saved[-1] == "":
        saved.pop()
    metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    digest = hashlib.sha256(raw).hexdigest()
    if metadata.get("vocab_sha256") not in (None, digest):
        raise VocabularyMismatchError(
            f"{folder / VOCAB_FILE} was changed after saving ({len(saved)} tokens now, "
            f"{metadata.get('vocab_size')} saved; its SHA-256 differs from metadata.json's): "
            "restore it or pretrain again (chapter 07)"
        )
    encoder = keras.saving.load_model(folder / ENCODER_FILE, compile=False)
    rows = encoder_config(encoder)["vocab_size"]
    if len(saved) != rows:
        raise VocabularyMismatchError(
            f"{folder / VOCAB_FILE} has {len(saved)} tokens but the encoder's token embedding has "
            f"{rows} rows: the folder mixes two runs; pretrain and save again (chapter 07)"
        )
    if vocabulary is not None:
        given = [str(t) for t in vocabulary]
        if given != saved:
            raise VocabularyMismatchError(
                f"the given vocabulary ({len(given)} tokens) is not the one the encoder was "
                f"pretrained with ({len(saved)} tokens){_first_difference(given, saved)}: "
                "tokenize with the saved vocabulary (load_pretrained(folder) returns it)"
            )
    return encoder, saved, metadata


__all__ = [
    "BertEmbedding",
    "BertPretrainer",
    "MaskedLMHead",
    "MeanPooling",
    "VocabularyMismatchError",
    "bert_initializer",
    "build_bert_encoder",
    "build_classifier",
    "build_pretrainer",
    "copy_weights_from_keras_hub",
    "encoder_config",
    "encoder_inputs",
    "gelu_approximate",
    "layer_groups",
    "load_pretrained",
    "save_pretrained",
    "sentence_vectors",
    "token_embedding",
]
