"""Every chapter's smoke profile under ``KERAS_BACKEND=jax``, compared with TensorFlow's numbers.

The course's models are written with ``keras.layers``/``keras.ops`` (the data side stays on
tf.data), so a chapter must run unchanged on JAX and record the same numbers - this is the
answer to a learner whose losses differ from a peer's on another backend or device: which
numbers must agree, to what precision, and which may not, and why.

Each chapter runs once per backend, as ``lmcourse run NN --profile smoke -p seed=7`` (the
command of tests/test_notebooks.py, whose `run_smoke` and `CHECKS` are reused). The TensorFlow
numbers are those test_notebooks.py recorded in the same pytest session (`smoke_records` in
tests/conftest.py, which also runs these tests last); a chapter not run there (``pytest
tests/test_jax_backend.py`` alone, or ``-k``) gets its TensorFlow run here. A committed file of
reference numbers was the other option; it would go stale with every change to a chapter, and
compare against another machine's CPU. The JAX runs read a copy of the session's artifacts, so
chapter 08 fine-tunes the very encoder TensorFlow's chapter 07 saved (a ``.keras`` file loads on
either backend), and the JAX chapter 07 does not replace it.

The comparison:

* the recorded names are the same;
* timings (seconds, steps/s, tokens/s, speed-ups, GFLOP/s, exponents fitted to timings) are not
  compared (`TIMING`);
* every other number must agree to ``|jax - tf| <= ABS_TOL + REL_TOL * |tf|`` with
  ``REL_TOL = 1e-4`` and ``ABS_TOL = 1e-5``: float32 computed by two compilers (TensorFlow's
  kernels, XLA) in different orders differs by a few ulps, ~1e-7 relative, and the
  ``max_abs_diff`` checks are ~1e-7 on either side. Measured on the 2-core CPU (TF 2.21,
  JAX 0.10.2, Keras 3.15), the largest differences of the compared numbers were, by chapter:
  00: 0 · 01: 0 · 02: 2.4e-7 (gd_final_loss, rel 9e-8) · 03: 0 · 04: 7.5e-8
  (lstm_vs_keras_max_abs_diff) · 05: 3.2e-6 (untrained_head_entropy, rel 1.7e-6) · 06: 4.1e-8 ·
  07: 4.8e-7 (bert_vs_keras_hub_max_abs_diff) · 08: 2.7e-6 (exact_vs_tanh_gelu_max_abs_diff,
  rel 2.6e-4; its values are ~1e-2, inside ABS_TOL).
  Everything else - counts, n-grams, tokenizers, from-scratch-vs-library checks, the
  deterministic gradient descent of chapter 02, pretrained MiniLM's vectors - agrees to that.
* numbers that legitimately differ more are listed in `BACKEND_DEPENDENT`, per chapter, with the
  reason; they are asserted loosely: the chapter's own thresholds (`CHECKS`: the LSTM beats the
  unigram, accuracies clear the majority class, the hand-written loop equals ``fit``, ...) must
  hold on JAX too, and each such number must lie within a stated distance of TensorFlow's. The
  reasons:

  - RNG: Keras draws weight initializations, dropout masks and sampling from the backend's
    random generator (TensorFlow's stateless Philox ops, JAX's threefry), so the same seed gives
    other random numbers on the two backends; every model trained from a random start (or
    with dropout) ends elsewhere - as it would with another seed.
  - SPARSE_ADAM: on TensorFlow the gradient of a row lookup (``ops.take``, ``Embedding``)
    is a ``tf.IndexedSlices`` with one row per looked-up token, repeats included; Keras's Adam
    updates its moments row by row, so a token seen k times in a batch adds sum(g_i^2), not
    (sum g_i)^2, and is decayed k times. On JAX the gradient is dense. Chapter 02's minibatch
    Adam is otherwise deterministic and shows it alone: 0.138 nats apart after the 100 smoke
    steps (2.595 TF, 2.733 JAX), 7e-4 after the 2,000 of ``standard``. SGD and momentum are
    linear in the gradient and agree to 1e-7. (Every Embedding trained with Adam/AdamW on
    TensorFlow - chapters 04, 06-08 - gets this sparse variant, on top of RNG.)
  - CHAOS: a learning rate above 2/lambda_max makes gradient descent oscillate: rounding
    differences grow step by step (smoke: 16.1 vs 15.4 nats; standard: 13.9 vs 17.1).

Time on the 2-core CPU: the ten JAX runs take about 5 minutes (08: 73 s, 09: 50 s, 06: 37 s,
07: 33 s), the ten TensorFlow runs of test_notebooks.py about 4; alone, this file runs both.
"""

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest
from test_notebooks import CHECKS, NOTEBOOKS, run_smoke

