"""Shipped data: manifest, checksums, clear errors, the split by play."""

import shutil

import pytest

from lmcourse import data


def test_manifest_rows_are_complete_and_files_verify():
    rows = data.manifest()
    assert data.SHAKESPEARE_FILE in rows
    for name, row in rows.items():
        assert row.source and row.license and len(row.sha256) == 64
        path = data.verify(name)
        assert path.stat().st_size == row.bytes
    assert set(data.verify_all().values()) == {"ok"}


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(data.data_dir(), copy)
    monkeypatch.setenv(data.DATA_ENV, str(copy))
    return copy


def test_missing_file_names_the_file_and_the_fix(data_copy):
    (data_copy / data.SHAKESPEARE_FILE).unlink()
    with pytest.raises(data.DataError, match=r"shakespeare.jsonl.xz is missing: restore it with `git checkout"):
        data.shakespeare_text("train")


def test_changed_file_fails_the_checksum(data_copy):
    path = data_copy / data.SHAKESPEARE_FILE
    blob = bytearray(path.read_bytes())
    blob[100] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(data.DataError, match="corrupt or changed .*manifest says"):
        data.verify(data.SHAKESPEARE_FILE)
    assert "corrupt" in data.verify_all()[data.SHAKESPEARE_FILE]


def test_missing_manifest_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    with pytest.raises(data.DataError, match="no data/MANIFEST.csv"):
        data.manifest()


def test_unlisted_file_is_refused():
    with pytest.raises(data.DataError, match="not in data/MANIFEST.csv"):
        data.verify("secret.txt")


def test_split_is_by_work_disjoint_and_complete():
    splits = {s: data.shakespeare_works(s) for s in ("train", "validation", "test")}
    ids = {s: {w.id for w in works} for s, works in splits.items()}
    assert ids["validation"] == set(data.SHAKESPEARE_SPLITS["validation"])
    assert ids["test"] == set(data.SHAKESPEARE_SPLITS["test"])
    assert not (ids["train"] & ids["validation"]) and not (ids["train"] & ids["test"])
    everything = {w.id for w in data.shakespeare_works("all")}
    assert ids["train"] | ids["validation"] | ids["test"] == everything
    assert len(everything) == 42 and "hamlet" in ids["train"]
    # the same order on every call: reproducible slices
    assert [w.id for w in data.shakespeare_works("train")] == [w.id for w in splits["train"]]


def test_texts_are_real_shakespeare_of_the_expected_size():
    train, val = data.shakespeare_text("train"), data.shakespeare_text("validation")
    assert 4_000_000 < len(train) < 5_000_000 and 250_000 < len(val) < 400_000
    assert "To be, or not to be" in train
    assert "Is this a dagger which I see before me" in val  # Macbeth is held out
    with pytest.raises(data.DataError, match="unknown split 'dev'"):
        data.shakespeare_text("dev")
