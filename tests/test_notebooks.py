"""Every chapter runs end to end through `lmcourse run` (papermill), smoke profile.

nbval runs each notebook too (pytest collects chapters/*.ipynb); this test goes through the
command learners use, with a parameter override, and asserts the numbers each chapter
records. Thresholds are loose enough for a smoke run and tight enough to fail when the
model or the metric is broken.
"""

import json
import math
import subprocess
import sys
import time

import pytest

from lmcourse.chapters import CHAPTERS_DIR, get_chapter

NOTEBOOKS = sorted(CHAPTERS_DIR.glob("*.ipynb"))
SMOKE_BUDGET_S = 60  # per chapter, kernel start included (the course's promise)


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


CHECKS = {"00": check_00, "01": check_01, "02": check_02}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_runs_with_lmcourse_run_and_records_real_numbers(path, tmp_path):
    chapter = get_chapter(path.stem)
    out = tmp_path / "run"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "lmcourse.cli", "run", chapter.id, "--profile", "smoke",
         "-p", "seed=7", "--output", str(out), "--json", "--no-progress"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(proc.stdout)  # --json: stdout is exactly the JSON
    assert record == json.loads((out / "results.json").read_text())
    assert (out / f"{chapter.slug}.ipynb").is_file()
    assert record["parameters"]["seed"] == 7 and record["parameters"]["profile"] == "smoke"
    assert record["results"], "a chapter must record its headline numbers"
    for name, value in record["results"].items():
        assert isinstance(value, str) or math.isfinite(value), name
    CHECKS.get(chapter.id, lambda r: None)(record["results"])
    assert seconds <= SMOKE_BUDGET_S, f"smoke run took {seconds:.0f} s (budget {SMOKE_BUDGET_S} s)"
    # TensorFlow's start-up lines must not reach the learner's notebook (runtime.filtered_stderr)
    executed = json.loads((out / f"{chapter.slug}.ipynb").read_text())
    for cell in executed["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            assert "absl::InitializeLog" not in text and "oneDNN custom operations" not in text, text
