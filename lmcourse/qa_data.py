"""Questions and their answers from the chatterbot English corpus (PyPI ``chatterbot-corpus``
1.3.3, BSD), read in place from the installed package and checked by sha256
(``data/PACKAGE_DATA.csv``).

Each YAML file holds conversations, lists of turns; a turn answers the one before it. For
search, every (turn, next turn) is a question with an answer; the same question may have
several answers. :func:`search_benchmark` turns them into queries (the distinct questions),
documents (the distinct answers) and, per query, the set of its correct documents.

Example:
    >>> from lmcourse import qa_data
    >>> bench = qa_data.search_benchmark()
    >>> len(bench.queries) > 1000, len(bench.documents) > 1000
    (True, True)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lmcourse.data import DataError, package_file, package_manifest

MODULE = "chatterbot_corpus"
FOLDER = "data/english/"


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str
    category: str


@dataclass(frozen=True)
class SearchBenchmark:
    queries: list[str]  # distinct questions
    documents: list[str]  # distinct answers
    relevant: list[set[int]]  # per query, the ids of its answers among the documents
    categories: list[str]  # per query, the file it came from


def _turn(value: object, where: str) -> str:
    """A turn's text with white space collapsed ("" for a blank turn, which answers nothing)."""
    if isinstance(value, str | int | float):
        return " ".join(str(value).split())
    raise DataError(f"{where}: a conversation turn must be a string, got {value!r}")


def read_conversations(path, category: str) -> list[QAPair]:
    """The (turn, next turn) pairs of one corpus file."""
    import yaml

    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("conversations"), list):
        raise DataError(f"{path}: expected a mapping with a 'conversations' list")
    pairs = []
    for n, conversation in enumerate(doc["conversations"]):
        turns = [_turn(t, f"{path}: conversation {n}") for t in conversation]
        pairs += [QAPair(q, a, category) for q, a in zip(turns, turns[1:], strict=False) if q and a]
    return pairs


@functools.lru_cache(maxsize=1)
def question_answer_pairs() -> tuple[QAPair, ...]:
    """Every (question, answer) pair of the English corpus, file by file in name order."""
    paths = sorted(p for (m, p) in package_manifest() if m == MODULE and p.startswith(FOLDER))
    pairs: list[QAPair] = []
    for relpath in paths:
        category = relpath.removeprefix(FOLDER).removesuffix(".yml")
        pairs += read_conversations(package_file(MODULE, relpath), category)
    return tuple(pairs)


def search_benchmark() -> SearchBenchmark:
    """Distinct questions as queries, distinct answers as documents, and the relevance sets."""
    documents: dict[str, int] = {}
    answers_of: dict[str, set[int]] = {}
    category_of: dict[str, str] = {}
    for p in question_answer_pairs():
        doc = documents.setdefault(p.answer, len(documents))
        answers_of.setdefault(p.question, set()).add(doc)
        category_of.setdefault(p.question, p.category)
    queries = list(answers_of)
    return SearchBenchmark(
        queries,
        list(documents),
        [answers_of[q] for q in queries],
        [category_of[q] for q in queries],
    )
