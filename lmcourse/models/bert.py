"""A mini-BERT: the bidirectional Transformer encoder, its pretrainer, saving and loading.

BERT (Devlin et al., 2018) reads a whole sequence at once, with no causal mask: every
position sees every other (real) position. The input is one or two segments, packed as
``[CLS] A ... [SEP] B ... [SEP] [PAD] ...``; each token's input vector is the sum

.. math::  e_t = E_{\\text{token}}[w_t] + E_{\\text{position}}[t] + E_{\\text{segment}}[s_t]

followed by LayerNorm and dropout (:class:`~lmcourse.models.bert_layers.BertEmbedding`).
``L`` post-LN :class:`~lmcourse.models.transformer.TransformerBlock` s (GELU feed-forward,
LayerNorm epsilon 1e-12) refine it into ``sequence_output (B, S, d)``; the **pooler**, a
``Dense(d, tanh)`` on the ``[CLS]`` vector at position 0, gives ``pooled_output (B, d)``, the
summary of the whole input that sentence-level heads read (:func:`build_bert_encoder`).
With the default arguments the encoder is the arrangement of
``keras_hub.models.BertBackbone``, and
:func:`lmcourse.models.bert_keras_hub.copy_weights_from_keras_hub` makes the two compute
the same function (checked to 1e-5 in the tests).

Pretraining (chapter 07) trains two heads at once (:func:`build_pretrainer`; the heads are
in :mod:`lmcourse.models.bert_pretrainer`):

* **masked language modeling** (MLM): some tokens are hidden (80% ``[MASK]``, 10% a random
  token, 10% unchanged) and ``MaskedLMHead`` predicts the original token at those
  ``P`` positions from both sides' context. Its output matrix is the token embedding itself
  (``logits = h E^T + b``, *weight tying*): the same ``V x d`` table reads tokens in and
  writes them out.
* **next sentence prediction** (NSP): from ``pooled_output``, is segment B the sentence
  that followed A (1) or a random one (0)?

Fine-tuning (chapter 08) puts a small head on ``pooled_output``
(:func:`lmcourse.models.bert_classifier.build_classifier`) and trains it with the encoder
frozen, unfrozen group by group from the top (:func:`layer_groups`, ULMFiT's gradual
unfreezing) or all at once.
:func:`save_pretrained` / :func:`load_pretrained` carry a pretrained encoder and its
vocabulary from one chapter to the next, and refuse a vocabulary that does not belong to it
(:class:`VocabularyMismatchError`).

Shapes: ``B`` batch, ``S`` sequence length (``<= max_length``), ``d`` = ``d_model``,
``L`` layers, ``V`` vocabulary, ``P`` masked positions per sequence.

Everything uses ``keras.layers``/``keras.ops``, so it runs on TensorFlow, JAX and PyTorch
(keras-hub is imported only by the tests and by the caller of
:func:`~lmcourse.models.bert_keras_hub.copy_weights_from_keras_hub`).

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

from lmcourse._checks import check_heads, check_int, check_rate
from lmcourse.models.bert_layers import (
    ACTIVATIONS,
    BertEmbedding,
    bert_initializer,
    embedding_layer,
    encoder_inputs,
    transformer_layers,
)
from lmcourse.models.bert_pretrainer import BertPretrainer
from lmcourse.models.transformer import TransformerBlock

ENCODER_FILE, VOCAB_FILE, METADATA_FILE = "encoder.keras", "vocab.txt", "metadata.json"


def _activation_name(block: TransformerBlock) -> str:
    name = getattr(block.feedforward_intermediate_dense.activation, "__name__", "")
    return "gelu" if name == "gelu" else "gelu_approximate"


# -------------------------------------------------------------------------------- encoder


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

    ``embeddings`` (:class:`~lmcourse.models.bert_layers.BertEmbedding`) -> ``transformer_layer_0 ..
    transformer_layer_{L-1}`` (:class:`~lmcourse.models.transformer.TransformerBlock`, no causal
    mask, padding masked) -> ``sequence_output``; ``pooler`` (``Dense(d, tanh)``) on position 0
    (``[CLS]``) -> ``pooled_output``. All kernels and tables start from
    ``TruncatedNormal(stddev=0.02)``.
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
    vocab_size = check_int("vocab_size", vocab_size)
    max_length = check_int("max_length", max_length)
    d_model = check_int("d_model", d_model)
    num_heads = check_int("num_heads", num_heads)
    check_heads(d_model, num_heads)
    num_layers = check_int("num_layers", num_layers)
    ff_dim = 4 * d_model if ff_dim is None else check_int("ff_dim", ff_dim)
    dropout = check_rate("dropout", dropout)
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation={activation!r} is not one of {', '.join(ACTIVATIONS)}: "
            "BERT's feed-forward layers use a GELU"
        )

    inputs = encoder_inputs()
    x = BertEmbedding(
        vocab_size,
        max_length,
        d_model,
        num_segments=num_segments,
        dropout=dropout,
        layer_norm_epsilon=layer_norm_epsilon,
        name="embeddings",
    )(inputs["token_ids"], inputs["segment_ids"])
    for i in range(num_layers):
        x = TransformerBlock(
            d_model,
            num_heads,
            ff_dim,
            dropout=dropout,
            norm_first=norm_first,
            activation=ACTIVATIONS[activation],
            layer_norm_epsilon=layer_norm_epsilon,
            kernel_initializer=bert_initializer(),
            name=f"transformer_layer_{i}",
        )(x, padding_mask=inputs["padding_mask"])
    pooled = keras.layers.Dense(
        d_model, activation="tanh", kernel_initializer=bert_initializer(), name="pooler"
    )(x[:, 0, :])  # the [CLS] vector
    return keras.Model(inputs, {"sequence_output": x, "pooled_output": pooled}, name=name)


def encoder_config(encoder: keras.Model) -> dict[str, Any]:
    """The arguments of :func:`build_bert_encoder` that rebuild ``encoder`` (read off its layers).

    Returns:
        ``{"vocab_size", "max_length", "d_model", "num_heads", "num_layers", "ff_dim",
        "dropout", "num_segments", "norm_first", "layer_norm_epsilon", "activation", "name"}``:
        plain JSON values; ``build_bert_encoder(**encoder_config(e))`` has the same shapes as ``e``.

    Raises:
        ValueError: ``encoder`` is not one made by :func:`build_bert_encoder`.
    """
    emb = embedding_layer(encoder)
    blocks = transformer_layers(encoder)
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
    return embedding_layer(encoder).token_embedding


# ------------------------------------------------------------------------------ pretrainer


def build_pretrainer(
    encoder: keras.Model, *, nsp: bool = True, name: str = "bert_pretrainer"
) -> BertPretrainer:
    """The encoder plus BERT's pretraining heads, ready to ``compile`` and ``fit``.

    Inputs: the encoder's three ``(B, S)`` inputs and ``mask_positions (B, P)`` int32.
    Outputs: ``{"mlm": (B, P, V)}`` logits from
    :class:`~lmcourse.models.bert_pretrainer.MaskedLMHead` (tied to the token embedding), plus
    ``"nsp": (B, 2)`` logits from ``nsp_head`` when ``nsp``.

    Train with one loss per output and the MLM targets' weights (0 for padded mask slots)::

        model.compile(optimizer, loss={
            "mlm": keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"),
            "nsp": keras.losses.SparseCategoricalCrossentropy(from_logits=True)})
        model.fit(ds)  # ds yields (x, {"mlm": (B, P), "nsp": (B,)}, {"mlm": (B, P) weights})

    The sample-weight dict may hold ``"mlm"`` only:
    :class:`~lmcourse.models.bert_pretrainer.BertPretrainer` weights the outputs without an entry by
    1 (plain Keras 3.15 would raise a ``KeyError`` for ``"nsp"``). Sample weights reach
    ``weighted_metrics`` (e.g. ``{"mlm": "sparse_categorical_accuracy"}``), not ``metrics``, which
    count padded mask slots too. With the default reduction ``"sum_over_batch_size"`` the weighted
    MLM loss is divided by ``B * P`` (padded slots included); ``"mean_with_sample_weight"`` divides
    by the sum of the weights, the mean over the real masked tokens.

    Args:
        encoder: from :func:`build_bert_encoder`.
        nsp: add the next-sentence-prediction head.
        name: the model's name.

    Returns:
        A :class:`~lmcourse.models.bert_pretrainer.BertPretrainer` (a functional ``keras.Model``);
        ``model.encoder`` is ``encoder``, whose weights it trains.

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


def layer_groups(
    encoder: keras.Model, *, pooler: bool = True, per_group: int = 1
) -> list[list[keras.layers.Layer]]:
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
    per_group = check_int("per_group", per_group)
    embeddings = embedding_layer(encoder)
    blocks = transformer_layers(encoder)[::-1]
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


def save_pretrained(
    encoder: keras.Model,
    vocabulary: list[str],
    folder: str | os.PathLike,
    metadata: dict[str, Any] | None = None,
) -> Path:
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
        raise ValueError(
            f"token {bad[0]} ({vocabulary[bad[0]]!r}) contains a line break: "
            "vocab.txt holds one token per line"
        )
    vocab = _vocab_bytes(vocabulary)
    meta = {
        **(metadata or {}),
        "encoder_config": config,
        "vocab_size": len(vocabulary),
        "vocab_sha256": hashlib.sha256(vocab).hexdigest(),
    }
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
            "(chapters/07_pretraining_mlm.ipynb, e.g. `lmcourse run 07`) to pretrain and save one there "
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
    "VocabularyMismatchError",
    "build_bert_encoder",
    "build_pretrainer",
    "encoder_config",
    "layer_groups",
    "load_pretrained",
    "save_pretrained",
    "token_embedding",
]
