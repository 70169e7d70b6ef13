"""Recording a run's numbers: the file round trip and what is refused."""

import json

import numpy as np
import pytest

from lmcourse import results


def test_record_writes_the_file_at_once_and_reads_back(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    monkeypatch.setenv(results.RESULTS_ENV, str(path))
    results.begin("04", {"profile": "smoke", "seed": 7})
    results.record("val_loss", np.float32(1.5))
    results.record("steps", np.int64(12))
    results.record("note", "ok")
    on_disk = results.read(path)
    assert on_disk == {
        "chapter": "04",
        "parameters": {"profile": "smoke", "seed": 7},
        "results": {"val_loss": 1.5, "steps": 12, "note": "ok"},
    }
    assert isinstance(on_disk["results"]["steps"], int)
    assert not path.with_suffix(".tmp").exists()


def test_record_without_env_keeps_numbers_in_memory(monkeypatch, capsys):
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    results.begin("01", {})
    results.record("bigram_perplexity", 212.25)
    assert results.current()["results"] == {"bigram_perplexity": 212.25}
    results.show()
    out = capsys.readouterr().out
    assert "bigram_perplexity" in out and "212.2" in out


@pytest.mark.parametrize(
    "name, value, error, message",
    [
        ("Val Loss", 1.0, ValueError, "snake_case"),
        ("loss", float("nan"), ValueError, "diverged"),
        ("loss", float("inf"), ValueError, "diverged"),
        ("loss", [1.0], TypeError, "must be a number or a string"),
        ("loss", True, TypeError, "must be a number or a string"),
    ],
)
def test_record_refuses_bad_names_and_values(name, value, error, message):
    results.begin("01", {})
    with pytest.raises(error, match=message):
        results.record(name, value)


def test_format_table_lists_every_result():
    table = results.format_table(
        [
            {"chapter": "01", "results": {"a": 1.23456, "b": 3}},
            {"chapter": "02", "results": {"c": "x"}},
        ]
    )
    lines = table.splitlines()
    assert len(lines) == 5 and "1.235" in table and lines[-1].split() == ["02", "c", "x"]
    assert results.format_table([]) == "(no results recorded)"


def test_run_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RUN_DIR_ENV, str(tmp_path / "run"))
    assert results.run_dir() == tmp_path / "run" and (tmp_path / "run").is_dir()
    json.dumps(results.current())  # always serializable
