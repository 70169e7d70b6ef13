"""Attention from scratch (lmcourse.models.attention) against the formula and against Keras."""

import importlib.util
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from lmcourse.models import attention as A
from lmcourse.models import multi_head_attention as MHA

TOL = 1e-5


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def np_attention(q, k, v, bias=None):
    """The formula in NumPy, float64: softmax((q k^T + b) / sqrt(d_k)) v."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    logits = q @ np.swapaxes(k, -1, -2)
    if bias is not None:
        logits = logits + np.asarray(bias, np.float64)
    logits /= math.sqrt(q.shape[-1])
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return w @ v, w


def pair(num_heads=4, key_dim=8, value_dim=None, use_bias=True, output_dim=None, shapes=None):
    """Our MHA and Keras's, built on the same shapes, with the same (random) weights."""
    shapes = shapes or ((2, 7, 16), (2, 7, 16))
    q, v = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    own = MHA.MultiHeadAttention(
        num_heads, key_dim, value_dim, use_bias=use_bias, output_dim=output_dim
    )
    ref = keras.layers.MultiHeadAttention(
        num_heads,
        key_dim,
        value_dim,
        use_bias=use_bias,
        output_shape=output_dim,
        bias_initializer="random_normal",
    )
    own(q, v)
    ref(q, v, return_attention_scores=True)  # Keras's fused path on JAX needs key_dim == value_dim
    MHA.copy_weights_from_keras(own, ref)
    return own, ref, q, v


# ------------------------------------------------------------------- scaled dot-product


@pytest.mark.parametrize("shape", [(2, 5, 8), (2, 3, 5, 8)], ids=["3d", "4d-heads"])
def test_sdpa_matches_the_formula_and_shapes(shape):
    q = rand(*shape, seed=1)
    k, v = rand(*shape[:-2], 6, 8, seed=2), rand(*shape[:-2], 6, 3, seed=3)
    bias = rand(5, 6, seed=4)
    out, w = A.scaled_dot_product_attention(q, k, v, bias=bias)
    assert tuple(out.shape) == (*shape[:-1], 3) and tuple(w.shape) == (*shape[:-1], 6)
    ref_out, ref_w = np_attention(q, k, v, bias)
    np.testing.assert_allclose(np.asarray(out), ref_out, atol=TOL)
    np.testing.assert_allclose(np.asarray(w), ref_w, atol=TOL)
    np.testing.assert_allclose(np.asarray(w).sum(-1), 1.0, atol=1e-6)


def test_mask_is_an_additive_bias_and_masked_keys_get_zero_weight():
    q, k, v = rand(2, 5, 8, seed=1), rand(2, 6, 8, seed=2), rand(2, 6, 4, seed=3)
    mask = np.random.default_rng(5).random((2, 5, 6)) > 0.4
    mask[:, :, 0] = True  # every query may see something
    out_m, w_m = A.scaled_dot_product_attention(q, k, v, mask=mask)
    out_b, w_b = A.scaled_dot_product_attention(q, k, v, bias=A.mask_to_bias(mask))
    w_m, w_b = np.asarray(w_m), np.asarray(w_b)
    assert np.all(w_m[~mask] == 0) and np.all(w_b[~mask] < 1e-30)
    np.testing.assert_allclose(w_m, w_b, atol=1e-7)
    np.testing.assert_allclose(np.asarray(out_m), np.asarray(out_b), atol=1e-6)
    # the same as renormalizing the unmasked softmax over the allowed keys
    _, w_full = np_attention(q, k, v)
    renorm = w_full * mask / (w_full * mask).sum(-1, keepdims=True)
    np.testing.assert_allclose(w_m, renorm, atol=1e-6)


def test_fully_masked_rows_and_minus_infinity_give_no_nan():
    q = rand(1, 3, 4)
    mask = np.array([[[True, False, False], [False, False, False], [True, True, True]]])
    out, w = A.scaled_dot_product_attention(q, q, q, mask=mask)
    assert np.isfinite(np.asarray(out)).all()
    np.testing.assert_array_equal(np.asarray(w)[0, 1], 0.0)  # nothing to see: zero weights
    bias = np.where(mask, 0.0, -np.inf).astype("float32")  # -inf is clamped to NEG_INF
    out_b, w_b = A.scaled_dot_product_attention(q, q, q, bias=bias)
    assert np.isfinite(np.asarray(out_b)).all()
    np.testing.assert_allclose(np.asarray(w_b)[0, 1], 1 / 3, atol=1e-6)  # a harmless uniform row
    np.testing.assert_allclose(np.asarray(w_b)[0, [0, 2]], np.asarray(w)[0, [0, 2]], atol=1e-7)