from lmcourse.chapters import get_chapter

REL_TOL, ABS_TOL = 1e-4, 1e-5
TIMING = re.compile(r"seconds|_per_s$|speedup|gflops|_cost_exponent$|_ms_")

RNG = "random initialization/dropout/sampling: the backends' random streams differ"
SPARSE_ADAM = "Keras's Adam on TensorFlow's IndexedSlices gradient of a row lookup"
CHAOS = "gradient descent above 2/lambda_max: oscillation amplifies rounding"

# name -> (largest allowed |jax - tf|, in the number's own unit; the reason). The limits are a few
# times the differences measured (the "measured" comments: |jax - tf| on the 2-core CPU); what
# these numbers must show is checked by the chapter's CHECKS, on JAX as on TensorFlow.
BACKEND_DEPENDENT = {
    "02": {
        "adam_loss": (0.5, SPARSE_ADAM),  # measured 0.138
        "loss_lr_large": (5.0, CHAOS),
    },  # 0.70 (standard: 3.2)
    "04": {
        "lstm_val_loss": (0.3, RNG),  # 0.100
        "lstm_val_perplexity": (6.0, RNG),  # 1.96
        "lstm_minus_ngram_nats": (0.3, RNG),
    },  # 0.100
    "05": {"no_mask_leak_max_abs_diff": (0.1, RNG)},  # 0.0077 (of 1.23)
    "06": {
        "gpt_val_loss": (0.3, RNG),
        "gpt_val_perplexity": (5.0, RNG),  # 0.012, 0.17
        "lstm_val_loss": (0.3, RNG),
        "lstm_val_perplexity": (5.0, RNG),
    },  # 0.053, 0.90
    "07": {
        **{name: (0.3, RNG) for name in ("mlm_val_loss", "mlm_only_val_loss")},  # 0.014
        **{
            name: (0.1, RNG)
            for name in (
                "mlm_val_accuracy",
                "mlm_only_val_accuracy",  # 0.007
                "nsp_val_accuracy",
            )
        },  # 0
        **{f"probe_accuracy_{name}": (0.15, RNG) for name in ("random", "mlm_only", "mlm_nsp")},
        **{f"polarity_gap_{name}": (0.1, RNG) for name in ("random", "mlm_only", "mlm_nsp")},
        **{f"polarity_gap_z_{name}": (4.0, RNG) for name in ("random", "mlm_only", "mlm_nsp")},
        "fill_in_top5_hits": (3, RNG),  # 0 (0 and 0)
    },  # probes: 0.03; gaps: 0.022, z 1.3 (noise around 0: the sign flips)
    "08": {
        # 192 test sentences in smoke (one is 0.005 of accuracy); measured up to 0.0625
        **{
            f"rt_{name}_accuracy": (0.2, RNG)
            for name in ("scratch", "chapter07", "minilm_frozen", "minilm_gradual", "minilm_full")
        },
        "rt_scratch_accuracy_250": (0.2, RNG),
        "rt_minilm_full_accuracy_250": (0.2, RNG),
        "rt_negation_accuracy_from_scratch": (0.25, RNG),  # 51 sentences: 0
        "rt_negation_accuracy_minilm_full": (0.25, RNG),  # 0.078
        "rt_minilm_gain_over_tfidf_points": (20.0, RNG),  # 6.25
        "rt_minilm_gain_over_scratch_points": (20.0, RNG),  # 6.25
        "rt_minilm_test_errors": (40, RNG),  # 12
        "imdb_scratch_accuracy": (0.2, RNG),
        "imdb_chapter07_accuracy": (0.2, RNG),  # 0, 0
    },
    "09": {
        # every model of the chapter trains from a random start, with Adam(W) on an Embedding
        # (measured: validation losses up to 0.025 apart, accuracies 0.012, test 0.026 of 834)
        **{
            f"reg_{name}_val_{what}": (0.15 if what == "loss" else 0.08, RNG)
            for name in (
                "none",
                "l2",
                "l1",
                "adamw_weight_decay_1_0",
                "dropout_0_5",
                "token_dropout_0_3",
                "early_stopping",
                "dropout___token_dropout___early_stopping",
            )
            for what in ("loss", "accuracy")
        },
        **{name: (0.15, RNG) for name in ("plain_val_loss_min", "plain_val_loss_last")},
        "plain_train_accuracy": (0.05, RNG),
        **{f"ece_{name}": (0.1, RNG) for name in ("plain", "plain_temperature", "regularized")},
        "range_test_suggested_lr": (0.02, RNG),  # 0.0024
        **{f"{name}_test_accuracy": (0.1, RNG) for name in ("tuned", "plain")},  # 0.026
        **{
            f"tuned_minus_{other}_{end}": (0.1, RNG)
            for other in ("tfidf", "plain")
            for end in ("low", "high")
        },  # 0.029
    },
}


