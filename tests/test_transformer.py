"""The Transformer block, position encodings and mini-GPT (lmcourse.models.transformer,
.positions, .gpt) and the GPT's next_logits adapters (lmcourse.generate): shapes, masks,
causality, the key/value cache, keras-hub equivalence, saving, bad input, and the JAX backend."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from lmcourse import generate as gen
from lmcourse.generate import generate
from lmcourse.models import gpt as G
from lmcourse.models import positions as Pos
from lmcourse.models import transformer as T

V, S = 23, 16
npy = keras.ops.convert_to_numpy


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def ids(batch=2, length=12, seed=0):
    return np.random.default_rng(seed).integers(0, V, size=(batch, length)).astype("int32")


@pytest.fixture(scope="module")
def gpt():
    keras.utils.set_random_seed(0)
    return G.build_gpt(vocab_size=V, seq_len=S, d_model=32, num_heads=4, num_layers=2, ff_dim=48)


# ------------------------------------------------------------------------- positions


def test_sinusoidal_positions_formula_and_keras_hub():
    pe = npy(Pos.sinusoidal_positions(20, 8))
    assert pe.shape == (20, 8)
    p, i = 7, 2  # dims 4 and 5 are the pair i = 2
    angle = p / 10_000 ** (2 * i / 8)
    assert pe[p, 4] == pytest.approx(np.sin(angle), abs=1e-6)
    assert pe[p, 5] == pytest.approx(np.cos(angle), abs=1e-6)
    keras_hub = pytest.importorskip("keras_hub")
    ref = keras_hub.layers.SinePositionEncoding()(np.zeros((1, 20, 8), "float32"))
    np.testing.assert_allclose(pe, npy(ref)[0], atol=1e-5)
    shifted = npy(Pos.sinusoidal_positions(5, 8, start=3))
    np.testing.assert_allclose(shifted, pe[3:8], atol=1e-5)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_token_and_position_embedding(positions):
    emb = Pos.TokenAndPositionEmbedding(V, max_length=S, d_model=8, positions=positions)
    x = ids(length=5)
    out = npy(emb(x))
    assert out.shape == (2, 5, 8)
    tokens = npy(emb.token_embedding(x))
    np.testing.assert_allclose(
        out - tokens, np.broadcast_to(npy(emb.position_vectors(5)), (2, 5, 8)), atol=1e-6
    )
    # the same token at two positions gets two different vectors
    same = npy(emb(np.full((1, 2), 3, "int32")))
    assert np.abs(same[0, 0] - same[0, 1]).max() > 1e-4
    # start_index shifts the positions (cached generation)
    np.testing.assert_allclose(npy(emb(x[:, 2:3], start_index=2)), out[:, 2:3], atol=1e-6)
    assert len(emb.weights) == (2 if positions == "learned" else 1)


def test_too_long_a_sequence_names_both_sizes(gpt):
    with pytest.raises(ValueError, match=r"20 tokens.*max_length=16"):
        gpt(ids(length=20))


# ------------------------------------------------------------------------------ block


def test_block_shapes_and_config_roundtrip():
    block = T.TransformerBlock(16, 4, 32, dropout=0.1, norm_first=False, activation="gelu")
    x = rand(3, 5, 16)
    assert tuple(block(x).shape) == (3, 5, 16)
    clone = T.TransformerBlock.from_config(block.get_config())
    assert (clone.d_model, clone.num_heads, clone.ff_dim, clone.norm_first) == (16, 4, 32, False)
    # 4 (d x d) attention kernels + biases, 2 FFN layers, 2 LayerNorms
    assert block.count_params() == 4 * (16 * 16 + 16) + (16 * 32 + 32) + (32 * 16 + 16) + 2 * 32


@pytest.mark.parametrize("d_model,num_heads", [(30, 4), (16, 5)])
def test_heads_must_divide_d_model(d_model, num_heads):
    with pytest.raises(
        ValueError, match=rf"d_model={d_model} is not divisible by num_heads={num_heads}"
    ):
        T.TransformerBlock(d_model, num_heads, 32)
    with pytest.raises(
        ValueError, match=rf"d_model={d_model} is not divisible by num_heads={num_heads}"
    ):
        G.build_gpt(V, S, d_model=d_model, num_heads=num_heads, num_layers=1)


def test_block_input_size_and_mask_shape_errors():
    block = T.TransformerBlock(16, 4, 32)
    with pytest.raises(ValueError, match=r"d_model=16.*\(B, T, 16\).*\(2, 5, 12\)"):
        block(rand(2, 5, 12))
    with pytest.raises(
        ValueError, match=r"padding_mask must have shape \(B, Tk\) = \(2, 5\).*\(2, 7\)"
    ):
        block(rand(2, 5, 16), padding_mask=np.ones((2, 7), bool))
    with pytest.raises(ValueError, match=r"does not broadcast"):
        block(rand(2, 5, 16), attention_mask=np.ones((2, 5, 6), bool))


def test_padding_is_invisible_to_real_tokens():
    block = T.TransformerBlock(16, 4, 32)
    x = rand(2, 6, 16)
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    y = npy(block(x, padding_mask=mask))
    x2 = x.copy()
    x2[0, 4:] = rand(2, 16, seed=9)  # change what sits in the padding
    y2 = npy(block(x2, padding_mask=mask))
    assert np.abs(y2[0, :4] - y[0, :4]).max() <= 1e-6
    np.testing.assert_array_equal(y2[1], y[1])


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-LN", "post-LN"])
def test_block_matches_keras_hub_decoder(norm_first):
    keras_hub = pytest.importorskip("keras_hub")
    x = rand(2, 7, 16, seed=3)
    ref = keras_hub.layers.TransformerDecoder(
        intermediate_dim=32,
        num_heads=4,
        normalize_first=norm_first,
        bias_initializer="random_normal",
    )
    want = npy(ref(x))  # decoder-only: causal by default
    own = T.TransformerBlock(16, 4, 32, norm_first=norm_first)
    own(x)
    T.copy_block_weights(own, ref)
    got = npy(own(x, use_causal_mask=True))
    assert np.abs(got - want).max() < 1e-5
    # with a padding mask too
    pad = np.array([[1] * 7, [1] * 4 + [0] * 3], bool)
    want = npy(ref(x, decoder_padding_mask=pad))
    got = npy(own(x, padding_mask=pad, use_causal_mask=True))
    assert np.abs(got[1, :4] - want[1, :4]).max() < 1e-5 and np.abs(got[0] - want[0]).max() < 1e-5


def test_block_matches_keras_hub_encoder():
    keras_hub = pytest.importorskip("keras_hub")
    x = rand(2, 6, 16, seed=4)
    pad = np.array([[1] * 6, [1] * 3 + [0] * 3], bool)
    ref = keras_hub.layers.TransformerEncoder(
        intermediate_dim=32, num_heads=4, bias_initializer="random_normal"
    )
    want = npy(ref(x, padding_mask=pad))
    own = T.TransformerBlock(16, 4, 32, norm_first=False)  # keras-hub's default is post-LN
    own(x)
    T.copy_block_weights(own, ref)
    got = npy(own(x, padding_mask=pad))
    assert np.abs(got[0] - want[0]).max() < 1e-5 and np.abs(got[1, :3] - want[1, :3]).max() < 1e-5


# -------------------------------------------------------------------------------- GPT


def test_gpt_shapes_and_parameter_count(gpt):
    assert tuple(gpt(ids()).shape) == (2, 12, V)
    d, ff, L = 32, 48, 2
    per_block = 4 * (d * d + d) + (d * ff + ff) + (ff * d + d) + 4 * d
    assert gpt.count_params() == V * d + S * d + L * per_block + 2 * d + (d * V + V)
    assert (
        G.training_flops_per_token(gpt) == 6 * (gpt.count_params() - V * d - S * d) + 12 * L * S * d
    )


def test_causal_no_leak_from_the_future(gpt):
    x = ids(length=S)
    base = npy(gpt(x))
    for t in (0, 5, S - 2):
        changed = x.copy()
        changed[:, t + 1 :] = (changed[:, t + 1 :] + 1 + np.arange(S - t - 1)) % V
        out = npy(gpt(changed))
        assert np.abs(out[:, : t + 1] - base[:, : t + 1]).max() <= 1e-6, t
        assert np.abs(out[:, t + 1 :] - base[:, t + 1 :]).max() > 1e-4  # the future does change


def test_kv_cache_gives_the_same_logits(gpt):
    x = ids(length=S, seed=1)
    full = npy(gpt(x))
    cache = gpt.init_cache(2)
    assert tuple(cache.shape) == (2, 2, 2, S, 4, 8)  # (B, L, 2, S, H, d_head)
    logits, cache = gpt.call_with_cache(x[:, :5], cache, 0)  # prefill 5 tokens
    steps = [npy(logits)]
    for t in range(5, S):
        logits, cache = gpt.call_with_cache(x[:, t : t + 1], cache, t)
        steps.append(npy(logits))
    assert np.abs(np.concatenate(steps, axis=1) - full).max() < 1e-5


def test_cached_and_full_next_logits_agree_and_generate_the_same(gpt):
    prompt = ids(batch=1, length=4, seed=2)
    cached, fresh = gen.cached_next_logits(gpt), gen.full_next_logits(gpt)
    seq = ids(batch=1, length=S, seed=3)
    for t in (4, 5, 6, 10):  # a prefill, then steps; then a jump of several tokens
        assert np.abs(cached(seq[:, :t]) - fresh(seq[:, :t])).max() < 1e-5
    a = generate(gpt, prompt[0], 8, strategy="greedy", next_logits=gen.cached_next_logits(gpt))
    b = generate(gpt, prompt[0], 8, strategy="greedy", next_logits=fresh)
    c = generate(gpt, prompt[0], 8, strategy="greedy")  # generate's own, uncompiled path
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_keras_hub_samplers_drive_the_cached_model(gpt):
    keras_hub = pytest.importorskip("keras_hub")
    prompt = ids(batch=2, length=3, seed=4)
    ours = generate(gpt, prompt, 6, strategy="greedy", next_logits=gen.cached_next_logits(gpt))
    theirs = gen.sample_with_keras_hub(gpt, prompt, 6, keras_hub.samplers.GreedySampler())
    np.testing.assert_array_equal(theirs, ours)
    top1 = gen.sample_with_keras_hub(gpt, prompt[0], 6, keras_hub.samplers.TopKSampler(k=1, seed=1))
    np.testing.assert_array_equal(top1, ours[0])


def test_prompt_longer_than_the_context_names_both_sizes(gpt):
    for fn in (gen.cached_next_logits(gpt), gen.full_next_logits(gpt)):
        with pytest.raises(ValueError, match=r"20 tokens.*seq_len=16"):
            fn(ids(batch=1, length=20))
    with pytest.raises(ValueError, match=r"18 tokens.*seq_len=16"):
        gen.sample_with_keras_hub(gpt, ids(batch=1, length=10)[0], 8, sampler=None)
    with pytest.raises(ValueError, match=r"max_length=20.*seq_len=16"):
        gpt.init_cache(1, 20)
    with pytest.raises(ValueError, match=r"cache must have shape"):
        gpt.call_with_cache(ids(length=1), np.zeros((2, 3, 2, S, 4, 8), "float32"), 0)


def test_save_and_load_round_trip(gpt, tmp_path):
    path = tmp_path / "gpt.keras"
    gpt.save(path)
    loaded = keras.saving.load_model(path)
    x = ids(length=9)
    np.testing.assert_allclose(npy(loaded(x)), npy(gpt(x)), atol=1e-6)
    assert isinstance(loaded, G.GPT) and loaded.num_layers == 2 and loaded.ff_dim == 48


def test_training_reduces_the_loss_below_uniform():
    keras.utils.set_random_seed(1)
    model = G.build_gpt(vocab_size=8, seq_len=8, d_model=16, num_heads=2, num_layers=1)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x = np.tile(np.arange(8, dtype="int32"), (16, 1))  # the sequence 0 1 2 ... 7
    y = (x + 1) % 8
    for _ in range(30):
        loss = model.train_on_batch(x, y)
    assert float(loss) < 0.1 * np.log(8)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_one_training_step_and_the_cache_under_jax():
    code = textwrap.dedent("""
        import numpy as np, keras
        assert keras.backend.backend() == "jax"
        from lmcourse import generate as gen
        from lmcourse.models import gpt as G
        model = G.build_gpt(vocab_size=11, seq_len=8, d_model=16, num_heads=2, num_layers=1)
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        x = np.random.default_rng(0).integers(0, 11, size=(4, 8)).astype("int32")
        losses = [float(model.train_on_batch(x, x)) for _ in range(3)]
        assert losses[-1] < losses[0], losses
        full = np.asarray(model(x))
        nxt = gen.cached_next_logits(model)
        assert np.abs(nxt(x[:, :5]) - full[:, 4]).max() < 1e-5
        assert np.abs(nxt(x[:, :6]) - full[:, 5]).max() < 1e-5
        print("ok")
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