def test_causal_bias_and_offset():
    forbidden = (np.asarray(A.causal_bias(4)) < 0).astype(int)
    np.testing.assert_array_equal(forbidden, np.triu(np.ones((4, 4), int), 1))
    assert (
        np.asarray(A.causal_bias(4)).max() == 0 and np.asarray(A.causal_bias(4)).min() == A.NEG_INF
    )
    # two new queries at positions 3 and 4 of a 6-slot cache see keys 0..3 and 0..4
    m = np.asarray(A.causal_mask(2, 6, offset=3))
    np.testing.assert_array_equal(m, [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]])


def test_padding_bias_means_padding_changes_nothing():
    """A padded sentence's real positions give the same outputs as the sentence alone."""
    x = rand(1, 4, 8, seed=3)
    padded = np.concatenate([x, rand(1, 3, 8, seed=9)], axis=1)  # 3 padding vectors (garbage)
    real = np.array([[1, 1, 1, 1, 0, 0, 0]])
    bias = A.padding_bias(real)
    assert tuple(bias.shape) == (1, 1, 7)
    np.testing.assert_array_equal(
        np.asarray(bias)[0, 0], [0, 0, 0, 0, A.NEG_INF, A.NEG_INF, A.NEG_INF]
    )
    out_pad, w_pad = A.scaled_dot_product_attention(padded, padded, padded, bias=bias)
    out, _ = A.scaled_dot_product_attention(x, x, x)
    np.testing.assert_allclose(np.asarray(out_pad)[:, :4], np.asarray(out), atol=1e-6)
    assert np.asarray(w_pad)[..., 4:].max() < 1e-30


def test_alibi_slopes_and_monotonic_penalty():
    h, t = 8, 6
    slopes = np.asarray(A.alibi_slopes(h))
    np.testing.assert_allclose(slopes, [2 ** (-8 * i / h) for i in range(1, h + 1)], rtol=1e-6)
    np.testing.assert_allclose(slopes[1:] / slopes[:-1], 2 ** (-8 / h), rtol=1e-6)  # geometric
    bias = np.asarray(A.alibi_bias(h, t))
    assert bias.shape == (1, h, t, t)
    np.testing.assert_array_equal(np.diagonal(bias, axis1=-2, axis2=-1), 0.0)
    for head in range(h):
        row = bias[0, head, t - 1]  # the last query looking back
        assert np.all(np.diff(row) > 0), "farther keys must be penalized more"
        np.testing.assert_allclose(row, -slopes[head] * np.arange(t - 1, -1, -1), rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(A.alibi_bias(2, 1, 4, offset=3))[0, :, 0],
        np.asarray(A.alibi_bias(2, 4))[0, :, 3],
    )
    # with heads, a (1, H, Tq, Tk) bias applies per head
    q = rand(2, h, t, 4)
    _, w = A.scaled_dot_product_attention(q, q, q, bias=bias)
    np.testing.assert_allclose(np.asarray(w), np_attention(q, q, q, bias)[1], atol=TOL)


def test_split_and_merge_heads_round_trip():
    x = rand(2, 5, 12)
    heads = A.split_heads(x, 3)
    assert tuple(heads.shape) == (2, 3, 5, 4)
    np.testing.assert_array_equal(np.asarray(heads)[:, 1], x[..., 4:8])
    np.testing.assert_array_equal(np.asarray(A.merge_heads(heads)), x)


# ------------------------------------------------------------------ multi-head vs Keras


