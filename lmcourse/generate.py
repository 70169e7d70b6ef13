"""Generating text from a language model, and the ``next_logits`` adapters of every model.

:func:`generate` extends a prompt one token at a time: it asks a ``next_logits`` function
for the logits of the next token (``(B, t)`` ids in, ``(B, V)`` logits out) and draws the
token with :func:`lmcourse.sampling.sample` (greedy, temperature, top-k, top-p). The
default, :func:`last_logits_fn`, runs any Keras language model that maps ``(B, T)`` token
ids to ``(B, T, V)`` logits over the whole (windowed) prefix at every step. Faster
adapters remember what they have read:

- :func:`recurrent_next_logits` - an RNN (chapter 04's LSTM) carries its states between
  calls and reads only the new token.
- :func:`cached_next_logits` - a :class:`~lmcourse.models.gpt.GPT` keeps the keys and
  values of the tokens read so far (its key/value cache); :func:`full_next_logits` is the
  same model without the cache, for comparison.
- :func:`keras_hub_next` / :func:`sample_with_keras_hub` - the GPT's cache driven by a
  ``keras_hub.samplers`` sampler instead of :func:`generate`.

Each remembering adapter starts over when called with ids that do not extend the ones it
read last. :func:`check_context` and :func:`compile_fn` are their shared helpers.

Example:
    >>> import numpy as np
    >>> def counter(ids):                      # a "model" that always predicts id + 1
    ...     return np.eye(5)[(ids[:, -1] + 1) % 5] * 10
    >>> generate(None, [0], 4, strategy="greedy", next_logits=counter)
    array([0, 1, 2, 3, 4])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import ops

from lmcourse._checks import check_int
from lmcourse.sampling import check_sampling_args, sample

if TYPE_CHECKING:
    from lmcourse.models.gpt import GPT

STRATEGIES = ("greedy", "sample")


def last_logits_fn(model: Any, max_context: int | None = None) -> Callable[[np.ndarray], Any]:
    """A ``next_logits`` function for :func:`generate` from a model mapping ``(B, T)`` ids to
    ``(B, T, V)`` logits: run the (last ``max_context``) ids, keep the last position's logits.

    The whole prefix is recomputed at every step: simple and correct for any such model, and
    ``O(T)`` work per token (a Transformer with a key/value cache avoids it).
    """

    def next_logits(ids: np.ndarray) -> Any:
        if max_context is not None:
            ids = ids[:, -max_context:]
        return model(ids, training=False)[:, -1, :]

    return next_logits


def generate(
    model: Any,
    prompt_ids: Any,
    n: int,
    *,
    strategy: str = "sample",
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    max_context: int | None = None,
    next_logits: Callable[[np.ndarray], Any] | None = None,
) -> np.ndarray:
    """Extend a prompt by ``n`` tokens, one at a time.

    Args:
        model: a Keras model mapping ``(B, T)`` int ids to ``(B, T, V)`` logits (ignored if
            ``next_logits`` is given; may then be None).
        prompt_ids: the prompt, shape ``(T,)`` or ``(B, T)`` with T >= 1.
        n: how many tokens to add (>= 0).
        strategy: ``"greedy"`` (argmax) or ``"sample"`` (with temperature/top-k/top-p).
        temperature, top_k, top_p: the sampling filters (see
            :func:`lmcourse.sampling.probabilities`).
        seed: seeds the sampling; the same seed gives the same text.
        max_context: feed the model at most this many of the latest tokens (a model trained
            on sequences of length L works best with ``max_context`` around L).
        next_logits: ``f(ids (B, t)) -> logits (B, V)`` for the next token; default
            :func:`last_logits_fn` of ``model``. A model with a cache passes its own.

    Returns:
        The prompt followed by the ``n`` new tokens, int64, shape ``(T + n,)`` or
        ``(B, T + n)`` (the rank of ``prompt_ids``).

    Raises:
        ValueError: an unknown strategy, bad sampling arguments (see
            :func:`lmcourse.sampling.check_sampling_args`), an empty prompt, ``n < 0``.

    Example:
        >>> import numpy as np
        >>> def counter(ids):                      # a "model" that always predicts id + 1
        ...     return np.eye(5)[(ids[:, -1] + 1) % 5] * 10
        >>> generate(None, [0], 6, strategy="greedy", next_logits=counter)
        array([0, 1, 2, 3, 4, 0, 1])
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} is unknown: choose one of {STRATEGIES}")
    check_sampling_args(temperature, top_k, top_p)
    check_int("n", n, 0, hint="the number of tokens to generate")
    if max_context is not None:
        check_int("max_context", max_context, hint="or None for the model's whole context")
    ids = np.asarray(prompt_ids)
    if ids.ndim not in (1, 2) or ids.shape[-1] == 0:
        raise ValueError(
            f"prompt_ids must have shape (T,) or (batch, T) with T >= 1, got shape {ids.shape}"
        )
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"prompt_ids must be integer token ids, got dtype {ids.dtype}")
    squeeze = ids.ndim == 1
    ids = ids.reshape(1, -1) if squeeze else ids
    if next_logits is None:
        if model is None:
            raise ValueError("pass a model (or a next_logits function) to generate from")
        next_logits = last_logits_fn(model, max_context)
    rng = np.random.default_rng(seed)
    out = np.zeros((ids.shape[0], ids.shape[1] + n), dtype=np.int64)
    out[:, : ids.shape[1]] = ids
    for t in range(ids.shape[1], ids.shape[1] + n):
        logits = next_logits(out[:, :t].astype(np.int32))
        out[:, t] = sample(
            logits,
            greedy=strategy == "greedy",
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            rng=rng,
        )
    return out[0] if squeeze else out


