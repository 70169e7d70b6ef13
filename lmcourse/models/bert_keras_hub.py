"""BERT from keras-hub: give our encoder the weights of a ``keras_hub.models.BertBackbone``.

With the default arguments, :func:`lmcourse.models.bert.build_bert_encoder` is the
arrangement of ``keras_hub.models.BertBackbone`` (post-LN blocks, LayerNorm epsilon 1e-12,
tanh-approximate GELU); :func:`copy_weights_from_keras_hub` maps the backbone's weights
onto it, layer by layer, so that the two compute the same function (checked to 1e-5 in the
tests). keras-hub is imported only by the caller (who builds the backbone).
"""

from __future__ import annotations

from typing import Any

import keras

from lmcourse.models.bert import encoder_config
from lmcourse.models.bert_layers import embedding_layer, transformer_layers
from lmcourse.models.transformer import copy_block_weights


def _assign(mine: Any, theirs: Any, what: str) -> None:
    if tuple(mine.shape) != tuple(theirs.shape):
        raise ValueError(
            f"{what}: shape {tuple(mine.shape)} here but {tuple(theirs.shape)} in "
            "the keras-hub backbone: build both with the same sizes"
        )
    mine.assign(theirs)


def copy_weights_from_keras_hub(encoder: keras.Model, backbone: Any) -> keras.Model:
    """Give ``encoder`` the weights of a ``keras_hub.models.BertBackbone``; returns ``encoder``.

    Maps ``token_embedding``, ``position_embedding``, ``segment_embedding`` and
    ``embeddings_layer_norm`` onto the :class:`~lmcourse.models.bert_layers.BertEmbedding`, each
    ``transformer_layer_i`` (a ``keras_hub.layers.TransformerEncoder``) onto the block of the same
    name (:func:`~lmcourse.models.transformer.copy_block_weights`), and ``pooled_dense`` onto
    ``pooler``. A default encoder then computes the backbone's function (to float rounding).

    Args:
        encoder: from :func:`~lmcourse.models.bert.build_bert_encoder` with ``norm_first=False``
            (BERT's post-LN).
        backbone: e.g. ``keras_hub.models.BertBackbone(vocabulary_size=V, num_layers=L,
            num_heads=H, hidden_dim=d, intermediate_dim=ff_dim, max_sequence_length=
            max_length, num_segments=...)`` (from a config: nothing is downloaded).

    Raises:
        ValueError: the sizes differ (named in the message), or ``encoder`` is pre-LN.

    Example:
        >>> import keras_hub
        >>> from lmcourse.models.bert import build_bert_encoder
        >>> backbone = keras_hub.models.BertBackbone(
        ...     vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16,
        ...     intermediate_dim=32, max_sequence_length=8)
        >>> encoder = build_bert_encoder(50, max_length=8, d_model=16, num_heads=2, num_layers=1,
        ...                              ff_dim=32)
        >>> encoder = copy_weights_from_keras_hub(encoder, backbone)
    """
    cfg = encoder_config(encoder)
    theirs = {
        "vocab_size": backbone.vocabulary_size,
        "d_model": backbone.hidden_dim,
        "num_layers": backbone.num_layers,
        "num_heads": backbone.num_heads,
        "ff_dim": backbone.intermediate_dim,
        "max_length": backbone.max_sequence_length,
        "num_segments": backbone.num_segments,
    }
    differ = [f"{k}={cfg[k]} here but {v} in keras-hub" for k, v in theirs.items() if cfg[k] != v]
    if differ:
        raise ValueError(
            "the encoder and the BertBackbone have different sizes: " + "; ".join(differ)
        )
    if cfg["norm_first"]:
        raise ValueError(
            "the encoder is pre-LN (norm_first=True) but BertBackbone is post-LN: "
            "build the encoder with norm_first=False"
        )
    emb = embedding_layer(encoder)
    _assign(emb.token_embedding.embeddings, backbone.token_embedding.embeddings, "token_embedding")
    _assign(
        emb.position_embedding.embeddings,
        backbone.position_embedding.position_embeddings,
        "position_embedding",
    )
    _assign(
        emb.segment_embedding.embeddings, backbone.segment_embedding.embeddings, "segment_embedding"
    )
    for mine, ref in zip(
        emb.embeddings_layer_norm.weights, backbone.embeddings_layer_norm.weights, strict=True
    ):
        _assign(mine, ref, "embeddings_layer_norm")
    for block, ref in zip(transformer_layers(encoder), backbone.transformer_layers, strict=True):
        copy_block_weights(block, ref)
    pooler = encoder.get_layer("pooler")
    for mine, ref in zip(pooler.weights, backbone.pooled_dense.weights, strict=True):
        _assign(mine, ref, "pooler")
    return encoder


__all__ = ["copy_weights_from_keras_hub"]
