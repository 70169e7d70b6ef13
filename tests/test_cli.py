"""The `lmcourse` command: bad input fails fast with one line and leaves nothing behind."""

import subprocess
import sys
import time

import pytest

from lmcourse import cli


def lmcourse(*args, cwd):
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "lmcourse.cli", *args], capture_output=True, text=True, cwd=cwd
    )
    return proc, time.perf_counter() - start


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["run", "01", "--profile", "nonsense"],
            "unknown profile 'nonsense': choose one of smoke, standard, full",
        ),
        (["run", "02", "-p", "epochs=-3"], "epochs=-3 is out of range: epochs must be an int >= 1"),
        (
            ["run", "01", "-p", "epochs=3"],
            "chapter 01 has no parameter 'epochs': its parameters are profile, seed",
        ),
        (["run", "99"], "unknown chapter '99': choose one of 00, 01"),
        (["run", "02", "-p", "epochs"], "write parameters as name=value"),
        (["run", "02", "-p", "profile=full"], "give the profile with --profile"),
        (["run", "all", "-p", "epochs=2"], "chapter 00 has no parameter 'epochs'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, args, message):
    out = tmp_path / "out"
    proc, seconds = lmcourse(*args, "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("lmcourse: error: ")
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not out.exists() and not (tmp_path / "runs").exists()
    assert seconds < 5  # no kernel, no TensorFlow: validation is instant


def test_non_empty_output_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc, _ = lmcourse("run", "00", "--profile", "smoke", "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 2 and "already exists and is not empty" in proc.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    "text, value",
    [
        ("3", 3),
        ("-3", -3),
        ("1e-3", 0.001),
        ("0.5", 0.5),
        ("true", True),
        ("False", False),
        ("None", None),
        ("smoke", "smoke"),
        ("'quoted'", "quoted"),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_parse_value_reads_numbers_bools_none_and_strings(text, value):
    assert cli.parse_value(text) == value and type(cli.parse_value(text)) is type(value)


def test_list_shows_every_chapter_and_its_profile_values(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "01  Language models" in out and "epochs" in out and "smoke=" in out


def test_failing_cell_reports_chapter_cell_and_error_and_keeps_the_notebook(
    tmp_path, monkeypatch, capsys
):
    """A notebook whose cell raises: exit 1, one message naming the cell, partial notebook kept."""
    import nbformat

    from lmcourse import chapters
    from lmcourse.params import Chapter

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("profile = None\nseed = 42")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('boom')"),
    ]
    (tmp_path / "chapters").mkdir()
    nbformat.write(nb, tmp_path / "chapters" / "98_broken.ipynb")
    broken = Chapter(id="98", slug="98_broken", title="broken on purpose")
    monkeypatch.setattr(chapters, "CHAPTERS_DIR", tmp_path / "chapters")
    monkeypatch.setattr(cli, "get_chapter", lambda key: broken)
    out = tmp_path / "run"
    assert cli.main(["run", "98", "--profile", "smoke", "--output", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "chapter 98 (98_broken) failed in cell" in err and "ValueError: boom" in err
    assert (out / "98_broken.ipynb").is_file() and "partly executed notebook is kept" in err