# ----------------------------------------------------------------- remembering what was read


def _extends(seen: np.ndarray | None, ids: np.ndarray) -> bool:
    """True if the ``(B, t)`` ``ids`` begin with the ``seen`` ones (same batch size)."""
    return (
        seen is not None
        and seen.shape[0] == ids.shape[0]
        and seen.shape[1] <= ids.shape[1]
        and np.array_equal(ids[:, : seen.shape[1]], seen)
    )


# ------------------------------------------------------------------------------ recurrent models

_RNN_LAYERS = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)


def _state_inputs(layer: keras.layers.Layer) -> list[Any]:
    """One ``keras.Input`` per state of a recurrent layer (an LSTM has two: h and c)."""
    if not layer.return_sequences:
        raise ValueError(f"layer {layer.name} must return sequences to be stepped")
    sizes = layer.cell.state_size
    sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
    return [keras.Input(shape=(int(s),)) for s in sizes]


def _step_model(model: keras.Model) -> tuple[keras.Model, list[Any]]:
    """``model`` rebuilt to take and return its RNN states: ``[ids, *states] -> [logits, *states]``.

    The layers are shared with ``model``, not copied. Returns the step model and its state
    inputs (their last axis is each state's size).

    Raises:
        ValueError: a layer other than Embedding, RNN (returning sequences), Dropout or Dense.
    """
    ids = keras.Input(shape=(None,), dtype="int32")
    x, states_in, states_out = ids, [], []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
            continue
        if isinstance(layer, _RNN_LAYERS):
            states = _state_inputs(layer)
            stepper = keras.layers.RNN(layer.cell, return_sequences=True, return_state=True)
            x, *new = stepper(x, initial_state=states if len(states) > 1 else states[0])
            states_in += states
            states_out += new
        elif isinstance(layer, (keras.layers.Embedding, keras.layers.Dense)):
            x = layer(x)
        else:
            raise ValueError(
                f"recurrent_next_logits cannot step layer {layer.name} "
                f"({type(layer).__name__}): use generate's default next_logits for this model"
            )
    step_model = keras.Model([ids, *states_in], [x, *states_out], name=f"{model.name}_stepper")
    return step_model, states_in


