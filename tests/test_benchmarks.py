"""benchmarks/minilm_rt.py: the data it prepares for the GPU machine, and its CPU run."""

import numpy as np
import pytest
from test_pretraining import _benchmark

from lmcourse import data, pipelines, pretrained


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    bench = _benchmark("minilm_rt")
    path = tmp_path_factory.mktemp("gpu") / "minilm_smoke.npz"
    bench.save_data(bench.settings("smoke"), path)
    return bench, path


def test_saved_ids_are_the_chapters_and_float16_weights_give_the_same_encoder(saved):
    bench, path = saved
    cfg = bench.settings("smoke")
    config, tensors, splits = bench.load(path)
    texts = data.movie_reviews("train", "rotten_tomatoes").texts[:20]
    tokenizer = pretrained.minilm_tokenizer()
    expected = pipelines.encode_for_classification(
        tokenizer, texts, seq_len=cfg["seq_len"], cls_id=101, sep_id=102
    )
    x = bench.inputs(splits["rt/train/ids"][:20])
    for key in ("token_ids", "segment_ids", "padding_mask"):
        np.testing.assert_array_equal(x[key], expected[key])
    assert len(splits["rt/train/labels"]) == cfg["train_examples"]
    assert len(splits["imdb/test/ids"]) == cfg["imdb_test_examples"]
    assert splits["imdb/train/ids"].shape[1] == cfg["imdb_seq_len"]
    half = bench.build_classifier(config, tensors, 6).get_layer("minilm")
    full, _, _ = pretrained.load_minilm()
    gap = np.abs(np.asarray(half(x)["sequence_output"]) - np.asarray(full(x)["sequence_output"]))
    assert gap[x["padding_mask"].astype(bool)].max() < 2e-2  # float16 storage: about 3 digits


def test_the_benchmark_fine_tunes_and_reports_on_the_cpu(saved, capsys):
    bench, path = saved
    out = bench.run(bench.settings("smoke"), path, ("rt",))
    rt = out["rt"]
    assert rt["labels"] == 250 and rt["steps"] == 15 and 0.0 <= rt["test_accuracy"] <= 1.0
    assert out["targets_met"] == {"rt >= 0.86": rt["test_accuracy"] >= 0.86}
    with pytest.raises(SystemExit):
        bench.main(["--config", "full", "--data", str(path)])  # a smoke file for a full run


def test_determinism_report_lists_only_model_numbers_that_differ():
    bench = _benchmark("determinism")
    runs = [
        {"val_loss": 1.5, "epochs_done": 3, "seconds": 10.0, "train_steps_per_s": 5.0, "note": "a"},
        {"val_loss": 1.5, "epochs_done": 3, "seconds": 12.0, "train_steps_per_s": 6.0, "note": "a"},
        {
            "val_loss": 1.625,
            "epochs_done": 3,
            "seconds": 11.0,
            "train_steps_per_s": 7.0,
            "note": "b",
        },
    ]
    varied = bench.spread(runs)
    assert set(varied) == {"val_loss", "note"}  # timings are left out, equal numbers too
    assert varied["val_loss"] == {"min": 1.5, "max": 1.625, "spread": 0.125}
    assert bench.spread(runs[:2]) == {}
