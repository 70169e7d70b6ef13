"""The mini-BERT (lmcourse.models.bert and its bert_* modules): shapes, padding, keras-hub
equivalence, the pretraining and classification heads training, layer groups, saving and
loading with the vocabulary, bad input, and the JAX backend."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from lmcourse.models import bert as B
from lmcourse.models import bert_classifier as BC
from lmcourse.models import bert_keras_hub as BK
from lmcourse.models import bert_layers as BL
from lmcourse.models import bert_pretrainer as BP

V, S, D = 50, 12, 32
npy = keras.ops.convert_to_numpy


def batch(b=3, length=10, seed=0, real=(10, 7, 4)):
    """Random inputs; sequence i has real[i] real tokens, then padding (id 0)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((b, length), "int32")
    for i, n in enumerate(real[:b]):
        mask[i, :n] = 1
    ids = rng.integers(5, V, size=(b, length)).astype("int32") * mask
    seg = np.zeros((b, length), "int32")
    seg[:, length // 2 :] = 1
    return {"token_ids": ids, "segment_ids": seg * mask, "padding_mask": mask}


@pytest.fixture(scope="module")
def encoder():
    keras.utils.set_random_seed(0)
    return B.build_bert_encoder(V, max_length=S, d_model=D, num_heads=4, num_layers=2, ff_dim=48)


def vocab(n=V):
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"tok{i}" for i in range(n - 5)]


# ---------------------------------------------------------------------- shapes and errors


def test_output_shapes_names_and_config(encoder):
    out = encoder(batch())
    assert tuple(out["sequence_output"].shape) == (3, 10, D)
    assert tuple(out["pooled_output"].shape) == (3, D)
    assert [layer.name for layer in encoder.layers if layer.weights] == [
        "embeddings",
        "transformer_layer_0",
        "transformer_layer_1",
        "pooler",
    ]
    emb = encoder.get_layer("embeddings")
    assert [layer.name for layer in emb._layers] == [
        "token_embedding",
        "position_embedding",
        "segment_embedding",
        "embeddings_layer_norm",
        "embeddings_dropout",
    ]
    assert B.token_embedding(encoder) is emb.token_embedding
    cfg = B.encoder_config(encoder)
    assert cfg == {
        "vocab_size": V,
        "max_length": S,
        "d_model": D,
        "num_heads": 4,
        "num_layers": 2,
        "ff_dim": 48,
        "dropout": 0.1,
        "num_segments": 2,
        "norm_first": False,
        "layer_norm_epsilon": 1e-12,
        "activation": "gelu_approximate",
        "name": "bert_encoder",
    }
    again = B.build_bert_encoder(**cfg)
    assert again.count_params() == encoder.count_params()
    # the pooler reads position 0 ([CLS]) only
    pooler = encoder.get_layer("pooler")
    np.testing.assert_allclose(
        npy(pooler(out["sequence_output"][:, 0])), npy(out["pooled_output"]), atol=1e-6
    )


def test_padding_mask_may_be_bool_and_ff_dim_defaults_to_4d(encoder):
    x = batch()
    y = npy(encoder(x)["sequence_output"])
    y_bool = npy(encoder({**x, "padding_mask": x["padding_mask"].astype(bool)})["sequence_output"])
    np.testing.assert_array_equal(y, y_bool)
    small = B.build_bert_encoder(V, max_length=S, d_model=16, num_heads=2, num_layers=1)
    assert B.encoder_config(small)["ff_dim"] == 64


def test_padding_is_invisible_to_real_tokens(encoder):
    x = batch()
    y = encoder(x)
    x2 = {k: v.copy() for k, v in x.items()}
    pad = x["padding_mask"] == 0
    x2["token_ids"][pad] = np.random.default_rng(5).integers(5, V, size=int(pad.sum()))
    x2["segment_ids"][pad] = 1
    y2 = encoder(x2)
    seq, seq2 = npy(y["sequence_output"]), npy(y2["sequence_output"])
    real = x["padding_mask"] == 1
    assert np.abs(seq[real] - seq2[real]).max() <= 1e-5
    assert np.abs(npy(y["pooled_output"]) - npy(y2["pooled_output"])).max() <= 1e-5
    assert np.abs(seq[pad] - seq2[pad]).max() > 1e-3  # the padded positions did change