# -------------------------------------------------------------------------- benchmark


def test_bench_command_reaches_the_benchmark_script():
    proc = subprocess.run(
        [sys.executable, "-m", "lmcourse.cli", "bench", "gpt", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "--config {cpu,full}" in proc.stdout, proc.stderr[-2000:]


def test_benchmark_pieces_and_the_pytorch_twin_has_the_same_parameters(gpt):
    from lmcourse.paths import BENCHMARKS_DIR

    sys.path.insert(0, str(BENCHMARKS_DIR))
    try:
        import gpt_char
    finally:
        sys.path.pop(0)
    ids_ = np.arange(100, dtype="int32")
    x, y = gpt_char.random_batch(ids_, 4, 8, np.random.default_rng(0))
    assert x.shape == y.shape == (4, 8) and (y == x + 1).all()
    xv, yv = gpt_char.val_windows(ids_, 8)
    assert xv.shape == (12, 8) and (yv == xv + 1).all()
    cfg = dict(gpt_char.CONFIGS["cpu"], steps=1000)
    assert gpt_char.lr_at(0, cfg) < gpt_char.lr_at(99, cfg) <= cfg["learning_rate"]
    assert gpt_char.lr_at(999, cfg) == pytest.approx(cfg["min_lr"], rel=1e-3)
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed (pip install -r benchmarks/requirements-bench.txt)")
    from torch_gpt import TorchGPT, count_params

    twin = TorchGPT(V, S, d_model=32, num_heads=4, num_layers=2, ff_dim=48)
    assert count_params(twin) == gpt.count_params()
