"""German-English sentence pairs and word entries from the Ding dictionary (``data/``).

The files are shipped in ``data/`` and checked against ``data/MANIFEST.csv`` before they are
read (GPL-2+, see ``data/NOTICE-de_en.txt``): 14,645 sentence pairs and 10,337 single-word
entries. A pair's split follows from a hash of its German side, so adding pairs never moves
one from test to train.

Example:
    >>> from lmcourse import translation_data
    >>> pairs = translation_data.sentence_pairs("test")
    >>> len(pairs) > 1000, pairs[0].german.endswith((".", "?", "!"))
    (True, True)
"""

from __future__ import annotations

import functools
import hashlib
import lzma
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from lmcourse.data import DataError, verify

SENTENCES_FILE = "de_en_sentences.tsv.xz"
WORDS_FILE = "de_en_words.tsv.xz"
HEADER = "german\tenglish"
SPLIT_BUCKETS = {"train": range(0, 8), "validation": range(8, 9), "test": range(9, 10)}
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*|\S")


class Pair(NamedTuple):
    german: str
    english: str


def read_pairs(path: str | Path) -> list[Pair]:
    """The pairs of a TSV file (``.xz`` or plain): a ``german<TAB>english`` header, then one
    pair per line, both sides non-empty.

    Raises:
        DataError: a bad header or line, named by its line number.
    """
    path = Path(path)
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    if not lines or lines[0] != HEADER:
        raise DataError(f"{path}:1: the first line must be the header {HEADER!r}")
    pairs = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 2 or not all(s.strip() for s in fields):
            raise DataError(
                f"{path}:{number}: expected 'german<TAB>english' with both sides non-empty, "
                f"got {line[:60]!r}: fix or delete that line"
            )
        pairs.append(Pair(fields[0].strip(), fields[1].strip()))
    return pairs


def pair_split(german: str) -> str:
    """The split of the pair whose German side is ``german``: train (80%), validation, test."""
    bucket = int(hashlib.sha256(german.encode("utf-8")).hexdigest()[:16], 16) % 10
    return next(s for s, b in SPLIT_BUCKETS.items() if bucket in b)


@functools.lru_cache(maxsize=1)
def _all_pairs() -> tuple[Pair, ...]:
    return tuple(read_pairs(verify(SENTENCES_FILE)))


def sentence_pairs(split: str = "train") -> list[Pair]:
    """The sentence pairs of ``split`` (``"train"``, ``"validation"``, ``"test"`` or ``"all"``),
    in file order."""
    if split != "all" and split not in SPLIT_BUCKETS:
        raise ValueError(f"split={split!r}: use one of {[*SPLIT_BUCKETS, 'all']}")
    return [p for p in _all_pairs() if split == "all" or pair_split(p.german) == split]


@functools.lru_cache(maxsize=1)
def word_dictionary() -> dict[str, str]:
    """German word -> its English translation (the dictionary's first), for the words of the
    sentence pairs."""
    return dict(read_pairs(verify(WORDS_FILE)))


def split_words(sentence: str) -> list[str]:
    """Words and punctuation marks of a sentence, in order (``"Ich bin's."`` ->
    ``["Ich", "bin", "'", "s", "."]``)."""
    return WORD.findall(sentence)


def word_by_word(sentence: str, dictionary: Mapping[str, str]) -> str:
    """Translate each word alone: the dictionary's entry for the word (or for it lowercased),
    else the word itself; punctuation kept. The classical baseline of chapters 09-10.

    Example:
        >>> word_by_word("Ich sehe den Hund.", {"ich": "I", "sehe": "see", "Hund": "dog"})
        'I see den dog.'
    """
    out: list[str] = []
    for token in split_words(sentence):
        english = dictionary.get(token) or dictionary.get(token.lower()) or token
        if out and not token[0].isalnum():
            out[-1] += english  # punctuation sticks to the word before it
        else:
            out.append(english)
    return " ".join(out)


def word_by_word_all(sentences: Sequence[str], dictionary: Mapping[str, str]) -> list[str]:
    """:func:`word_by_word` of each sentence."""
    return [word_by_word(s, dictionary) for s in sentences]
