"""What an embedding table learned: nearest neighbours and a sentiment-polarity gap.

A model's token embedding table is a ``(V, d)`` matrix, one row per vocabulary entry. Its
geometry is the cheapest window into what training taught the model about words: which words
ended up close together (by cosine similarity), and whether words of the same sentiment
ended up closer to each other than to words of the other sentiment.

Chapter 05 looks at the neighbours of PPMI word vectors; chapter 07 at the table a masked-LM
pretraining shaped (its MLM head is tied to it); chapter 08 at the tables that fine-tuning on
labels shaped. All with plain NumPy, so any backend's weights work.

Example:
    >>> import numpy as np
    >>> vocab = ["good", "great", "bad", "awful"]
    >>> vectors = np.array([[1.0, 0.1], [0.9, 0.2], [-1.0, 0.1], [-0.8, -0.1]])
    >>> [w for w, _ in nearest_neighbours(vectors, vocab, "good", k=2)]
    ['great', 'bad']
    >>> round(polarity_gap(vectors, vocab, ["good", "great"], ["bad", "awful"]).gap, 2)
    1.97
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Single words that are common in movie reviews and clearly positive or negative. Chapters 07
# and 08 measure the polarity gap of their embedding tables on these (words a vocabulary
# splits into pieces are skipped, and the count used is reported).
POSITIVE_WORDS: tuple[str, ...] = (
    "great",
    "excellent",
    "wonderful",
    "best",
    "love",
    "perfect",
    "brilliant",
    "beautiful",
    "amazing",
    "fantastic",
    "superb",
    "enjoyed",
    "favorite",
    "loved",
    "fun",
)
NEGATIVE_WORDS: tuple[str, ...] = (
    "awful",
    "terrible",
    "worst",
    "boring",
    "waste",
    "bad",
    "poor",
    "horrible",
    "stupid",
    "dull",
    "worse",
    "ridiculous",
    "mess",
    "annoying",
    "lame",
)


def _table(vectors: object, vocabulary: Sequence[str]) -> np.ndarray:
    """``vectors`` as a float ``(V, d)`` array whose rows are unit vectors (zero rows stay 0)."""
    table = np.asarray(vectors, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(
            f"vectors must be a (V, d) table, one row per token - got shape {table.shape}"
        )
    if table.shape[0] != len(vocabulary):
        raise ValueError(
            f"vectors has {table.shape[0]:,} rows but the vocabulary {len(vocabulary):,} "
            "tokens: pass the vocabulary the table was trained with (row i is token i)"
        )
    norms = np.linalg.norm(table, axis=1, keepdims=True)
    return table / np.maximum(norms, 1e-12)


def _index(vocabulary: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, token in enumerate(vocabulary):
        index.setdefault(token, i)
    return index


def nearest_neighbours(
    vectors: object,
    vocabulary: Sequence[str],
    word: str,
    k: int = 6,
    among: Sequence[str] | None = None,
) -> list[tuple[str, float]]:
    """The ``k`` tokens whose rows are most cosine-similar to ``word``'s row, most similar first.

    Args:
        vectors: ``(V, d)`` embedding table (NumPy array or a backend tensor); row ``i`` is
            ``vocabulary[i]``.
        vocabulary: the ``V`` tokens, in row order.
        word: the query token; it must be in ``vocabulary``.
        k: how many neighbours (at least 1).
        among: if given, only these tokens may be answers (e.g. whole words, no ``##`` pieces
            or special tokens); tokens of it missing from the vocabulary are ignored.

    Returns:
        ``[(token, cosine similarity), ...]``, at most ``k`` of them; ``word`` itself is
        never one.

    Raises:
        ValueError: ``word`` not in the vocabulary, ``k`` < 1, or a table whose shape does
            not match the vocabulary.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1 - got {k}")
    table = _table(vectors, vocabulary)
    index = _index(vocabulary)
    if word not in index:
        close = difflib.get_close_matches(word, list(index), n=3)
        hint = f"; the closest it has: {', '.join(map(repr, close))}" if close else ""
        raise ValueError(
            f"{word!r} is not in the vocabulary ({len(vocabulary):,} tokens): "
            f"ask for a word it has{hint}"
        )
    query = index[word]
    similarity = table @ table[query]  # (V,)
    allowed = np.zeros(len(vocabulary), dtype=bool)
    if among is None:
        allowed[:] = True
    else:
        allowed[[index[t] for t in among if t in index]] = True
    allowed[query] = False
    candidates = np.flatnonzero(allowed)
    # A stable sort: equal similarities keep the vocabulary's order, so answers are reproducible.
    order = candidates[np.argsort(-similarity[candidates], kind="stable")[:k]]
    return [(vocabulary[i], float(similarity[i])) for i in order]


