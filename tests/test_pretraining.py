"""Pretraining plumbing: held-out pairs, NSP pair cutting, unigram bias, the chapter-08 fallback."""

import json

import numpy as np
import pytest

from lmcourse import data, pretraining, pretraining_data, text


@pytest.fixture(scope="module")
def small():
    texts = list(data.movie_reviews("train").texts[:300])
    return pretraining_data.prepare(
        texts, vocab_size=1500, seq_len=48, n_examples=300, seed=0, val_examples=40
    )


def test_prepare_builds_packed_pairs_with_held_out_texts(small):
    ids = small.inputs["token_ids"]
    assert ids.shape == (300, 48) and small.val_examples == 40
    assert (ids[:, 0] == small.ids[text.CLS]).all()
    assert 0.35 < small.nsp_labels.mean() < 0.65
    # every pair has two [SEP]s and segment 1 starts right after the first one
    seps = (ids == small.ids[text.SEP]).sum(1)
    assert (seps == 2).all()
    first_sep = (ids == small.ids[text.SEP]).argmax(1)
    segments = small.inputs["segment_ids"]
    assert all(
        segments[i, first_sep[i] + 1] == 1 and segments[i, first_sep[i]] == 0
        for i in range(len(ids))
    )

    # held-out pairs share no sentence (as token sequence) with training pairs
    def rows(a):
        return {tuple(r[r > 0]) for r in a}

    assert not rows(ids[:40]) & rows(ids[40:])
    assert small.max_predictions() == int(np.ceil(0.15 * 48))


def test_fit_pair_keeps_the_boundary():
    a, b = np.arange(100, 150), np.arange(200, 230)
    a2, b2 = pretraining_data.fit_pair(a, b, 40)
    assert len(a2) + len(b2) == 40 and a2[-1] == 149 and b2[0] == 200  # A|B boundary intact
    a3, b3 = pretraining_data.fit_pair(a[:5], b[:5], 40)
    assert len(a3) == len(b3) == 5  # nothing to cut


def test_unigram_bias_starts_the_mlm_head_at_the_unigram_loss(small):
    import keras

    from lmcourse.models import bert

    keras.utils.set_random_seed(0)
    enc = bert.build_bert_encoder(
        len(small.vocabulary), max_length=48, d_model=16, num_heads=2, num_layers=1
    )
    model = bert.build_pretrainer(enc, nsp=False)
    pretraining.set_unigram_bias(model, small)
    x, y, w = pretraining_data.batches(small, batch_size=32, seed=0, nsp=False)[0]
    logits = np.asarray(model(x)["mlm"] if isinstance(model(x), dict) else model(x))
    logp = (
        logits
        - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
        - logits.max(-1, keepdims=True)
    )
    picked = np.take_along_axis(logp, y["mlm"][..., None], -1)[..., 0]
    loss = -(picked * w["mlm"]).sum() / w["mlm"].sum()
    unigram = pretraining_data.unigram_log_probs(small)
    unigram_loss = -(unigram[y["mlm"]] * w["mlm"]).sum() / w["mlm"].sum()
    assert abs(loss - unigram_loss) < 0.3 < np.log(len(small.vocabulary)) - loss


def test_load_or_pretrain_falls_back_then_reuses(small, tmp_path, monkeypatch):
    monkeypatch.setenv(pretraining.ARTIFACTS_ENV, str(tmp_path))
    texts = list(data.movie_reviews("train").texts[:200])
    recipe = pretraining.FallbackRecipe(
        vocab_size=1000,
        seq_len=32,
        n_examples=20 * 8 + 32,
        d_model=16,
        num_heads=2,
        num_layers=1,
        steps=20,
        batch_size=8,
        learning_rate=0.002,
        val_examples=32,
    )
    lines = []
    first = pretraining.load_or_pretrain("smoke", texts=texts, recipe=recipe, print_fn=lines.append)
    assert first.pretrained_here and "pretraining a small one here" in lines[0]
    assert first.metadata["folder"].endswith("mini_bert-smoke-fallback")
    assert len(first.vocabulary) == first.metadata["vocab_size"]
    # the next run loads that one instead of training again
    lines.clear()
    second = pretraining.load_or_pretrain(
        "smoke", texts=texts, recipe=recipe, print_fn=lines.append
    )
    assert second.pretrained_here and second.vocabulary == first.vocabulary
    assert "loaded the small one" in lines[0]
    # chapter 07's encoder, once there, wins
    from lmcourse.models import bert

    bert.save_pretrained(
        first.encoder, first.vocabulary, pretraining.encoder_dir("smoke"), {"profile": "smoke"}
    )
    lines.clear()
    third = pretraining.load_or_pretrain("smoke", texts=texts, recipe=recipe, print_fn=lines.append)
    assert not third.pretrained_here and "chapter 07 pretrained" in lines[0]
    assert (
        json.loads((tmp_path / "mini_bert-smoke" / "metadata.json").read_text())["profile"]
        == "smoke"
    )


