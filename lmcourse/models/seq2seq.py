"""An encoder-decoder Transformer for translation, from keras-hub layers, with greedy and beam
decoding.

The encoder reads the source ids ``(B, S)`` into vectors ``(B, S, d)`` (the "memory"); the
decoder reads the target so far ``(B, T)`` and, through cross-attention, the memory, and gives
logits ``(B, T, V)`` for the next target token at every position. Id 0 is padding on both
sides; a shared vocabulary serves both languages.

:func:`build_translator` returns a :class:`Translator`: the training model
``[source, target_in] -> logits`` and its two halves, ``encoder`` and ``decoder``, which share
its weights (decoding runs the encoder once and the decoder once per new token).

Example:
    >>> t = build_translator(50, source_len=6, target_len=6, d_model=16, num_heads=2, ff_dim=32)
    >>> src = np.array([[5, 6, 7, 0, 0, 0]], "int32")
    >>> tuple(t.model([src, np.array([[1, 0, 0, 0, 0, 0]], "int32")]).shape)
    (1, 6, 50)
    >>> greedy_translate(t, src, bos=1, eos=2, max_len=4).shape
    (1, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from lmcourse._checks import check_heads, check_int, check_rate


@dataclass(frozen=True)
class Translator:
    model: keras.Model  # [source (B, S), target_in (B, T)] -> logits (B, T, V)
    encoder: keras.Model  # source (B, S) -> memory (B, S, d)
    decoder: keras.Model  # [target_in (B, T), memory (B, S, d), source (B, S)] -> logits
    target_len: int  # the longest target the decoder's positions allow


def build_translator(
    vocab_size: int,
    *,
    source_len: int,
    target_len: int,
    d_model: int = 128,
    num_heads: int = 4,
    ff_dim: int = 512,
    num_layers: int = 2,
    dropout: float = 0.1,
) -> Translator:
    """Post-LN Transformer encoder and decoder (keras-hub's defaults), ``num_layers`` each."""
    import keras_hub

    where = "build_translator"
    for name, value in (
        ("vocab_size", vocab_size),
        ("source_len", source_len),
        ("target_len", target_len),
    ):
        check_int(name, value, 1, where=where)
    check_heads(check_int("d_model", d_model, 1, where=where), num_heads)
    check_int("num_layers", num_layers, 1, where=where)
    check_rate("dropout", dropout, where=where)

    source = keras.Input((None,), dtype="int32", name="source")
    x = keras_hub.layers.TokenAndPositionEmbedding(vocab_size, source_len, d_model)(source)
    source_mask = ops.not_equal(source, 0)
    for _ in range(num_layers):
        x = keras_hub.layers.TransformerEncoder(ff_dim, num_heads, dropout=dropout)(
            x, padding_mask=source_mask
        )
    encoder = keras.Model(source, x, name="encoder")

    target = keras.Input((None,), dtype="int32", name="target_in")
    memory = keras.Input((None, d_model), name="memory")
    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    y = keras_hub.layers.TokenAndPositionEmbedding(vocab_size, target_len, d_model)(target)
    for _ in range(num_layers):
        y = keras_hub.layers.TransformerDecoder(ff_dim, num_heads, dropout=dropout)(
            y,
            memory,
            decoder_padding_mask=ops.not_equal(target, 0),
            encoder_padding_mask=ops.not_equal(source_ids, 0),
        )  # causal self-attention, then cross-attention to the memory, then the MLP
    logits = keras.layers.Dense(vocab_size, name="logits")(y)
    decoder = keras.Model([target, memory, source_ids], logits, name="decoder")

    src, tgt = (
        keras.Input((None,), dtype="int32", name="source"),
        keras.Input((None,), dtype="int32", name="target_in"),
    )
    model = keras.Model([src, tgt], decoder([tgt, encoder(src), src]), name="translator")
    return Translator(model, encoder, decoder, target_len)


def _check_decoding(translator: Translator, source_ids, max_len: int) -> np.ndarray:
    source = np.asarray(source_ids, dtype="int32")
    if source.ndim != 2:
        raise ValueError(f"source_ids of shape {source.shape}: expected (batch, source_len) ids")
    check_int("max_len", max_len, 1, translator.target_len - 1, where="decoding")
    return source


def cut_at_eos(ids: np.ndarray, eos: int) -> list[list[int]]:
    """Each row up to (not including) its first ``eos``, padding (0) removed."""
    out = []
    for row in np.asarray(ids):
        row = list(row)
        row = row[: row.index(eos)] if eos in row else row
        out.append([int(t) for t in row if t != 0])
    return out


def greedy_translate(
    translator: Translator, source_ids, *, bos: int, eos: int, max_len: int
) -> np.ndarray:
    """Pick the most likely next token, ``max_len`` times: ``(B, S)`` -> ``(B, max_len)`` ids
    (0 after a row's ``eos``)."""
    source = _check_decoding(translator, source_ids, max_len)
    source_t = ops.convert_to_tensor(source)
    memory = translator.encoder(source_t, training=False)
    out = np.zeros((len(source), max_len + 1), "int32")
    out[:, 0] = bos
    done = np.zeros(len(source), bool)
    for i in range(max_len):
        target = ops.convert_to_tensor(out[:, : i + 1])
        logits = translator.decoder([target, memory, source_t], training=False)
        nxt = ops.convert_to_numpy(ops.argmax(logits[:, i], axis=-1)).astype("int32")
        out[:, i + 1] = np.where(done, 0, nxt)
        done |= nxt == eos
        if done.all():
            break
    return out[:, 1:]


def beam_translate(
    translator: Translator, source_ids, *, bos: int, eos: int, max_len: int, num_beams: int = 4
) -> np.ndarray:
    """Beam search with ``keras_hub.samplers.BeamSampler``: keep the ``num_beams`` most likely
    partial translations at every step; ``(B, S)`` -> ``(B, max_len)`` ids (the best beam).

    The encoder's memory and the source ids travel as the sampler's ``cache``, which it
    repeats once per beam.
    """
    import keras_hub

    source = _check_decoding(translator, source_ids, max_len)
    check_int("num_beams", num_beams, 1, where="beam_translate")
    source_t = ops.convert_to_tensor(source)
    memory = translator.encoder(source_t, training=False)
    prompt = np.zeros((len(source), max_len + 1), "int32")
    prompt[:, 0] = bos
    mask = np.zeros(prompt.shape, bool)
    mask[:, 0] = True

    def next_fn(prompt, cache, index):
        memory, source = cache
        logits = translator.decoder([prompt, memory, source], training=False)  # (B*k, L, V)
        return ops.take(logits, index - 1, axis=1), None, cache

    sampler = keras_hub.samplers.BeamSampler(num_beams=num_beams)
    out = sampler(
        next_fn,
        ops.convert_to_tensor(prompt),
        cache=(memory, source_t),
        index=1,
        mask=ops.convert_to_tensor(mask),
        stop_token_ids=[eos],
    )
    out = ops.convert_to_numpy(out)[:, 1:]
    after = np.cumsum(out == eos, axis=1) - (out == eos) > 0  # positions after the first eos
    return np.where(after, 0, out).astype("int32")
