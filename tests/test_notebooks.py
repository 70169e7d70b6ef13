"""Every chapter runs end to end through `lmcourse run` (papermill), smoke profile.

nbval runs each notebook too (pytest collects chapters/*.ipynb); this test goes through the
command learners use, with a parameter override, and asserts the numbers each chapter
records. Thresholds are loose enough for a smoke run and tight enough to fail when the
model or the metric is broken.
"""

import json
import math
import os
import re
import subprocess
import sys
import time

import pytest

from lmcourse.chapters import CHAPTERS_DIR, get_chapter

NOTEBOOKS = sorted(CHAPTERS_DIR.glob("*.ipynb"))
SMOKE_BUDGET_S = 60  # per chapter, kernel start included (the course's promise)
# ... on the reference machine, where `lmcourse bench gpt` trains a step in 66.7 ms (README).
# The same code's smoke runs took 47 s one day and 63-90 s on another on this shared VM (its
# benchmark step then 122-151 ms): the budget is scaled by the measured slowdown, never below 60.
REFERENCE_STEP_MS = 66.7


@pytest.fixture(scope="session")
def smoke_budget_s():
    """SMOKE_BUDGET_S times how much slower than the reference this machine trains now."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmcourse.cli",
            "bench",
            "gpt",
            "--no-train",
            "--no-torch",
            "--time-steps",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = re.search(r"jit_compile=auto step\s+([\d.]+) ms", proc.stdout + proc.stderr)
    assert found, (
        f"the GPT benchmark printed no step time:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    )
    slowdown = max(1.0, float(found.group(1)) / REFERENCE_STEP_MS)
    print(f"\nsmoke budget: {SMOKE_BUDGET_S} s x {slowdown:.2f} (GPT step {found.group(1)} ms)")
    return SMOKE_BUDGET_S * slowdown


def check_00(r):
    assert r["train_chars"] > 10 * r["validation_chars"] > 0
    assert r["matmul_gflops"] > 0.1


def check_01(r):
    assert r["bigram_perplexity"] < r["unigram_perplexity"] < r["vocab_size"]
    assert r["uniform_perplexity"] == pytest.approx(r["vocab_size"])
    assert r["interpolated_perplexity"] < r["bigram_perplexity"]
    assert 0 < r["char_ngram_val_nats"] < math.log(r.get("char_vocab_size", 256))


def check_02(r):
    assert r["max_abs_diff_vs_keras"] < 1e-6
    assert r["mle_loss"] < r["gd_final_loss"] < r["uniform_loss"]
    assert r["adam_loss"] < r["uniform_loss"]


def check_03(r):
    # BPE from scratch learns exactly the merges of HuggingFace's trainer, in order.
    assert r["bpe_merges"] > 100 and r["bpe_merges_agree"] == r["bpe_merges"]
    assert r["bpe_library_match"] == 1
    # cleaning merges tokens; subwords trade sequence length for (almost) no unknowns
    assert r["word_types_clean"] < r["word_types_raw"] and r["oov_rate_clean"] < r["oov_rate_raw"]
    assert 100 < r["wordpiece_vocab_size"]
    assert r["tokens_per_line_char"] > r["tokens_per_line_wordpiece"] > r["tokens_per_line_word"]
    assert r["tokens_per_line_char"] > r["tokens_per_line_bpe"] > r["tokens_per_line_word"]
    assert r["oov_rate_word"] > 0.05 > 0.001 > max(r["oov_rate_bpe"], r["oov_rate_wordpiece"])
    # Chinese: words are fewer per line, but a larger vocabulary with more unseen tokens
    assert r["zh_chars_per_line"] > r["zh_words_per_line"] > 0
    assert r["zh_word_vocab"] > r["zh_char_vocab"] and r["zh_oov_word"] > 3 * r["zh_oov_char"]
    assert r["zh_char_f1"] < 0.5 < 0.7 < r["zh_jieba_f1"] < r["zh_jieba_f1_nfkc"] < 0.95
    # round trips, masks, tf.data
    assert r["roundtrip_characters"] > 0.99 and r["roundtrip_bpe"] > 0.99 > r["roundtrip_wordpiece"]
    assert r["mask_matches_keras"] == 1
    assert r["tfdata_speedup"] > 3 and r["tfdata_cache_prefetch_speedup"] > 1.5


def check_04(r):
    # the from-scratch recurrences are the Keras layers
    assert r["rnn_vs_keras_max_abs_diff"] < 1e-5
    assert r["lstm_vs_keras_max_abs_diff"] < 1e-5
    # baselines are sane, and the LSTM learned something in its few smoke steps
    uniform = math.log(r["char_vocab_size"])
    assert r["ngram_val_loss"] < r["unigram_val_loss"] < uniform
    assert r["lstm_val_loss"] < uniform - 0.5, "the LSTM is no better than guessing uniformly"
    assert r["lstm_val_loss"] < r["unigram_val_loss"], "the LSTM did not beat character frequencies"
    for model in ("lstm", "ngram"):
        assert r[f"{model}_val_perplexity"] == pytest.approx(math.exp(r[f"{model}_val_loss"]))
    assert r["lstm_steps_per_s"] > 0


def check_05(r):
    for name in (
        "mha_vs_keras_max_abs_diff",
        "mha_vs_keras_masked_max_abs_diff",
        "mha_vs_keras_causal_max_abs_diff",
        "scratch_vs_package_max_abs_diff",
    ):
        assert r[name] < 1e-5, name
    assert r["causal_leak_max_abs_diff"] <= 1e-6 and r["no_mask_leak_max_abs_diff"] > 1e-3
    assert r["mask_as_bias_max_abs_diff"] < 1e-6 and r["padding_invariance_max_abs_diff"] < 1e-6
    assert 0.9 < r["qk_var_over_dk"] < 1.1 and 0.9 < r["scaled_logit_var_dk1024"] < 1.1
    assert r["entropy_raw_dk64"] < 0.5 * r["entropy_scaled_dk64"]
    assert r["softmax_jacobian_raw_dk1024"] < 0.5 * r["softmax_jacobian_scaled_dk1024"]
    assert r["family_attention_share"] > 2 * r["family_uniform_share"]
    assert r["attention_memory_exponent"] == pytest.approx(2.0, abs=0.01)
    assert r["attention_cost_exponent"] > 1.3  # the T^2 shows through the per-call overhead


def check_06(r):
    # the from-scratch pieces are the library's
    for name in (
        "sinusoidal_vs_keras_hub_max_abs_diff",
        "layernorm_vs_keras_max_abs_diff",
        "block_vs_keras_hub_max_abs_diff",
        "permutation_equivariance_max_abs_diff",
    ):
        assert r[name] < 1e-5, name
    assert r["causal_leak_max_abs_diff"] <= 1e-6, "the GPT sees the future"
    # the cache changes nothing but the speed; keras-hub's greedy sampler agrees with ours
    assert r["kv_cache_max_abs_diff"] < 1e-5 and r["kv_cache_same_text"] == 1
    assert r["keras_hub_greedy_agrees"] == 1
    assert r["kv_cache_speedup"] > 0.5  # tiny smoke models are overhead-bound; standard: > 2
    # both models learned on the same budget; the GPT beats character frequencies
    assert r["gpt_val_loss"] < r["unigram_val_loss"] - 0.3, "the GPT did not beat the unigram"
    assert r["lstm_val_loss"] < r["unigram_val_loss"] + 0.1
    for model in ("gpt", "lstm"):
        assert r[f"{model}_val_perplexity"] == pytest.approx(math.exp(r[f"{model}_val_loss"]))
        assert r[f"{model}_params"] > 1000 and r[f"{model}_tokens_per_s"] > 0


def check_07(r):
    # the WordPiece vocabulary covers the reviews; keras-hub's tokenizer agrees with the fast one
    assert r["wordpiece_vocab_size"] > 1000 and r["unk_rate"] < 1e-3
    assert r["wordpiece_agreement"] > 0.95
    # 80/10/10 from scratch = keras-hub's MaskedLMMaskGenerator, statistically
    assert r["mask_max_ratio_gap"] < 0.015
    assert abs(r["mask_selected_own"] - 0.15) < 0.02 and abs(r["mask_masked_own"] - 0.8) < 0.02
    assert 0.4 < r["nsp_positive_fraction"] < 0.6
    # own encoder = keras-hub BertBackbone with the same weights; the saved encoder reloads
    assert r["bert_vs_keras_hub_max_abs_diff"] < 1e-5 and r["saved_reload_max_abs_diff"] == 0
    # the MLM head starts at the unigram; after a few smoke steps it is still about there
    assert r["mlm_val_loss"] < math.log(r["wordpiece_vocab_size"]) - 0.5
    assert r["mlm_val_loss"] < r["mlm_unigram_loss"] + 0.3
    for name in ("probe_accuracy_random", "probe_accuracy_mlm_only", "probe_accuracy_mlm_nsp"):
        assert 0.3 < r[name] < 1.0, name
    # the polarity gap of the token tables: a mean-cosine difference, with a finite z
    for name in ("random", "mlm_only", "mlm_nsp"):
        assert abs(r[f"polarity_gap_{name}"]) < 0.5 and math.isfinite(r[f"polarity_gap_z_{name}"])
    # the published encoder's token table separates the two polarities, far beyond chance
    assert r["polarity_gap_minilm"] > 0.05 and r["polarity_gap_z_minilm"] > 5


RT_MODELS = (
    "majority",
    "tfidf",
    "scratch",
    "chapter07",
    "minilm_frozen",
    "minilm_gradual",
    "minilm_full",
)


def check_08(r):
    for name in RT_MODELS:
        assert 0.0 <= r[f"rt_{name}_accuracy"] <= 1.0, name
    for name in ("tfidf", "scratch", "minilm_full"):  # the label-count curve starts at 250
        assert 0.0 <= r[f"rt_{name}_accuracy_250"] <= 1.0, name
    assert (
        0.4 < r["rt_majority_accuracy"] < 0.6 and r["rt_tfidf_accuracy"] > r["rt_majority_accuracy"]
    )
    # the checkpoint is in the right places: own encoder = keras-hub's, the exact GELU is close
    assert r["minilm_params"] == 22_713_216
    assert r["minilm_vs_keras_hub_max_abs_diff"] < 1e-5
    assert 1e-5 < r["exact_vs_tanh_gelu_max_abs_diff"] < 0.1
    # before any label, MiniLM's vectors put same-sentiment sentences closer; with 250 labels a
    # head on them (even one layer's, in smoke) clears the majority class
    assert r["sentence_similarity_same_minus_opposite"] > 0.05
    assert r["rt_minilm_frozen_accuracy"] > r["rt_majority_accuracy"] + 0.05
    # what trains: the head < the head and the top layers < everything but the unused pooler
    frozen, gradual = r["trainable_params_minilm_frozen"], r["trainable_params_minilm_gradual"]
    assert frozen == 2 * 384 + 2 and frozen < gradual < r["trainable_params_minilm_full"]
    # the GradientTape loop is fit, written out
    assert r["custom_loop_max_loss_gap"] < 1e-5
    assert r["rt_minilm_gain_over_tfidf_points"] == pytest.approx(
        100 * (r["rt_minilm_full_accuracy"] - r["rt_tfidf_accuracy"])
    )
    assert 0 < r["rt_negation_sentences"] < 192 and r["rt_minilm_test_errors"] >= 0
    # the long-text contrast has the same rows as the main table
    for name in ("majority", "tfidf", "scratch", "chapter07", "minilm_frozen"):
        assert 0.0 <= r[f"imdb_{name}_accuracy"] <= 1.0, name


def check_09(r):
    # the three names of one number, and the metrics written out = the libraries'
    assert r["unigram_perplexity"] == pytest.approx(math.exp(r["unigram_nats_per_char"]))
    assert r["unigram_bits_per_char"] == pytest.approx(r["unigram_nats_per_char"] / math.log(2))
    assert r["f1_sklearn_max_abs_diff"] < 1e-9 and r["f1_keras_max_abs_diff"] < 1e-6
    assert abs(r["bleu_own_minus_sacrebleu"]) < 1e-6 and r["bleu"] == pytest.approx(r["sacrebleu"])
    assert r["sacrebleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
    assert abs(r["keras_hub_bleu_padded_minus_sacrebleu"]) < 1e-3
    # word by word beats copying the German, and the bootstrap interval says so
    assert 0.5 < r["bleu"] < 10 and r["bleu_copy_source"] < r["bleu"]
    assert 0 < r["bleu_gap_low"] < r["bleu_gap_high"]
    assert 0 < r["rouge_2"] < r["rouge_l"] <= r["rouge_1"] < 1
    # the unregularized model overfits: all training sentences right, validation loss rising
    assert r["plain_train_accuracy"] > 0.95
    assert r["plain_val_loss_last"] > r["plain_val_loss_min"] + 0.1
    assert r["reg_early_stopping_val_loss"] == pytest.approx(r["plain_val_loss_min"], abs=1e-4)
    # overconfidence: temperature scaling repairs the plain model's calibration
    assert r["ece_plain_temperature"] < r["ece_plain"] - 0.05
    assert 1e-4 < r["range_test_suggested_lr"] < 1.0
    for name in ("tuned", "plain", "tfidf"):
        assert 0.5 < r[f"{name}_test_accuracy"] < 1.0, name
    assert r["tuned_minus_tfidf_low"] < r["tuned_minus_tfidf_high"]


CHECKS = {
    "00": check_00,
    "01": check_01,
    "02": check_02,
    "03": check_03,
    "04": check_04,
    "05": check_05,
    "06": check_06,
    "07": check_07,
    "08": check_08,
    "09": check_09,
}


def run_smoke(chapter, tmp_path, **env):
    """`lmcourse run <chapter> --profile smoke -p seed=7` in a subprocess, as a learner runs it.

    ``env`` adds to the environment (``KERAS_BACKEND="jax"``). Returns the finished process, the
    run's output folder, its own temp folder (its kernel sockets go there) and the seconds taken.
    """
    out, scratch = tmp_path / "run", tmp_path / "tmp"
    scratch.mkdir(parents=True)
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmcourse.cli",
            "run",
            chapter.id,
            "--profile",
            "smoke",
            "-p",
            "seed=7",
            "--output",
            str(out),
            "--json",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(scratch), **env},
    )
    return proc, out, scratch, time.perf_counter() - start


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_runs_with_lmcourse_run_and_records_real_numbers(
    path, tmp_path, smoke_records, smoke_budget_s
):
    chapter = get_chapter(path.stem)
    proc, out, scratch, seconds = run_smoke(chapter, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(proc.stdout)  # --json: stdout is exactly the JSON
    # tests/test_jax_backend.py compares its JAX run of the chapter with this one
    smoke_records[(os.environ.get("KERAS_BACKEND", "tensorflow"), chapter.id)] = record
    assert record == json.loads((out / "results.json").read_text())
    assert (out / f"{chapter.slug}.ipynb").is_file()
    assert record["parameters"]["seed"] == 7 and record["parameters"]["profile"] == "smoke"
    assert record["results"], "a chapter must record its headline numbers"
    for name, value in record["results"].items():
        assert isinstance(value, str) or math.isfinite(value), name
    CHECKS.get(chapter.id, lambda r: None)(record["results"])
    assert seconds <= smoke_budget_s, (
        f"smoke run took {seconds:.0f} s (budget {smoke_budget_s:.0f} s)"
    )
    # the kernel's IPC sockets are removed, and none were made beside the notebooks
    assert not list(scratch.glob("lmcourse-kernel-*"))
    assert not list(CHAPTERS_DIR.glob("kernel-ipc*"))
    # TensorFlow's start-up lines must not reach the learner's notebook (runtime.filtered_stderr)
    executed = json.loads((out / f"{chapter.slug}.ipynb").read_text())
    for cell in executed["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            assert "absl::InitializeLog" not in text and "oneDNN custom operations" not in text, (
                text
            )
