"""Chapter 06's checked exercises: sinusoidal positions, a pre-LN block, the key/value cache's
size, top-k/top-p filtering and a GPT's parameter count.

Each test draws its own inputs with a fixed seed and compares the learner's NumPy answer with
the package: :func:`lmcourse.models.positions.sinusoidal_positions`,
:class:`lmcourse.models.transformer.TransformerBlock`, :meth:`lmcourse.models.gpt.GPT.init_cache`,
:func:`lmcourse.sampling.probabilities` and :func:`lmcourse.models.gpt.build_gpt`'s
``count_params()``. Keras is imported only when a test needs it.
"""

from __future__ import annotations

import numpy as np

from lmcourse.exercises.checking import Exercise, Wrong, expect_close, expect_equal


def _sinusoidal(f) -> None:
    from keras import ops

    from lmcourse.models.positions import sinusoidal_positions

    for length, d in ((10, 4), (50, 16), (64, 64)):
        got = np.asarray(f(length, d), dtype=float)
        want = ops.convert_to_numpy(sinusoidal_positions(length, d))
        if got.shape == want.shape and np.allclose(got[:, ::2], want[:, ::2], atol=1e-4):
            if not np.allclose(got[:, 1::2], want[:, 1::2], atol=1e-4):
                raise Wrong("the even columns are right, the odd ones not: they are the cosines")
        # float32 sines of angles up to 63 are exact to about 1e-5
        expect_close(got, want, f"sinusoidal_encoding({length}, {d})", atol=1e-4)


def _block_parts(block) -> dict:
    """The weights of a built TransformerBlock under the names the exercise uses."""
    mha, ln1, ln2 = (
        block.self_attention,
        block.self_attention_layer_norm,
        block.feedforward_layer_norm,
    )
    ff1, ff2 = block.feedforward_intermediate_dense, block.feedforward_output_dense
    return {
        **{
            "ln1_gamma": ln1.gamma,
            "ln1_beta": ln1.beta,
            "ln2_gamma": ln2.gamma,
            "ln2_beta": ln2.beta,
        },
        **{f"w{p}": getattr(mha, f"{name}_kernel") for p, name in _QKVO},
        **{f"b{p}": getattr(mha, f"{name}_bias") for p, name in _QKVO},
        **{"w1": ff1.kernel, "b1": ff1.bias, "w2": ff2.kernel, "b2": ff2.bias},
    }


_QKVO = (("q", "query"), ("k", "key"), ("v", "value"), ("o", "output"))


def _random_block_weights(rng, d: int, heads: int, ff: int) -> dict[str, np.ndarray]:
    """Weights with random biases and LayerNorm scales too, so that each one matters."""
    dh = d // heads
    shapes = {
        **{f"{ln}_{p}": (d,) for ln in ("ln1", "ln2") for p in ("gamma", "beta")},
        **{f"w{p}": (d, heads, dh) for p in "qkv"},
        **{f"b{p}": (heads, dh) for p in "qkv"},
        **{"wo": (heads, dh, d), "bo": (d,), "w1": (d, ff), "b1": (ff,), "w2": (ff, d), "b2": (d,)},
    }
    return {
        name: (name.endswith("gamma") + 0.3 * rng.normal(size=shape)).astype("float32")
        for name, shape in shapes.items()
    }


