"""`lmcourse run`'s output folder: one writer at a time; a run killed with SIGKILL resumes.

The two end-to-end tests run a small chapter of their own (a toy model trained with
`training.fit` for a few epochs, one second each) through the real command in a subprocess.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from lmcourse import outputs

PLAN = {"chapters": ["04"], "profile": "smoke", "parameters": {}}


# --- the rules, on folders alone ----------------------------------------------------------


def test_new_folder_is_claimed_and_released(tmp_path):
    out = tmp_path / "out"
    with outputs.claim(out, PLAN) as resumed:
        assert resumed is False and int((out / outputs.LOCK).read_text()) == os.getpid()
        with pytest.raises(outputs.OutputError, match="is in use by another lmcourse run"):
            outputs.check(out, PLAN)  # a second run while this one holds it
    assert not (out / outputs.LOCK).exists()
    with pytest.raises(outputs.OutputError, match="holds a finished run"):
        outputs.check(out, PLAN)


def test_an_unfinished_run_of_the_same_plan_resumes_and_no_other(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), outputs.claim(out, PLAN):
        raise RuntimeError("the kernel died")
    assert json.loads((out / outputs.PLAN).read_text())["finished"] is False
    assert outputs.check(out, PLAN) is True
    other = {**PLAN, "parameters": {"epochs": 3}}
    with pytest.raises(
        outputs.OutputError, match="already exists and is not empty: choose another --output"
    ):
        outputs.check(out, other)


def test_a_stale_lock_of_a_killed_process_is_taken_over(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), outputs.claim(out, PLAN):
        raise RuntimeError
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / outputs.LOCK).write_text(f"{dead.pid}\n")  # a lock left by a process now gone
    with outputs.claim(out, PLAN) as resumed:
        assert resumed and int((out / outputs.LOCK).read_text()) == os.getpid()


def test_foreign_files_and_a_lock_being_written_are_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(outputs.OutputError, match="not empty"):
        outputs.check(out, PLAN)
    (out / outputs.LOCK).write_text("")  # created, pid not written yet: someone is starting
    with pytest.raises(outputs.OutputError, match="a process that is starting"):
        outputs.check(out, PLAN)


# --- end to end: the real command on a toy chapter ----------------------------------------

TRAIN = textwrap.dedent("""
    import time
    import keras, numpy as np, tensorflow as tf
    from lmcourse import results, training
    keras.utils.set_random_seed(seed)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(pause)

    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)   # the same order every epoch
    history = training.fit(model, batches, epochs=epochs, run_dir=results.run_dir("97"),
                           name="toy", checkpoint=False, tensorboard=False, callbacks=[Slow()])
    results.record("final_loss", history["loss"][-1])
    results.record("epochs_done", len(history["loss"]))
""")

RUNNER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from lmcourse import chapters, cli
    from lmcourse.params import Chapter, Param
    toy = Chapter(id="97", slug="97_toy", title="a toy run",
                  params={"epochs": Param(int, "epochs", min=1), "pause": Param(float, "s", min=0)},
                  profiles={p: {"epochs": 6, "pause": 1.0} for p in ("smoke", "standard", "full")})
    chapters.CHAPTERS_DIR = Path(sys.argv[1])
    cli.get_chapter = lambda key: toy
    sys.exit(cli.main(sys.argv[2:]))
""")


@pytest.fixture
def toy_chapter(tmp_path):
    folder = tmp_path / "chapters"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("profile = None\nseed = 42\nepochs = 6\npause = 1.0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(TRAIN)]
    nbformat.write(nb, folder / "97_toy.ipynb")
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    scratch = tmp_path / "tmp"  # the kernels' connection files go here: they can be found
    scratch.mkdir()

    def start(out, *extra):
        cmd = [
            sys.executable,
            str(runner),
            str(folder),
            "run",
            "97",
            "--profile",
            "smoke",
            "--output",
            str(out),
            "--json",
            "--no-progress",
            *extra,
        ]
        return subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            start_new_session=True,
            env={**os.environ, "TMPDIR": str(scratch)},
        )

    return start


def _processes_mentioning(text):
    """Pids whose command line contains ``text`` (a kernel names its connection file)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:  # the process ended meanwhile
            continue
    return found


def _wait_for(predicate, seconds, what):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _epochs_logged(out):
    log = out / "toy" / "log.csv"
    return max(0, len(log.read_text().splitlines()) - 1) if log.exists() else 0


def test_a_second_run_into_the_same_folder_refuses_and_the_first_is_intact(toy_chapter, tmp_path):
    out = tmp_path / "shared"
    first = toy_chapter(out, "-p", "epochs=3")
    _wait_for(lambda: (out / outputs.LOCK).exists(), 60, "the first run's lock")
    second = toy_chapter(out, "-p", "epochs=3")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2, err
    assert err.strip().splitlines()[-1].startswith("lmcourse: error: output folder")
    assert "is in use by another lmcourse run (process " in err
    stdout, err = first.communicate(timeout=180)
    assert first.returncode == 0, err[-2000:]
    record = json.loads(stdout)
    assert record["results"]["epochs_done"] == 3
    assert json.loads((out / outputs.PLAN).read_text())["finished"] is True
    assert not (out / outputs.LOCK).exists()


def test_killed_with_sigkill_and_rerun_it_resumes_to_the_uninterrupted_loss(toy_chapter, tmp_path):
    whole = toy_chapter(tmp_path / "whole", "-p", "pause=0")
    stdout, err = whole.communicate(timeout=180)
    assert whole.returncode == 0, err[-2000:]
    expected = json.loads(stdout)["results"]["final_loss"]

    out = tmp_path / "killed"
    run = toy_chapter(out)
    _wait_for(lambda: _epochs_logged(out) >= 2, 120, "two finished epochs")
    os.killpg(run.pid, signal.SIGKILL)  # the command and its process group, no cleanup
    run.wait(timeout=30)
    assert run.returncode == -signal.SIGKILL
    done_before = _epochs_logged(out)
    assert 2 <= done_before < 6 and (out / outputs.LOCK).exists()  # the lock stays behind
    # The kernel runs in its own session, so the kill did not reach it; it notices that its
    # parent is gone (ipykernel polls once a second) and exits. Wait for that.
    _wait_for(
        lambda: not _processes_mentioning(str(tmp_path / "tmp")), 60, "the orphaned kernel to exit"
    )

    again = toy_chapter(out)
    stdout, err = again.communicate(timeout=180)
    assert again.returncode == 0, err[-2000:]
    assert "resuming the unfinished run" in err
    record = json.loads(stdout)["results"]
    assert record["epochs_done"] == 6
    assert abs(record["final_loss"] - expected) < 1e-6