def recurrent_next_logits(model: keras.Model):
    """A fast ``next_logits`` function for :func:`generate` from a recurrent language model
    such as :func:`lmcourse.models.rnn.build_char_lstm`'s: it carries the RNN states between
    calls.

    The recurrent state *is* a summary of everything read so far, so an RNN needs only the
    newest token to predict the next one: ``O(1)`` work per generated token, instead of
    re-reading the whole prefix. (A Transformer has no such state; chapter 06 gives it a
    key/value cache to get the same effect.)

    The returned function remembers the ids it has read. Called with ids that extend them, it
    reads only the new tokens; called with anything else (a new prompt), it starts over.

    Args:
        model: a model made of an Embedding, RNN layers (LSTM, GRU, SimpleRNN) with
            ``return_sequences=True``, optional Dropout, and Dense layers, applied in that
            order (the layers are shared, not copied: later training shows up here).

    Returns:
        ``next_logits(ids (B, t)) -> logits (B, V)`` of the token after ``ids``.

    Raises:
        ValueError: the model has a layer this stepper does not know how to run.

    Example:
        >>> from lmcourse.models.rnn import build_char_lstm
        >>> model = build_char_lstm(vocab_size=12, embed_dim=4, units=8)
        >>> generate(model, [1, 2, 3], 5, strategy="greedy",
        ...          next_logits=recurrent_next_logits(model)).shape
        (8,)
    """
    step_model, states_in = _step_model(model)
    memory: dict[str, Any] = {"ids": None, "states": None, "logits": None}

    def next_logits(batch_ids):
        batch_ids = np.asarray(batch_ids, dtype="int32")
        seen = memory["ids"]
        extends = _extends(seen, batch_ids)
        if extends and seen.shape[1] == batch_ids.shape[1]:
            return memory["logits"]
        if extends:
            new, states = batch_ids[:, seen.shape[1] :], memory["states"]
        else:
            new = batch_ids
            states = [
                np.zeros((batch_ids.shape[0], int(s.shape[-1])), "float32") for s in states_in
            ]
        logits, *states = step_model.predict_on_batch([new, *states])
        memory.update(ids=batch_ids.copy(), states=states, logits=logits[:, -1, :])
        return memory["logits"]

    return next_logits


# ------------------------------------------------------------------------------ the GPT


def check_context(model: GPT, length: int, what: str = "the prompt") -> None:
    """Raise a ValueError naming both sizes if ``length`` tokens do not fit the context window."""
    if length > model.seq_len:
        raise ValueError(
            f"{what} has {length} tokens, longer than the model's context window "
            f"seq_len={model.seq_len}: shorten it to at most {model.seq_len} tokens (or keep "
            f"only its last {model.seq_len})"
        )


