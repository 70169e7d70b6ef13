"""A decoder-only mini-GPT, with a key/value cache for generation.

:class:`GPT` stacks embedding (:class:`~lmcourse.models.positions.TokenAndPositionEmbedding`),
``num_layers`` causal :class:`~lmcourse.models.transformer.TransformerBlock` s, a final
LayerNorm and a linear head: ``(B, T)`` ids in, ``(B, T, V)`` next-token logits out
(:func:`build_gpt` makes one). For generation it has a **key/value cache**
(:meth:`GPT.init_cache`, :meth:`GPT.call_with_cache`): the keys and values of the tokens
already read are kept, so a new token costs one position's work instead of a forward pass
over the whole prefix. :func:`lmcourse.generate.cached_next_logits` plugs it into
:func:`lmcourse.generate.generate`; :func:`lmcourse.generate.keras_hub_next` plugs it into
``keras_hub.samplers``. :func:`training_flops_per_token` estimates the cost of training it.

Shapes: ``B`` batch, ``T`` sequence length, ``d`` = ``d_model``, ``H`` heads,
``d_head = d / H``, ``S`` cache length (the context window), ``L`` layers, ``V`` vocabulary.
The cache is one tensor ``(B, L, 2, S, H, d_head)`` (keys at ``[:, :, 0]``, values at
``[:, :, 1]``), one ``(B, 2, S, H, d_head)`` slice per layer in the layout of keras-hub's
``CachedMultiHeadAttention``.

Everything uses ``keras.layers``/``keras.ops``, so it runs on TensorFlow, JAX and PyTorch.

Example:
    >>> import numpy as np
    >>> model = build_gpt(vocab_size=20, seq_len=16, d_model=32, num_heads=4, num_layers=2)
    >>> ids = np.random.default_rng(0).integers(0, 20, size=(2, 10))
    >>> tuple(model(ids).shape)                        # (B, T, V) logits
    (2, 10, 20)
    >>> cache = model.init_cache(2)                    # (B, L, 2, S, H, d_head)
    >>> logits, cache = model.call_with_cache(ids, cache, 0)
    >>> bool(np.allclose(logits, model(ids), atol=1e-5))
    True
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lmcourse._checks import check_heads, check_int, check_rate, static_dim
from lmcourse.models.positions import TokenAndPositionEmbedding
from lmcourse.models.transformer import TransformerBlock


@keras.saving.register_keras_serializable(package="lmcourse")
class GPT(keras.Model):
    """A decoder-only Transformer language model (GPT): ids ``(B, T)`` -> logits ``(B, T, V)``.

    ``TokenAndPositionEmbedding -> Dropout -> TransformerBlock x L (causal) -> LayerNorm (pre-LN
    only) -> Dense(V)``. Every position predicts the next token from the tokens up to itself;
    the causal mask makes sure it sees no later one. Make one with :func:`build_gpt`.

    Args:
        vocab_size: ``V``.
        seq_len: the context window ``S``: the longest input (learned positions exist up to it).
        d_model, num_heads, num_layers, ff_dim, dropout, activation, norm_first: the blocks' sizes
            and options (see :class:`~lmcourse.models.transformer.TransformerBlock`);
            ``ff_dim=None``: ``4 d_model``.
        positions: ``"learned"`` or ``"sinusoidal"`` position embeddings.
        **kwargs: ``keras.Model`` arguments (``name``).

    Raises:
        ValueError: a size < 1, ``d_model`` not divisible by ``num_heads``, a dropout outside
            [0, 1); a call with more than ``seq_len`` tokens.
    """

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        d_model: int = 128,
        num_heads: int = 4,
        num_layers: int = 4,
        ff_dim: int | None = None,
        dropout: float = 0.0,
        activation: str = "gelu",
        norm_first: bool = True,
        positions: str = "learned",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size = check_int("vocab_size", vocab_size)
        self.seq_len = check_int("seq_len", seq_len)
        self.d_model = check_int("d_model", d_model)
        self.num_heads = check_int("num_heads", num_heads)
        self.head_dim = check_heads(self.d_model, self.num_heads)
        self.num_layers = check_int("num_layers", num_layers)
        self.ff_dim = 4 * self.d_model if ff_dim is None else check_int("ff_dim", ff_dim)
        self.dropout = check_rate("dropout", dropout)
        self.activation = activation
        self.norm_first = bool(norm_first)
        self.positions = positions
        self.embedding = TokenAndPositionEmbedding(
            self.vocab_size, self.seq_len, self.d_model, positions=positions, name="embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(self.dropout, name="embedding_dropout")
        self.blocks = [
            TransformerBlock(
                self.d_model,
                self.num_heads,
                self.ff_dim,
                dropout=self.dropout,
                norm_first=self.norm_first,
                activation=activation,
                name=f"block_{i + 1}",
            )
            for i in range(self.num_layers)
        ]
        self.final_norm = (
            keras.layers.LayerNormalization(epsilon=1e-5, name="final_layer_norm")
            if self.norm_first
            else None
        )
        self.head = keras.layers.Dense(self.vocab_size, name="logits", dtype="float32")

    def build(self, input_shape=None) -> None:
        shape = (None, None) if input_shape is None else tuple(input_shape)
        self.embedding.build(shape)
        hidden = (*shape, self.d_model)
        for block in self.blocks:
            block.build(hidden)
        if self.final_norm is not None:
            self.final_norm.build(hidden)
        self.head.build(hidden)
        self.built = True

    def _finish(self, x):
        if self.final_norm is not None:
            x = self.final_norm(x)
        return self.head(x)

    def call(self, ids, training=None):
        x = self.embedding_dropout(self.embedding(ids), training=training)  # (B, T, d)
        for block in self.blocks:
            x = block(x, use_causal_mask=True, training=training)
        return self._finish(x)  # (B, T, V), float32

    # -- generation with a key/value cache ------------------------------------------------

    def init_cache(self, batch_size: int, max_length: int | None = None, dtype=None) -> Any:
        """An empty cache ``(B, L, 2, S, H, d_head)`` for ``S = max_length`` (default ``seq_len``).

        Raises:
            ValueError: ``max_length`` is longer than the context window ``seq_len``.
        """
        max_length = self.seq_len if max_length is None else check_int("max_length", max_length)
        if max_length > self.seq_len and self.positions == "learned":
            raise ValueError(
                f"a cache of max_length={max_length} is longer than the context window "
                f"seq_len={self.seq_len} (no learned positions beyond it)"
            )
        return ops.zeros(
            (
                check_int("batch_size", batch_size),
                self.num_layers,
                2,
                max_length,
                self.num_heads,
                self.head_dim,
            ),
            dtype=dtype or self.compute_dtype,
        )

    def call_with_cache(self, ids, cache, cache_index):
        """Run new tokens ``ids (B, t)`` at positions ``cache_index .. cache_index + t - 1``.

        Each block writes the new keys/values into its slice of the cache and attends over
        the whole cache with a causal mask offset by ``cache_index``, so the not yet written
        (zero) slots are never seen. Prefill a prompt with ``cache_index = 0`` and all its
        tokens; then feed one token at a time.

        Args:
            ids: ``(B, t)`` int token ids.
            cache: ``(B, L, 2, S, H, d_head)`` from :meth:`init_cache` (or a previous call).
            cache_index: an int or scalar int tensor.

        Returns:
            ``(logits (B, t, V), updated cache)``: the same logits as :meth:`call` gives at
            those positions for the whole sequence.
        """
        shape = tuple(static_dim(d) for d in cache.shape)
        want = (self.num_layers, 2, None, self.num_heads, self.head_dim)
        if len(shape) != 6 or any(
            w is not None and s != w for s, w in zip(shape[1:], want, strict=True)
        ):
            raise ValueError(
                f"cache must have shape (B, num_layers={self.num_layers}, 2, S, "
                f"num_heads={self.num_heads}, d_head={self.head_dim}), got {shape}: "
                "make it with model.init_cache(batch_size)"
            )
        x = self.embedding(ids, start_index=cache_index)
        layer_caches = []
        for i, block in enumerate(self.blocks):
            x, layer_cache = block(
                x, use_causal_mask=True, cache=cache[:, i], cache_index=cache_index, training=False
            )
            layer_caches.append(layer_cache)
        return self._finish(x), ops.stack(layer_caches, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vocab_size": self.vocab_size,
            "seq_len": self.seq_len,
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "num_layers": self.num_layers,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "norm_first": self.norm_first,
            "positions": self.positions,
        }


def build_gpt(*args: Any, name: str = "mini_gpt", **kwargs: Any) -> GPT:
    """A built (uncompiled) :class:`GPT`: ``(B, T)`` ids -> ``(B, T, V)`` logits, ``T <= seq_len``.

    ``build_gpt(vocab_size, seq_len, d_model=128, num_heads=4, num_layers=4, ff_dim=None,
    dropout=0.0, *, activation="gelu", norm_first=True, positions="learned",
    name="mini_gpt")``: the arguments are those of :class:`GPT` (see there for each), passed
    on as given; only ``name`` has a default of its own.

    Train with ``SparseCategoricalCrossentropy(from_logits=True)``; the softmax is inside the
    loss, as for chapter 04's LSTM.

    Example:
        >>> model = build_gpt(vocab_size=65, seq_len=64, d_model=64, num_heads=4, num_layers=2)
        >>> model.count_params()
        112577
    """
    model = GPT(*args, name=name, **kwargs)
    model.build((None, None))
    return model


def training_flops_per_token(model: GPT, seq_len: int | None = None) -> float:
    """Approximate FLOPs of one training step per token: ``6 N + 12 L T d``.

    ``N`` is the parameters outside the embeddings (each is used in one multiply-add forward,
    two backward: 6 FLOPs), ``12 L T d`` the attention's ``Q K^T`` and ``A V`` products over
    a context of ``T`` (PaLM's appendix B; nanoGPT's ``estimate_mfu``).
    """
    seq_len = model.seq_len if seq_len is None else seq_len
    n_embed = sum(int(np.prod(w.shape)) for w in model.embedding.weights)
    n = model.count_params() - n_embed
    return 6.0 * n + 12.0 * model.num_layers * seq_len * model.d_model


__all__ = ["GPT", "build_gpt", "training_flops_per_token"]
