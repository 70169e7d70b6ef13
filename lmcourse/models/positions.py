"""Position encodings: what tells a Transformer's attention one position from another.

Attention alone cannot tell positions apart (it is a weighted *set* average), so the input
of the first block is ``token embedding + position embedding``: :class:`TokenAndPositionEmbedding`
adds a **learned** vector per position (GPT) or the fixed **sinusoidal** one,
:func:`sinusoidal_positions`.

Shapes: ``B`` batch, ``T`` sequence length, ``d`` = ``d_model``, ``V`` vocabulary.

Everything uses ``keras.layers``/``keras.ops``, so it runs on TensorFlow, JAX and PyTorch.

Example:
    >>> import numpy as np
    >>> emb = TokenAndPositionEmbedding(vocab_size=20, max_length=16, d_model=8,
    ...                                 positions="sinusoidal")
    >>> tuple(emb(np.array([[1, 2, 3]])).shape)                 # (B, T, d)
    (1, 3, 8)
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lmcourse._checks import check_int, clone_initializer, static_dim

POSITIONS = ("learned", "sinusoidal")


def sinusoidal_positions(
    length: int, d_model: int, max_wavelength: float = 10_000.0, start: Any = 0
) -> Any:
    """The fixed sinusoidal position encodings of Vaswani et al. (2017).

    .. math::  PE_{p, 2i} = \\sin(p / w^{2i/d}), \\qquad PE_{p, 2i+1} = \\cos(p / w^{2i/d})

    for positions ``p = start .. start + length - 1`` and ``w = max_wavelength``: each pair
    of dimensions is a clock turning at its own speed, from one turn per ``2 pi`` positions
    (``i = 0``) to one per ``2 pi w`` positions. The encoding of ``p + k`` is a fixed rotation
    of that of ``p`` (per pair), so relative offsets are easy to read off. The same numbers
    as ``keras_hub.layers.SinePositionEncoding``.

    Args:
        length: ``T``, the number of positions.
        d_model: ``d``, the size of each encoding vector.
        max_wavelength: ``w``.
        start: the first position (an int or a scalar tensor, e.g. a cache index).

    Returns:
        ``(T, d)`` float32, values in [-1, 1].

    Example:
        >>> import numpy as np
        >>> pe = np.asarray(sinusoidal_positions(50, 16))
        >>> pe.shape, float(pe[0, 0]), float(pe[0, 1])     # position 0: sin 0 = 0, cos 0 = 1
        ((50, 16), 0.0, 1.0)
    """
    length, d_model = check_int("length", length), check_int("d_model", d_model)
    positions = ops.cast(ops.arange(length) + ops.cast(start, "int32"), "float32")
    dims = ops.arange(d_model)
    exponent = ops.cast(2 * (dims // 2), "float32") / float(d_model)  # 2i/d for both of a pair
    inv_freq = ops.power(1.0 / float(max_wavelength), exponent)  # (d,)
    angles = positions[:, None] * inv_freq[None, :]  # (T, d)
    odd = ops.cast(dims % 2, "float32")
    return ops.sin(angles) * (1.0 - odd) + ops.cos(angles) * odd


@keras.saving.register_keras_serializable(package="lmcourse")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding plus position embedding: ``E[ids] + P[positions]``.

    Args:
        vocab_size: ``V``, the number of token ids.
        max_length: the longest sequence (the context window); learned positions have one
            vector each for ``0 .. max_length - 1``.
        d_model: ``d``, the embedding size.
        positions: ``"learned"`` (a trained ``(max_length, d)`` table, as GPT) or
            ``"sinusoidal"`` (:func:`sinusoidal_positions`, no weights).
        embeddings_initializer: initializer of the token and position tables (GPT-2 uses a
            normal distribution with standard deviation 0.02).
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        ids: ``(B, T)`` int token ids.
        start_index: the position of the first token (an int or scalar tensor; a cache index
            during generation).

    Returns:
        ``(B, T, d)``.

    Raises:
        ValueError: ``T`` (plus ``start_index``, when it is a plain int) is longer than
            ``max_length``; the message names both sizes.

    Example:
        >>> import numpy as np
        >>> emb = TokenAndPositionEmbedding(vocab_size=10, max_length=8, d_model=4)
        >>> tuple(emb(np.array([[1, 2, 3]])).shape)
        (1, 3, 4)
    """

    def __init__(
        self,
        vocab_size: int,
        max_length: int,
        d_model: int,
        positions: str = "learned",
        embeddings_initializer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size = check_int("vocab_size", vocab_size)
        self.max_length = check_int("max_length", max_length)
        self.d_model = check_int("d_model", d_model)
        if positions not in POSITIONS:
            raise ValueError(f"positions={positions!r} is unknown: choose one of {POSITIONS}")
        self.positions = positions
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.RandomNormal(stddev=0.02)
        )
        self.token_embedding = keras.layers.Embedding(
            self.vocab_size,
            self.d_model,
            embeddings_initializer=clone_initializer(self.embeddings_initializer),
            dtype=self.dtype_policy,
            name="token_embedding",
        )

    def build(self, input_shape=None) -> None:
        self.token_embedding.build(input_shape)
        if self.positions == "learned":
            self.position_embeddings = self.add_weight(
                name="position_embeddings",
                shape=(self.max_length, self.d_model),
                initializer=self.embeddings_initializer,
            )
        self.built = True

    def position_vectors(self, length: int, start_index: Any = 0) -> Any:
        """``(T, d)``: the vectors of positions ``start_index .. start_index + T - 1``."""
        if self.positions == "sinusoidal":
            return sinusoidal_positions(length, self.d_model, start=start_index)
        table = ops.convert_to_tensor(self.position_embeddings)  # (max_length, d)
        return ops.slice(table, [start_index, 0], [length, self.d_model])

    def call(self, ids, start_index=0):
        length = static_dim(ids.shape[-1])
        if length is None:
            length = ops.shape(ids)[-1]
        else:
            start = start_index if isinstance(start_index, int) else 0
            if start + length > self.max_length:
                where = f" starting at position {start}" if start else ""
                raise ValueError(
                    f"a sequence of {length} tokens{where} is longer than the context window "
                    f"max_length={self.max_length}: the model has position embeddings for "
                    f"positions 0..{self.max_length - 1} only; cut the input to its last "
                    f"{self.max_length - start} tokens"
                )
        tokens = self.token_embedding(ids)  # (B, T, d)
        return tokens + ops.cast(self.position_vectors(length, start_index), tokens.dtype)[None]

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.d_model)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "max_length": self.max_length,
            "d_model": self.d_model,
            "positions": self.positions,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        }


__all__ = ["TokenAndPositionEmbedding", "sinusoidal_positions"]
