"""BERT's pretraining heads and the model that trains them with the encoder.

* :class:`MaskedLMHead` - **masked language modeling** (MLM): some tokens are hidden (80%
  ``[MASK]``, 10% a random token, 10% unchanged) and the head predicts the original token at
  those ``P`` positions from both sides' context. Its output matrix is the token embedding
  itself (``logits = h E^T + b``, *weight tying*): the same ``V x d`` table reads tokens in
  and writes them out.
* :class:`BertPretrainer` - the encoder, the MLM head and (optionally) the **next sentence
  prediction** (NSP) head (``Dense(2)`` on ``pooled_output``: is segment B the sentence that
  followed A (1) or a random one (0)?), as one functional model that saves and loads with
  the tie intact. Make one with :func:`lmcourse.models.bert.build_pretrainer`.

Shapes: ``B`` batch, ``S`` sequence length, ``d`` = ``d_model``, ``V`` vocabulary, ``P``
masked positions per sequence. Everything uses ``keras.layers``/``keras.ops``, so it runs on
TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lmcourse._checks import static_dim
from lmcourse.models.bert_layers import (
    ENCODER_INPUTS,
    bert_initializer,
    embedding_layer,
    encoder_inputs,
    gelu_approximate,
)


@keras.saving.register_keras_serializable(package="lmcourse")
class MaskedLMHead(keras.layers.Layer):
    """Predicts the tokens at the masked positions, with the token embedding as output matrix.

    ``h = LayerNorm(GELU(x W + b))`` at the ``P`` gathered positions, then
    ``logits = h E^T + c`` where ``E (V, d)`` is the encoder's token embedding (weight tying:
    no second ``d x V`` matrix; the same vector reads a token in and scores it out) and
    ``c (V,)`` a bias of this layer.

    **Saving.** The embedding belongs to the encoder, so ``get_config`` cannot carry it and
    ``from_config`` alone cannot rebuild the head (it raises, saying so). Save and load the
    :class:`BertPretrainer` (:func:`~lmcourse.models.bert.build_pretrainer`) instead: it owns both
    the encoder and the head, rebuilds the tie on loading, and the shared table is stored once.

    Args:
        token_embedding: the encoder's ``keras.layers.Embedding`` ``(V, d)``
            (:func:`~lmcourse.models.bert.token_embedding`); must be built.
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
        >>> from lmcourse.models.bert import build_bert_encoder, token_embedding
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
            self.d_model,
            activation=gelu_approximate,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="dense",
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm"
        )

    def build(self, sequence_output_shape=None, mask_positions_shape=None) -> None:
        shape = tuple(sequence_output_shape or (None, None, self.d_model))
        if static_dim(shape[-1]) != self.d_model:
            raise ValueError(
                f"MaskedLMHead expects sequence_output (B, S, {self.d_model}) - the size of the "
                f"tied token embedding - got {shape}"
            )
        hidden = (shape[0], None, self.d_model)
        self.dense.build(hidden)
        self.layer_norm.build(hidden)
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.vocab_size,), initializer="zeros"
        )
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

    A functional model (made by :func:`~lmcourse.models.bert.build_pretrainer`) that *owns* the
    encoder (as its layer named like the encoder) and the heads, so that
    ``save``/``keras.saving.load_model`` rebuild the tie between :class:`MaskedLMHead` and the token
    embedding; ``get_config`` is ``{"encoder": <the encoder's config>, "nsp": ..., "name": ...}``. A
    sample-weight dict passed to ``fit``/``train_on_batch``/``evaluate`` may leave outputs out
    (``{"mlm": weights}``): they are weighted 1.

    Args:
        encoder: from :func:`~lmcourse.models.bert.build_bert_encoder` (or its serialized
            config, when loading).
        nsp: add the next-sentence head ``nsp_head`` (``Dense(2)`` on ``pooled_output``).
        **kwargs: ``keras.Model`` arguments (``name``).
    """

    def __init__(self, encoder: Any, nsp: bool = True, **kwargs: Any) -> None:
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        emb = embedding_layer(encoder)
        inputs = encoder_inputs((*ENCODER_INPUTS, "mask_positions"))
        out = encoder({k: inputs[k] for k in ENCODER_INPUTS})
        head = MaskedLMHead(
            emb.token_embedding, layer_norm_epsilon=emb.layer_norm_epsilon, name="mlm_head"
        )
        outputs = {"mlm": head(out["sequence_output"], inputs["mask_positions"])}
        if nsp:
            outputs["nsp"] = keras.layers.Dense(
                2, kernel_initializer=bert_initializer(), dtype="float32", name="nsp_head"
            )(out["pooled_output"])
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
        return super().compute_loss(
            x, y, y_pred, self._complete(y_pred, sample_weight), training=training
        )

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y, y_pred, self._complete(y_pred, sample_weight))

    @property
    def encoder(self) -> keras.Model:
        """The BERT encoder inside (the same object that was passed in)."""
        return self.get_layer(self._encoder_name)

    def get_config(self) -> dict[str, Any]:
        # Not the functional config: the constructor's arguments, so from_config gives a
        # BertPretrainer back (as keras-hub's Task does).
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "nsp": self.nsp,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BertPretrainer:
        return cls(**config)


__all__ = ["BertPretrainer", "MaskedLMHead"]