def _pre_ln_block(f) -> None:
    rng = np.random.default_rng(6)
    d, heads, ff, T = 16, 4, 32, 7
    weights = _random_block_weights(rng, d, heads, ff)
    x = rng.normal(size=(2, T, d)).astype("float32")
    as64 = {name: w.astype(np.float64) for name, w in weights.items()}
    got = np.asarray(f(x.astype(np.float64), dict(as64)), dtype=float)
    if got.shape != x.shape:
        raise Wrong(f"pre_ln_block(x, w) has shape {got.shape}, expected {x.shape}, as x")
    future = x.copy()
    future[:, 4:] = rng.normal(size=(2, T - 4, d))
    moved = np.abs(np.asarray(f(future.astype(np.float64), dict(as64))) - got)[:, :4].max()
    if moved > 1e-6:
        raise Wrong(
            f"changing x at positions >= 4 moved your outputs at positions < 4 by {moved:.2g}: "
            "position t may attend to positions <= t only (the causal mask)"
        )
    from keras import ops

    from lmcourse.models.transformer import TransformerBlock

    block = TransformerBlock(d, heads, ff, norm_first=True, activation="relu")
    block(x)
    for name, variable in _block_parts(block).items():
        variable.assign(weights[name])
    want = ops.convert_to_numpy(block(x, use_causal_mask=True))
    expect_close(got, want, "pre_ln_block(x, w) for x of shape (2, 7, 16), 4 heads", atol=1e-4)


_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


def _kv_cache_bytes(f) -> None:
    from keras import ops

    from lmcourse.models.gpt import build_gpt

    got = {
        (batch, dtype): f(batch, 3, 24, 32, dtype)
        for batch, dtype in ((2, "float32"), (5, "float16"))
    }
    model = build_gpt(vocab_size=11, seq_len=24, d_model=32, num_heads=4, num_layers=3)
    for (batch, dtype), n_bytes in got.items():
        cache = ops.convert_to_numpy(model.init_cache(batch, dtype=dtype))  # (B, L, 2, S, H, dh)
        expect_equal(int(n_bytes), cache.nbytes, f"kv_cache_bytes({batch}, 3, 24, 32, {dtype!r})")
    # exercise 4 of the list: 32 layers, d = 4096, a context of 8,192, a batch of 16, bfloat16
    for args in ((16, 32, 8192, 4096, "bfloat16"), (1, 12, 1024, 768, "int8")):
        want = 2 * args[0] * args[1] * args[2] * args[3] * _DTYPE_BYTES[args[4]]
        expect_equal(int(f(*args)), want, f"kv_cache_bytes{args}")


def _top_k_top_p(f) -> None:
    from lmcourse.sampling import probabilities

    rng = np.random.default_rng(60)
    z = rng.normal(size=12) * 2.0
    for k, p in ((None, None), (3, None), (None, 0.6), (5, 0.8), (1, 0.5), (None, 1.0)):
        want = probabilities(z, top_k=k, top_p=p)
        got = np.asarray(f(z.copy(), k, p), dtype=float)
        what = f"top_k_top_p(z, k={k}, p={p})"
        if got.shape == want.shape and not np.array_equal(got > 0, want > 0):
            raise Wrong(
                f"{what} keeps tokens {np.flatnonzero(got > 0).tolist()}, "
                f"expected {np.flatnonzero(want > 0).tolist()}"
            )
        expect_close(got, want, what)


def _gpt_param_count(f) -> None:
    from lmcourse.models.gpt import build_gpt

    for V, S, d, L in ((65, 64, 64, 2), (30, 16, 32, 3), (7, 10, 8, 1)):
        got = int(f(V, S, d, L))
        model = build_gpt(V, S, d_model=d, num_heads=4 if d % 4 == 0 else 1, num_layers=L)
        expect_equal(got, model.count_params(), f"gpt_param_count({V}, {S}, {d}, {L})")


EXERCISES = (
    Exercise("06.1", "Sinusoidal position encodings", "sinusoidal_encoding", _sinusoidal),
    Exercise("06.2", "A pre-LN Transformer block in NumPy", "pre_ln_block", _pre_ln_block),
    Exercise("06.3", "The size of a key/value cache", "kv_cache_bytes", _kv_cache_bytes),
    Exercise("06.4", "Top-k and top-p filtering", "top_k_top_p", _top_k_top_p),
    Exercise("06.5", "A GPT's parameter count", "gpt_param_count", _gpt_param_count),
)