@pytest.mark.parametrize(("d_model", "num_heads"), [(30, 4), (32, 5)])
def test_heads_must_divide_d_model(d_model, num_heads):
    with pytest.raises(
        ValueError, match=rf"d_model={d_model} is not divisible by num_heads={num_heads}"
    ):
        B.build_bert_encoder(V, max_length=S, d_model=d_model, num_heads=num_heads)


def test_bad_sizes_and_too_long_a_sequence(encoder):
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        B.build_bert_encoder(V, max_length=S, d_model=16, num_heads=2, dropout=1.5)
    with pytest.raises(ValueError, match=r"max_length must be an int >= 1, got 0"):
        B.build_bert_encoder(V, max_length=0)
    with pytest.raises(ValueError, match=r"sequence of 15 tokens is longer than max_length=12"):
        encoder.get_layer("embeddings")(np.ones((1, 15), "int32"), np.zeros((1, 15), "int32"))
    with pytest.raises(ValueError, match=r"sequence of 15 tokens is longer than max_length=12"):
        encoder(batch(b=1, length=15, real=(15,)))
    with pytest.raises(ValueError, match=r"num_classes must be an int >= 2, got 1"):
        BC.build_classifier(encoder, num_classes=1)
    with pytest.raises(ValueError, match=r"needs the encoder's built token embedding"):
        BP.MaskedLMHead(None)
    head = BP.MaskedLMHead(B.token_embedding(encoder))
    with pytest.raises(ValueError, match=r"expects sequence_output \(B, S, 32\).*\(2, 8, 16\)"):
        head(np.zeros((2, 8, 16), "float32"), np.zeros((2, 3), "int32"))
    with pytest.raises(ValueError, match=r"is not a BERT encoder"):
        B.layer_groups(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


# ------------------------------------------------------------------------- keras-hub


def test_matches_keras_hub_bert_backbone():
    keras_hub = pytest.importorskip("keras_hub")
    keras.utils.set_random_seed(3)
    sizes = dict(num_layers=2, num_heads=4)
    ref = keras_hub.models.BertBackbone(
        vocabulary_size=V,
        hidden_dim=D,
        intermediate_dim=48,
        max_sequence_length=S,
        num_segments=2,
        **sizes,
    )
    # non-zero biases and LayerNorm parameters, so that a mix-up in the copy shows
    rng = np.random.default_rng(1)
    for w in ref.weights:
        if "bias" in w.path or "beta" in w.path or "gamma" in w.path:
            w.assign(npy(w) + 0.1 * rng.normal(size=w.shape).astype("float32"))
    own = B.build_bert_encoder(V, max_length=S, d_model=D, ff_dim=48, **sizes)
    x = batch(length=S, real=(12, 8, 3))
    want = ref(x)
    before = own(x)
    assert np.abs(npy(before["sequence_output"]) - npy(want["sequence_output"])).max() > 1e-2
    BK.copy_weights_from_keras_hub(own, ref)
    got = own(x)
    real = x["padding_mask"] == 1
    seq_diff = np.abs(npy(got["sequence_output"])[real] - npy(want["sequence_output"])[real]).max()
    pool_diff = np.abs(npy(got["pooled_output"]) - npy(want["pooled_output"])).max()
    print(f"max |own - keras-hub|: sequence_output {seq_diff:.2e}, pooled_output {pool_diff:.2e}")
    assert seq_diff < 1e-5 and pool_diff < 1e-5
    assert own.count_params() == ref.count_params()

    wrong = B.build_bert_encoder(V, max_length=S, d_model=D, ff_dim=64, **sizes)
    with pytest.raises(ValueError, match=r"ff_dim=64 here but 48 in keras-hub"):
        BK.copy_weights_from_keras_hub(wrong, ref)
    pre_ln = B.build_bert_encoder(V, max_length=S, d_model=D, ff_dim=48, norm_first=True, **sizes)
    with pytest.raises(ValueError, match=r"pre-LN"):
        BK.copy_weights_from_keras_hub(pre_ln, ref)


# ----------------------------------------------------------------------- pretraining


def mlm_data(n=32, length=10, p=3, seed=0):
    """Sequences 2 a b a b ... (a two-token pattern): the masked token is predictable."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(5, V, size=(2, n, 1))
    ids = np.where(np.arange(length) % 2 == 1, a, b).astype("int32")
    ids[:, 0] = 2
    positions = np.stack([rng.choice(np.arange(1, length), p, replace=False) for _ in range(n)])
    labels = np.take_along_axis(ids, positions, axis=1)
    weights = np.ones((n, p), "float32")
    weights[:, -1] = 0.0  # a padded mask slot: must not count
    masked = ids.copy()
    np.put_along_axis(masked, positions[:, :2], 4, axis=1)  # [MASK]
    x = {
        "token_ids": masked,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": np.ones_like(ids),
        "mask_positions": positions.astype("int32"),
    }
    y = {"mlm": labels.astype("int32"), "nsp": rng.integers(0, 2, size=n).astype("int32")}
    return x, y, {"mlm": weights}


def test_pretrainer_shapes_tie_and_fit_reduces_the_mlm_loss():
    keras.utils.set_random_seed(4)
    encoder = B.build_bert_encoder(
        V, max_length=S, d_model=D, num_heads=4, num_layers=1, dropout=0.0
    )
    model = B.build_pretrainer(encoder)
    assert model.encoder is encoder
    x, y, sw = mlm_data()
    out = model(x)
    assert tuple(out["mlm"].shape) == (32, 3, V) and tuple(out["nsp"].shape) == (32, 2)
    assert out["mlm"].dtype == out["nsp"].dtype == "float32"
    # tied: the output matrix is the token embedding, and each weight is in the model once
    head = model.get_layer("mlm_head")
    assert head.token_embedding is B.token_embedding(encoder)
    assert len({id(w) for w in model.weights}) == len(model.weights)
    assert len(model.trainable_weights) == len(encoder.trainable_weights) + 5 + 2
    # the logits by hand: gather, dense + GELU, LayerNorm, @ E^T + bias
    seq = npy(encoder({k: x[k] for k in BL.ENCODER_INPUTS})["sequence_output"])
    h = np.take_along_axis(seq, x["mask_positions"][:, :, None], axis=1)
    h = npy(head.layer_norm(head.dense(h)))
    want = h @ npy(B.token_embedding(encoder).embeddings).T + npy(head.output_bias)
    np.testing.assert_allclose(npy(out["mlm"]), want, atol=1e-4)

    scce = keras.losses.SparseCategoricalCrossentropy
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss={
            "mlm": scce(from_logits=True, reduction="mean_with_sample_weight"),
            "nsp": scce(from_logits=True),
        },
        weighted_metrics={"mlm": "sparse_categorical_accuracy"},
    )
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y, sw)).batch(16)  # only "mlm" has weights
    hist = model.fit(ds, epochs=8, shuffle=False, verbose=0).history  # 16 steps
    assert hist["mlm_loss"][-1] < 0.8 * hist["mlm_loss"][0], hist["mlm_loss"]
    acc = hist["mlm_sparse_categorical_accuracy"]
    assert acc[-1] > acc[0], acc

    no_nsp = B.build_pretrainer(encoder, nsp=False, name="mlm_only")
    assert set(no_nsp(x)) == {"mlm"}


def test_pretrainer_save_and_load_keeps_the_tie(tmp_path):
    keras.utils.set_random_seed(5)
    encoder = B.build_bert_encoder(V, max_length=S, d_model=16, num_heads=2, num_layers=1)
    model = B.build_pretrainer(encoder)
    head = model.get_layer("mlm_head")
    head.output_bias.assign(np.random.default_rng(0).normal(size=V).astype("float32"))
    x = mlm_data(n=4)[0]
    model.save(tmp_path / "pretrainer.keras")
    loaded = keras.saving.load_model(tmp_path / "pretrainer.keras")
    assert isinstance(loaded, BP.BertPretrainer) and loaded.nsp
    for k, v in model(x).items():
        np.testing.assert_array_equal(npy(loaded(x)[k]), npy(v))
    assert loaded.get_layer("mlm_head").token_embedding is B.token_embedding(loaded.encoder)


# ----------------------------------------------------------------------- fine-tuning


def test_classifier_learns_a_separable_toy_task():
    keras.utils.set_random_seed(6)
    encoder = B.build_bert_encoder(V, max_length=S, d_model=16, num_heads=2, num_layers=1)
    model = BC.build_classifier(encoder, num_classes=2)
    rng = np.random.default_rng(0)
    n, length = 64, 8
    labels = rng.integers(0, 2, size=n).astype("int32")
    # class 0 uses tokens 5..24, class 1 tokens 25..49
    ids = np.where(
        labels[:, None] == 0,
        rng.integers(5, 25, size=(n, length)),
        rng.integers(25, V, size=(n, length)),
    ).astype("int32")
    ids[:, 0] = 2
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    assert tuple(model(x).shape) == (n, 2) and model.layers[-1].name == "classifier_head"
    model.compile(
        optimizer=keras.optimizers.Adam(5e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    hist = model.fit(x, labels, batch_size=16, epochs=8, verbose=0).history  # 32 steps
    accuracy = np.mean(np.argmax(npy(model(x, training=False)), axis=-1) == labels)
    assert hist["loss"][-1] < 0.5 * hist["loss"][0] and accuracy >= 0.95, (hist, accuracy)


def test_layer_groups_top_first_cover_every_weight_once(encoder):
    groups = B.layer_groups(encoder)
    assert [[layer.name for layer in g] for g in groups] == [
        ["pooler", "transformer_layer_1"],
        ["transformer_layer_0"],
        ["embeddings"],
    ]
    ids = [id(w) for g in groups for layer in g for w in layer.weights]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(w) for w in encoder.weights}
    one = B.build_bert_encoder(V, max_length=S, d_model=16, num_heads=2, num_layers=1)
    assert [[layer.name for layer in g] for g in B.layer_groups(one)] == [
        ["pooler", "transformer_layer_0"],
        ["embeddings"],
    ]
    # freezing a group freezes it in a classifier built on the encoder too
    clf = BC.build_classifier(one)
    n = len(clf.trainable_weights)
    for layer in B.layer_groups(one)[-1]:
        layer.trainable = False
    assert len(clf.trainable_weights) == n - len(one.get_layer("embeddings").weights)


# -------------------------------------------------------------------- save and load


def test_save_and_load_pretrained_round_trip(encoder, tmp_path):
    folder = tmp_path / "pretrained" / "mini_bert"
    B.save_pretrained(encoder, vocab(), folder, {"corpus": "toy", "steps": 3})
    assert sorted(p.name for p in folder.iterdir()) == [
        "encoder.keras",
        "metadata.json",
        "vocab.txt",
    ]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["mini_bert"]  # no temp left
    assert (folder / "vocab.txt").read_text().splitlines() == vocab()
    loaded, words, meta = B.load_pretrained(folder, vocab())
    x = batch()
    for k, v in encoder(x).items():
        np.testing.assert_array_equal(npy(loaded(x)[k]), npy(v))  # 0 difference
    assert words == vocab()
    assert meta["corpus"] == "toy" and meta["vocab_size"] == V
    assert meta["encoder_config"] == B.encoder_config(encoder) == B.encoder_config(loaded)
    assert len(meta["vocab_sha256"]) == 64
    # saving again replaces the folder, atomically
    B.save_pretrained(encoder, vocab(), folder, {"corpus": "other"})
    assert B.load_pretrained(folder)[2]["corpus"] == "other"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["mini_bert"]


def test_load_pretrained_errors(encoder, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*does not exist.*run chapter 07"):
        B.load_pretrained(tmp_path / "nowhere")
    folder = B.save_pretrained(encoder, vocab(), tmp_path / "enc")
    other = vocab()
    other[7] = "changed"
    with pytest.raises(
        B.VocabularyMismatchError,
        match=r"given vocabulary \(50 tokens\).*pretrained with \(50 tokens\).*id 7",
    ):
        B.load_pretrained(folder, other)
    with pytest.raises(B.VocabularyMismatchError, match=r"\(49 tokens\).*\(50 tokens\)"):
        B.load_pretrained(folder, vocab()[:-1])
    # a vocab file of the wrong size (the metadata's checksum updated to match)
    (folder / "vocab.txt").write_text("\n".join(vocab()[:40]) + "\n")
    meta = json.loads((folder / "metadata.json").read_text())
    with pytest.raises(B.VocabularyMismatchError, match=r"changed after saving"):
        B.load_pretrained(folder)
    meta.pop("vocab_sha256")
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(
        B.VocabularyMismatchError,
        match=r"has 40 tokens but the encoder's token embedding has 50 rows",
    ):
        B.load_pretrained(folder)
    (folder / "vocab.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks vocab.txt"):
        B.load_pretrained(folder)
    with pytest.raises(B.VocabularyMismatchError, match=r"has 49 tokens but.*50 rows"):
        B.save_pretrained(encoder, vocab()[:-1], tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


# ----------------------------------------------------------------------------- JAX


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_encoder_and_heads_under_jax():
    # A forward pass only: a jitted training step costs ~10 s more here (it was checked once
    # by hand: train_on_batch with {"mlm": weights} only lowers the loss under JAX too).
    code = textwrap.dedent("""
        import numpy as np, keras
        assert keras.backend.backend() == "jax"
        from lmcourse.models import bert as B
        from lmcourse.models import bert_classifier as BC
        enc = B.build_bert_encoder(30, max_length=8, d_model=16, num_heads=2, num_layers=1)
        rng = np.random.default_rng(0)
        mask = np.array([[1] * 8, [1] * 5 + [0] * 3], "int32")
        x = {"token_ids": rng.integers(1, 30, (2, 8)).astype("int32") * mask,
             "segment_ids": np.zeros((2, 8), "int32"), "padding_mask": mask}
        y = np.asarray(enc(x)["sequence_output"])
        x2 = {**x, "token_ids": np.where(mask == 1, x["token_ids"], 7).astype("int32")}
        y2 = np.asarray(enc(x2)["sequence_output"])
        assert np.abs(y2[mask == 1] - y[mask == 1]).max() < 1e-5
        out = B.build_pretrainer(enc)({**x, "mask_positions": np.array([[1, 2], [3, 0]], "int32")})
        assert out["mlm"].shape == (2, 2, 30) and out["nsp"].shape == (2, 2)
        assert BC.build_classifier(enc, num_classes=3)(x).shape == (2, 3)
        print("ok")
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


def test_exact_gelu_encoder_saves_and_reloads_with_its_activation(tmp_path):
    exact = B.build_bert_encoder(
        V, max_length=S, d_model=16, num_heads=2, num_layers=1, activation="gelu"
    )
    assert B.encoder_config(exact)["activation"] == "gelu"
    B.save_pretrained(exact, vocab(), tmp_path / "exact")
    loaded, _, meta = B.load_pretrained(tmp_path / "exact")
    assert B.encoder_config(loaded)["activation"] == meta["encoder_config"]["activation"] == "gelu"
    np.testing.assert_array_equal(
        npy(loaded(batch())["sequence_output"]), npy(exact(batch())["sequence_output"])
    )
    with pytest.raises(ValueError, match="activation='relu' is not one of gelu_approximate, gelu"):
        B.build_bert_encoder(V, max_length=S, activation="relu")


def test_mean_pooling_classifier_freezes_the_unused_pooler():
    enc = B.build_bert_encoder(V, max_length=S, d_model=16, num_heads=2, num_layers=3)
    clf = BC.build_classifier(enc, pooling="mean")
    assert not enc.get_layer("pooler").trainable
    trainable = {id(w) for w in clf.trainable_weights}
    assert not any(id(w) in trainable for w in enc.get_layer("pooler").weights)
    assert tuple(clf(batch()).shape) == (3, 2)
    groups = B.layer_groups(enc, pooler=False, per_group=2)
    assert [[layer.name for layer in g] for g in groups] == [
        ["transformer_layer_2", "transformer_layer_1"],
        ["transformer_layer_0"],
        ["embeddings"],
    ]
    with pytest.raises(ValueError, match="pooling='max' is not one of cls, mean"):
        BC.build_classifier(enc, pooling="max")