CASES = {
    "no_mask": {},
    "attention_mask": {"attention_mask": np.random.default_rng(7).random((2, 7, 7)) > 0.3},
    "causal": {"use_causal_mask": True},
    "padding_and_causal": {
        "attention_mask": np.array([[1] * 7, [1] * 4 + [0] * 3], bool)[:, None, :],
        "use_causal_mask": True,
    },
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_own_mha_equals_keras_mha(case):
    own, ref, q, v = pair()
    kwargs = CASES[case]
    out, w = own(q, v, return_attention_scores=True, **kwargs)
    ref_out, ref_w = ref(q, v, return_attention_scores=True, **kwargs)
    assert np.abs(np.asarray(out) - np.asarray(ref_out)).max() < TOL
    assert np.abs(np.asarray(w) - np.asarray(ref_w)).max() < TOL
    # without return_attention_scores Keras takes its fused path; still the same function
    assert np.abs(np.asarray(own(q, v, **kwargs)) - np.asarray(ref(q, v, **kwargs))).max() < TOL


def test_own_mha_equals_keras_for_cross_attention_other_sizes_and_no_bias():
    own, ref, q, v = pair(
        num_heads=3,
        key_dim=5,
        value_dim=7,
        use_bias=False,
        output_dim=11,
        shapes=((2, 4, 6), (2, 9, 10)),
    )
    out = np.asarray(own(q, v))
    assert out.shape == (2, 4, 11)
    ref_out, _ = ref(q, v, return_attention_scores=True)
    assert np.abs(out - np.asarray(ref_out)).max() < TOL
    assert own.query_bias is None and len(own.weights) == 4


def test_copy_weights_to_keras_and_untrained_layers_differ():
    own, ref, q, v = pair()
    fresh = keras.layers.MultiHeadAttention(4, 8)
    fresh(q, v)
    assert np.abs(np.asarray(fresh(q, v)) - np.asarray(own(q, v))).max() > 1e-3
    MHA.copy_weights_to_keras(own, fresh)
    assert np.abs(np.asarray(fresh(q, v)) - np.asarray(own(q, v))).max() < TOL


def test_attention_bias_in_the_layer_equals_the_mask():
    own, _, q, _ = pair()
    mask = np.array([[1] * 7, [1] * 5 + [0] * 2], bool)
    by_mask = own(q, attention_mask=mask[:, None, :])
    by_bias = own(q, attention_bias=A.padding_bias(mask))
    np.testing.assert_allclose(np.asarray(by_mask), np.asarray(by_bias), atol=1e-6)


def test_causal_attention_does_not_leak_the_future():
    mha = MHA.MultiHeadAttention(num_heads=2, bias_initializer="random_normal")
    x = rand(2, 10, 16, seed=1)
    t = 4
    changed = x.copy()
    changed[:, t + 1 :] = rand(2, 10 - t - 1, 16, seed=2)  # rewrite every token after t
    before, after = mha(x, use_causal_mask=True), mha(changed, use_causal_mask=True)
    assert np.abs(np.asarray(before)[:, : t + 1] - np.asarray(after)[:, : t + 1]).max() <= 1e-6
    # the test can fail: without the mask the change reaches the earlier positions
    leak = np.abs(np.asarray(mha(x))[:, : t + 1] - np.asarray(mha(changed))[:, : t + 1]).max()
    assert leak > 1e-3


def test_kv_cache_gives_the_same_outputs_as_full_causal_attention():
    mha = MHA.MultiHeadAttention(num_heads=2, bias_initializer="random_normal")
    x = rand(2, 6, 8, seed=1)
    full = np.asarray(mha(x, use_causal_mask=True))
    cache = mha.init_cache(2, 6)
    assert tuple(cache.shape) == (2, 2, 6, 2, 4)
    first, cache = mha(x[:, :3], cache=cache, cache_index=0, use_causal_mask=True)  # prefill
    steps = [first]
    for t in range(3, 6):  # then one token at a time
        out, cache = mha(x[:, t : t + 1], cache=cache, cache_index=t, use_causal_mask=True)
        steps.append(out)
    np.testing.assert_allclose(np.concatenate([np.asarray(s) for s in steps], 1), full, atol=1e-6)
    k, _ = mha.project_key_value(x, x)
    np.testing.assert_allclose(
        np.asarray(cache)[:, 0], np.transpose(np.asarray(k), (0, 2, 1, 3)), atol=1e-6
    )


def test_dropout_only_in_training():
    mha = MHA.MultiHeadAttention(num_heads=2, dropout=0.5, seed=3)
    x = rand(2, 6, 8)
    np.testing.assert_array_equal(np.asarray(mha(x)), np.asarray(mha(x, training=False)))
    assert np.abs(np.asarray(mha(x, training=True)) - np.asarray(mha(x))).max() > 1e-3


def test_saved_model_loads_back(tmp_path):
    inp = keras.Input((6, 16))
    layer = MHA.MultiHeadAttention(4, value_dim=6, output_dim=8, dropout=0.1, seed=1, name="mha")
    out, scores = layer(inp, use_causal_mask=True, return_attention_scores=True)
    model = keras.Model(inp, [out, scores])
    assert tuple(scores.shape) == (None, 4, 6, 6)
    path = tmp_path / "attention.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = rand(3, 6, 16)
    for a, b in zip(loaded(x), model(x), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    again = loaded.get_layer("mha")
    assert isinstance(again, MHA.MultiHeadAttention)
    assert (again.num_heads, again.key_dim, again.value_dim, again.output_dim) == (4, 4, 6, 8)


# ------------------------------------------------------------------------------ bad input


def test_num_heads_that_do_not_divide_the_model_size():
    with pytest.raises(ValueError, match=r"query size 16 .* num_heads=3 .* not divisible"):
        MHA.MultiHeadAttention(num_heads=3)(rand(1, 4, 16))
    with pytest.raises(ValueError, match=r"size 16 into num_heads=5.*16 is not divisible by 5"):
        A.split_heads(rand(1, 4, 16), 5)


def test_mismatched_query_key_value_sizes():
    with pytest.raises(ValueError, match=r"q has d_k=8 .* k has d_k=6"):
        A.scaled_dot_product_attention(rand(1, 3, 8), rand(1, 3, 6), rand(1, 3, 8))
    with pytest.raises(ValueError, match=r"k has Tk=3 .* v has 4"):
        A.scaled_dot_product_attention(rand(1, 3, 8), rand(1, 3, 8), rand(1, 4, 8))


def test_a_mask_of_the_wrong_shape_names_the_sizes():
    with pytest.raises(ValueError, match=r"attention_mask of shape \(2, 7, 6\).*Tq=7, Tk=7"):
        MHA.MultiHeadAttention(2)(rand(2, 7, 8), attention_mask=np.ones((2, 7, 6), bool))
    with pytest.raises(ValueError, match=r"mask of shape \(5, 6\).*\(1, 3, 4\)"):
        A.scaled_dot_product_attention(
            rand(1, 3, 8), rand(1, 4, 8), rand(1, 4, 8), mask=np.ones((5, 6), bool)
        )
    with pytest.raises(ValueError, match=r"rank 5"):
        A.scaled_dot_product_attention(
            rand(1, 3, 8), rand(1, 3, 8), rand(1, 3, 8), bias=np.zeros((1, 1, 1, 3, 3))
        )


def test_copying_between_layers_of_different_sizes_names_them():
    own = MHA.MultiHeadAttention(2, key_dim=8)
    own(rand(1, 3, 16))
    other = keras.layers.MultiHeadAttention(4, key_dim=8)
    other(rand(1, 3, 16), rand(1, 3, 16))
    with pytest.raises(ValueError, match=r"num_heads 2 vs 4"):
        MHA.copy_weights_from_keras(own, other)
    with pytest.raises(ValueError, match=r"built"):
        MHA.copy_weights_from_keras(MHA.MultiHeadAttention(2, key_dim=8), other)


def test_bad_constructor_arguments_and_cache():
    with pytest.raises(ValueError, match="num_heads must be an int >= 1"):
        MHA.MultiHeadAttention(0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        MHA.MultiHeadAttention(2, dropout=1.5)
    mha = MHA.MultiHeadAttention(2)
    mha(rand(1, 3, 8))
    with pytest.raises(
        ValueError, match=r"cache must have shape \(B, 2, S, num_heads=2, key_dim=4\)"
    ):
        mha(rand(1, 1, 8), cache=np.zeros((1, 2, 5, 4, 4), "float32"), cache_index=0)
    uneven = MHA.MultiHeadAttention(2, value_dim=3)
    uneven(rand(1, 3, 8))
    with pytest.raises(ValueError, match=r"key_dim \(4\) must equal value_dim \(3\)"):
        uneven.init_cache(1, 5)


# ------------------------------------------------------------------------- other backends


@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="jax is not installed: `pip install jax` to run attention under KERAS_BACKEND=jax",
)
def test_runs_under_the_jax_backend():
    code = textwrap.dedent("""
        import numpy as np, keras
        assert keras.backend.backend() == "jax", keras.backend.backend()
        from lmcourse.models import attention as A
        from lmcourse.models import multi_head_attention as MHA
        x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
        own, ref = MHA.MultiHeadAttention(2), keras.layers.MultiHeadAttention(2, key_dim=4)
        own(x); ref(x, x)
        MHA.copy_weights_from_keras(own, ref)
        diff = np.abs(np.asarray(own(x, use_causal_mask=True))
                      - np.asarray(ref(x, x, use_causal_mask=True))).max()
        assert diff < 1e-5, diff
        cache = own.init_cache(2, 5)
        out, cache = own(x[:, :1], cache=cache, cache_index=0, use_causal_mask=True)
        print("ok", diff)
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]