def test_batches_mask_the_asked_rate_of_ordinary_tokens(small):
    """A higher training mask rate chooses more tokens (and has more slots); 0.15 is BERT's."""
    special = np.isin(small.inputs["token_ids"][40:], small.special_ids)
    ordinary = (~special).sum()
    chosen = {}
    for rate in (0.15, 0.4):
        b = pretraining_data.batches(small, batch_size=26, seed=0, nsp=False, start=40, rate=rate)
        weights = [b[i][2]["mlm"] for i in range(len(b))]
        assert weights[0].shape[1] == int(np.ceil(rate * 48))
        chosen[rate] = sum(w.sum() for w in weights) / ordinary
    # ceil(rate * n) per row: at least the rate, and less than one extra token per row above it
    for rate, frac in chosen.items():
        assert rate <= frac < rate + len(special) / ordinary
    assert chosen[0.4] > 2.4 * chosen[0.15]


def _benchmark(name: str):
    """The script ``benchmarks/<name>.py`` as a module (benchmarks/ is not a package)."""
    import importlib.util

    from lmcourse.paths import BENCHMARKS_DIR

    spec = importlib.util.spec_from_file_location(name, BENCHMARKS_DIR / f"{name}.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_pretraining_budget_benchmark_starts_and_names_a_missing_encoder(tmp_path, capsys):
    """benchmarks/pretraining_budget.py parses its options and refuses an encoder it lacks."""
    bench = _benchmark("pretraining_budget")
    with pytest.raises(SystemExit):
        bench.main(["--out", str(tmp_path), "finetune", "nothere", "0.001"])
    assert "no encoder 'nothere'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written before the error


def test_rescaled_embeddings_leave_the_encoder_outputs_unchanged():
    """The benchmark's --embedding-norm claims a pure reparametrization: check it."""
    import keras

    from lmcourse.models import bert

    keras.utils.set_random_seed(3)
    encoder = bert.build_bert_encoder(50, max_length=12, d_model=16, num_heads=2, num_layers=1)
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(1, 50, (4, 12)).astype("int32"),
        "segment_ids": (np.arange(12) >= 6).astype("int32")[None].repeat(4, 0),
        "padding_mask": np.ones((4, 12), "int32"),
    }
    before = encoder(x, training=False)
    factor = _benchmark("pretraining_budget").rescale_embeddings(encoder, 1.5)
    after = encoder(x, training=False)
    token = encoder.get_layer("embeddings").token_embedding.embeddings.numpy()
    assert factor > 5  # a fresh table's token norm is about 0.02 * sqrt(16) = 0.08
    np.testing.assert_allclose(np.linalg.norm(token, axis=-1).mean(), 1.5, rtol=1e-5)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(after[key], before[key], atol=1e-5)


def test_pretrain_refuses_a_selection_rate_outside_0_1_before_building(small):
    with pytest.raises(ValueError, match=r"mask_selection_rate=1.5 must be in \(0, 1\]"):
        pretraining.pretrain(
            small,
            d_model=16,
            num_heads=2,
            num_layers=1,
            steps=2,
            batch_size=8,
            learning_rate=1e-3,
            mask_selection_rate=1.5,
            print_fn=lambda *a: None,
        )


def test_bert_imdb_saved_token_ids_rebuild_the_chapter_pairs(tmp_path):
    """The GPU path (token ids from an .npz, no TensorFlow) builds exactly the pairs that
    ``pretraining_data.prepare`` builds from the texts, and a file made for another config is
    refused with the command that makes the right one."""
    bench = _benchmark("bert_imdb")
    cfg = bench.settings("smoke", labels=64)
    path = tmp_path / "smoke.npz"
    bench.main(["--config", "smoke", "--labels", "64", "--save-data", str(path)])
    assert [p.name for p in tmp_path.iterdir()] == ["smoke.npz"]  # no .part file left
    arrays = bench.load(path, cfg)
    vocab = [str(t) for t in arrays["vocabulary"]]
    texts = list(data.movie_reviews("train").texts[: cfg["train_reviews"]])
    expected = pretraining_data.prepare(
        texts,
        vocab_size=cfg["vocab_size"],
        seq_len=cfg["seq_len"],
        n_examples=300,
        seed=5,
        vocabulary=vocab,
        val_examples=40,
    )
    got = pretraining_data.pairs_from_documents(
        bench.documents_from(arrays),
        vocab,
        seq_len=cfg["seq_len"],
        n_examples=300,
        seed=5,
        val_examples=40,
    )
    for key in expected.inputs:
        np.testing.assert_array_equal(got.inputs[key], expected.inputs[key])
    np.testing.assert_array_equal(got.nsp_labels, expected.nsp_labels)
    x, y = bench.classification_inputs(arrays, "train")
    assert x["token_ids"].shape == (64, cfg["ft_seq_len"]) and set(np.unique(y)) == {0, 1}
    assert (x["padding_mask"].sum(1) > 2).all()  # [CLS] text [SEP]
    with pytest.raises(SystemExit, match="--config standard --save-data"):
        bench.load(path, bench.settings("standard"))


def test_fallback_recipe_from_chapter_07s_profile():
    from lmcourse.chapters import get_chapter

    values = get_chapter("07").profiles["standard"]
    recipe = pretraining.FallbackRecipe.from_chapter07(values)
    assert recipe.steps == max(20, values["steps"] // 4) and recipe.d_model == values["d_model"]
    assert recipe.n_examples == recipe.steps * values["batch_size"] + recipe.val_examples