@dataclass(frozen=True)
class PolarityGap:
    """How much closer same-sentiment words are than opposite-sentiment words.

    Attributes:
        within: mean cosine similarity of two different words of the same polarity.
        across: mean cosine similarity of a positive and a negative word.
        gap: ``within - across``; about 0 for a random table.
        null_sd: standard deviation of the gap when the polarity labels are shuffled among
            the same words (how large a gap chance alone gives these words).
        positive: the positive words found in the vocabulary (and used).
        negative: the negative words found in the vocabulary (and used).
    """

    within: float
    across: float
    gap: float
    null_sd: float
    positive: tuple[str, ...]
    negative: tuple[str, ...]

    @property
    def z(self) -> float:
        """The gap in units of ``null_sd``: beyond about 2 it is unlikely to be chance."""
        return self.gap / self.null_sd if self.null_sd > 0 else float("nan")


def _gap(similarity: np.ndarray, is_positive: np.ndarray) -> tuple[float, float]:
    same = is_positive[:, None] == is_positive[None, :]
    off_diagonal = ~np.eye(len(is_positive), dtype=bool)
    return (float(similarity[same & off_diagonal].mean()), float(similarity[~same].mean()))


def polarity_gap(
    vectors: object,
    vocabulary: Sequence[str],
    positive: Sequence[str] = POSITIVE_WORDS,
    negative: Sequence[str] = NEGATIVE_WORDS,
    *,
    permutations: int = 2000,
    seed: int = 0,
) -> PolarityGap:
    """Mean cosine within a polarity minus across polarities, with its chance spread.

    Words of ``positive``/``negative`` missing from ``vocabulary`` are skipped (a WordPiece
    vocabulary may split a rare one into pieces). The chance spread ``null_sd`` comes from
    ``permutations`` random relabellings of the same words (seeded, so reproducible).

    Args:
        vectors: ``(V, d)`` embedding table; row ``i`` is ``vocabulary[i]``.
        vocabulary: the ``V`` tokens, in row order.
        positive, negative: the two word lists (the course's review lexicon by default).
        permutations: relabellings for ``null_sd`` (0 skips it: ``null_sd`` is then nan).
        seed: seed of the relabellings.

    Raises:
        ValueError: fewer than 2 words of either list in the vocabulary, a word in both lists,
            or a table whose shape does not match the vocabulary.
    """
    both = sorted(set(positive) & set(negative))
    if both:
        raise ValueError(f"words in both lists: {', '.join(both)} - give each word one polarity")
    table = _table(vectors, vocabulary)
    index = _index(vocabulary)
    pos = tuple(dict.fromkeys(w for w in positive if w in index))
    neg = tuple(dict.fromkeys(w for w in negative if w in index))
    if len(pos) < 2 or len(neg) < 2:
        raise ValueError(
            f"the vocabulary has {len(pos)} of the positive and {len(neg)} of the negative "
            "words; at least 2 of each are needed - pass word lists the vocabulary keeps whole "
            "(or learn a larger vocabulary)"
        )
    rows = table[[index[w] for w in (*pos, *neg)]]
    similarity = rows @ rows.T  # (n, n)
    is_positive = np.arange(len(rows)) < len(pos)
    within, across = _gap(similarity, is_positive)
    null_sd = float("nan")
    if permutations > 0:
        rng = np.random.default_rng(seed)
        null = [
            np.subtract(*_gap(similarity, rng.permutation(is_positive)))
            for _ in range(permutations)
        ]
        null_sd = float(np.std(null))
    return PolarityGap(
        within=within,
        across=across,
        gap=within - across,
        null_sd=null_sd,
        positive=pos,
        negative=neg,
    )