def compile_fn(fn: Callable) -> Callable:
    """Compile ``fn`` as a graph where the backend can: ``tf.function`` on TensorFlow,
    ``jax.jit`` on JAX (the model's weights become constants: for inference only), the
    function itself on PyTorch."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn


def cached_next_logits(model: GPT, *, compile: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """A ``next_logits`` function for :func:`generate` that uses the GPT's key/value cache.

    The first call (a new prompt) **prefills** the cache with all prompt tokens in one
    forward pass; each later call, with the ids extended by one token, runs just that token
    (``call_with_cache`` at ``cache_index = t - 1``). Called with ids that do not extend the
    previous ones, it starts over.

    Args:
        model: a :class:`~lmcourse.models.gpt.GPT`.
        compile: run the prefill and the step as compiled graphs (see :func:`compile_fn`).

    Returns:
        ``next_logits(ids (B, t)) -> logits (B, V)`` (NumPy float32) of the token after ``ids``.

    Raises:
        ValueError (when called): ``t`` is longer than the context window ``seq_len``.

    Example:
        >>> from lmcourse.models.gpt import build_gpt
        >>> model = build_gpt(vocab_size=12, seq_len=16, d_model=16, num_heads=2, num_layers=1)
        >>> generate(model, [1, 2, 3], 5, strategy="greedy",
        ...          next_logits=cached_next_logits(model)).shape
        (8,)
    """
    run = compile_fn(model.call_with_cache) if compile else model.call_with_cache
    memory: dict[str, Any] = {"ids": None, "cache": None, "logits": None}

    def next_logits(batch_ids):
        batch_ids = np.asarray(batch_ids, dtype="int32")
        t = batch_ids.shape[1]
        check_context(model, t, "the sequence so far")
        seen = memory["ids"]
        extends = _extends(seen, batch_ids)
        if extends and seen.shape[1] == t:
            return memory["logits"]
        if extends:
            cache, start = memory["cache"], seen.shape[1]
        else:
            cache, start = model.init_cache(batch_ids.shape[0]), 0
        # prefill (all new tokens at once) or one step; the index is a tensor: one graph
        logits, cache = run(batch_ids[:, start:], cache, ops.convert_to_tensor(start, "int32"))
        memory.update(
            ids=batch_ids.copy(), cache=cache, logits=ops.convert_to_numpy(logits[:, -1, :])
        )
        return memory["logits"]

    return next_logits


def full_next_logits(model: GPT, *, compile: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """The no-cache ``next_logits``: a forward pass over the whole sequence for every token.

    The ids are padded to the context window ``seq_len`` so that one compiled graph serves
    every length (the causal mask makes the padding after position ``t - 1`` irrelevant);
    the logits at ``t - 1`` are returned. ``O(seq_len)`` work per token - what the cache saves.

    Raises:
        ValueError (when called): ``t`` is longer than ``seq_len``.
    """
    forward = compile_fn(lambda ids: model(ids, training=False)) if compile else model

    def next_logits(batch_ids):
        batch_ids = np.asarray(batch_ids, dtype="int32")
        t = batch_ids.shape[1]
        check_context(model, t, "the sequence so far")
        padded = np.zeros((batch_ids.shape[0], model.seq_len), "int32")
        padded[:, :t] = batch_ids
        return ops.convert_to_numpy(forward(padded)[:, t - 1, :])

    return next_logits


def keras_hub_next(model: GPT) -> Callable:
    """``next(prompt, cache, index)`` for ``keras_hub.samplers`` (Greedy/TopK/TopP...).

    A keras-hub sampler fills a padded ``prompt (B, S)`` from position ``index`` on; at each
    step it asks ``next`` for the logits of position ``index``, which our model computes from
    the token at ``index - 1`` with the cache. Prefill the cache with the prompt first
    (:func:`sample_with_keras_hub` does all of it).

    Returns:
        ``next(prompt, cache, index) -> (logits (B, V), None, cache)``.
    """

    def next_fn(prompt, cache, index):
        batch = ops.shape(prompt)[0]
        token = ops.slice(prompt, [0, index - 1], [batch, 1])  # (B, 1)
        logits, cache = model.call_with_cache(token, cache, index - 1)
        return logits[:, 0, :], None, cache

    return next_fn


def sample_with_keras_hub(model: GPT, prompt_ids: Any, n: int, sampler: Any) -> np.ndarray:
    """Extend ``prompt_ids (T,)`` or ``(B, T)`` by ``n`` tokens with a keras-hub sampler.

    Args:
        model: a :class:`~lmcourse.models.gpt.GPT`.
        prompt_ids: the prompt; ``T + n`` must fit the context window.
        n: tokens to generate.
        sampler: e.g. ``keras_hub.samplers.TopKSampler(k=5, seed=1)``.

    Returns:
        ``(T + n,)`` or ``(B, T + n)`` int32 ids.

    Raises:
        ValueError: ``T + n`` is longer than ``seq_len``.
    """
    ids = np.asarray(prompt_ids, dtype="int32")
    squeeze = ids.ndim == 1
    ids = ids[None] if squeeze else ids
    batch, t = ids.shape
    check_context(model, t + check_int("n", n, 0), f"the prompt plus {n} new tokens")
    total = t + n
    prompt = np.zeros((batch, total), "int32")
    prompt[:, :t] = ids
    cache = model.init_cache(batch, total)
    _, cache = model.call_with_cache(ids, cache, 0)  # prefill
    mask = np.zeros((batch, total), bool)
    mask[:, :t] = True  # keep the prompt's tokens
    out = sampler(
        keras_hub_next(model),
        ops.convert_to_tensor(prompt),
        cache=cache,
        index=t,
        mask=ops.convert_to_tensor(mask),
    )
    out = ops.convert_to_numpy(out)
    return out[0] if squeeze else out