def smoke_record(backend, chapter, tmp_path, records, **env):
    """This session's smoke record of ``chapter`` on ``backend``: test_notebooks.py's, or a new
    run made here (and kept for the rest of the session)."""
    key = (backend, chapter.id)
    if key not in records:
        proc, _, _, _ = run_smoke(chapter, tmp_path / backend, KERAS_BACKEND=backend, **env)
        assert proc.returncode == 0, f"{backend} run failed:\n{proc.stderr[-3000:]}"
        records[key] = json.loads(proc.stdout)
    return records[key]


def artifacts_copy(tmp_path):
    """A copy of the session's artifacts folder (chapter 07's encoder): JAX reads what
    TensorFlow's chapter 07 saved and writes only into its copy."""
    source, target = Path(os.environ["LMCOURSE_ARTIFACTS"]), tmp_path / "artifacts"
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        target.mkdir()
    return target


def differences(chapter_id, tf_results, jax_results):
    """Lines describing every number out of its tolerance (empty when the backends agree)."""
    loose = BACKEND_DEPENDENT.get(chapter_id, {})
    problems = []
    for name, tf_value in tf_results.items():
        jax_value = jax_results[name]
        if TIMING.search(name):
            continue
        if isinstance(tf_value, str) or isinstance(jax_value, str):
            if tf_value != jax_value and name not in loose:
                problems.append(f"{name}: {tf_value!r} (TF) != {jax_value!r} (JAX)")
            continue
        diff = abs(jax_value - tf_value)
        if name in loose:
            limit, reason = loose[name]
            if not diff <= limit:
                problems.append(
                    f"{name}: TF {tf_value:.6g}, JAX {jax_value:.6g}, "
                    f"|diff| {diff:.3g} > {limit:g} (backend-dependent: {reason})"
                )
        elif not diff <= ABS_TOL + REL_TOL * abs(tf_value):
            problems.append(
                f"{name}: TF {tf_value:.8g}, JAX {jax_value:.8g}, |diff| {diff:.3g} > "
                f"{ABS_TOL:g} + {REL_TOL:g} * |TF|"
            )
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_smoke_run_on_jax_records_tensorflows_numbers(path, tmp_path, smoke_records):
    chapter = get_chapter(path.stem)
    reference = smoke_record("tensorflow", chapter, tmp_path, smoke_records)["results"]
    record = smoke_record(
        "jax", chapter, tmp_path, smoke_records, LMCOURSE_ARTIFACTS=str(artifacts_copy(tmp_path))
    )
    results = record["results"]
    assert record["parameters"]["seed"] == 7 and record["parameters"]["profile"] == "smoke"
    assert sorted(results) == sorted(reference), "the two backends record different names"
    stale = set(BACKEND_DEPENDENT.get(chapter.id, {})) - set(results)
    assert not stale, f"BACKEND_DEPENDENT lists names the chapter no longer records: {stale}"
    for name, value in results.items():
        assert isinstance(value, str) or math.isfinite(value), name
    CHECKS.get(chapter.id, lambda r: None)(results)  # the chapter's own thresholds hold on JAX
    problems = differences(chapter.id, reference, results)
    assert not problems, "JAX and TensorFlow disagree:\n" + "\n".join(problems)


def test_the_comparison_skips_timings_and_flags_numbers_out_of_tolerance():
    timings = (
        "chapter_seconds",
        "lstm_steps_per_s",
        "kv_cache_speedup",
        "matmul_gflops",
        "attention_cost_exponent",
        "attention_ms_at_max_len",
    )
    assert all(TIMING.search(name) for name in timings)
    assert not any(TIMING.search(name) for name in ("attention_memory_exponent", "gpt_val_loss"))
    tf = {"gd_final_loss": 2.578, "lstm_steps_per_s": 12.0, "adam_loss": 2.595, "note": "ok"}
    close = {**tf, "gd_final_loss": 2.578 + 1e-6, "lstm_steps_per_s": 30.0, "adam_loss": 2.733}
    assert differences("02", tf, close) == []
    far = {**tf, "gd_final_loss": 2.579, "adam_loss": 3.2, "note": "diverged"}
    assert [line.split(":")[0] for line in differences("02", tf, far)] == [
        "gd_final_loss",
        "adam_loss",
        "note",
    ]
