"""Byte-pair encoding (BPE), from scratch: learn merges from word counts, then encode with them.

BPE (Sennrich et al., 2016; the tokenizer family of GPT-2 and most LLMs) starts from single
characters and repeatedly **merges the most frequent adjacent pair** of symbols into a new
symbol. The list of merges, in the order learned, *is* the tokenizer:

    words {"▁low": 5, "▁lower": 2, "▁newest": 6, "▁widest": 3}
    merge 1: e + s   -> es     (9 times: newest, widest)
    merge 2: es + t  -> est    (9 times)
    merge 3: l + o   -> lo     (7 times) ...

Text is first cut into chunks by :func:`pretokenize`: a run of letters/digits or a run of
punctuation, with ``"▁"`` (U+2581, as in SentencePiece) marking a chunk that follows white
space, so that decoding can put the spaces back. Merges never cross chunk boundaries.

**Tie-break rule.** When several pairs have the same count, the pair whose two symbols
entered the vocabulary first wins: symbols are numbered in order of appearance (the alphabet
sorted by code point, then each new merged symbol), and the pair with the smallest
``(id(left), id(right))`` is merged. This is the rule of HuggingFace ``tokenizers``'
``BpeTrainer``, so with the same words both learn the same merges
(:func:`library_bpe_merges`, checked in ``tests/test_bpe.py`` and chapter 03).

Example:
    >>> bpe = train_bpe({"▁low": 5, "▁lower": 2, "▁newest": 6, "▁widest": 3}, 5)
    >>> bpe.merges[:3]
    [('e', 's'), ('es', 't'), ('l', 'o')]
    >>> bpe.tokenize("lowest newer")
    ['▁low', 'est', '▁', 'n', 'e', 'w', 'e', 'r']
    >>> bpe.decode(bpe.encode("lowest newer"))
    'lowest newer'
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from lmcourse.text import SPECIAL_TOKENS, UNK_TOKEN

WORD_START = "\u2581"  # "▁": this chunk followed white space (or started the text)
_CHUNK = re.compile(r"(\s*)(\w+|[^\w\s]+)")

Pair = tuple[str, str]


def pretokenize(text: str, *, lowercase: bool = False) -> list[str]:
    """Cut text into the chunks BPE works inside: words and punctuation runs.

    A chunk that follows white space (or starts the text) begins with ``"▁"``; white space
    itself is dropped, so ``decode`` restores the text with single spaces.

    Raises:
        TypeError: ``text`` is not a str.

    Example:
        >>> pretokenize("Ay, marry, is't.")
        ['▁Ay', ',', '▁marry', ',', '▁is', "'", 't', '.']
    """
    if not isinstance(text, str):
        raise TypeError(f"pretokenize expects a str, got {type(text).__name__}")
    if lowercase:
        text = text.lower()
    return [
        (WORD_START if space or m.start() == 0 else "") + piece
        for m in _CHUNK.finditer(text)
        for space, piece in [m.groups()]
    ]


def word_counts(texts: str | Iterable[str], *, lowercase: bool = False) -> Counter[str]:
    """How often each chunk (see :func:`pretokenize`) occurs in a text or in several texts.

    Raises:
        ValueError: the texts hold no chunk at all (empty or only white space).
    """
    counts: Counter[str] = Counter()
    for text in [texts] if isinstance(texts, str) else texts:
        counts.update(pretokenize(text, lowercase=lowercase))
    if not counts:
        raise ValueError(
            "BPE needs text to learn from, but the text is empty: pass a non-empty text"
        )
    return counts


def merge_symbols(symbols: Sequence[str], pair: Pair, new: str | None = None) -> list[str]:
    """Replace every occurrence of ``pair`` in ``symbols`` by one symbol, left to right.

    Example:
        >>> merge_symbols(["a", "a", "a", "b"], ("a", "a"))
        ['aa', 'a', 'b']
    """
    a, b = pair
    new = a + b if new is None else new
    out: list[str] = []
    i, n = 0, len(symbols)
    while i < n:
        if i < n - 1 and symbols[i] == a and symbols[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def _has_pair(symbols: Sequence[str], pair: Pair) -> bool:
    a, b = pair
    return any(x == a and y == b for x, y in zip(symbols, symbols[1:], strict=False))


def train_bpe(
    words: Mapping[str, int] | str,
    num_merges: int,
    *,
    min_frequency: int = 2,
    lowercase: bool = False,
    specials: Sequence[str] = SPECIAL_TOKENS,
) -> BPETokenizer:
    """Learn up to ``num_merges`` BPE merges.

    Args:
        words: ``{chunk: count}`` (e.g. from :func:`word_counts`), or a text to count.
        num_merges: how many merges to learn at most.
        min_frequency: stop when the most frequent pair occurs fewer times than this.
        lowercase: lower-case a text before counting (ignored for a ``{chunk: count}``).
        specials: special tokens put first in the vocabulary (``[UNK]`` encodes unknown
            characters; pass ``()`` for none).

    Returns:
        A :class:`BPETokenizer` with the merges in the order learned.

    The loop is the textbook one - count pairs, merge the most frequent, repeat - made fast
    by bookkeeping: ``pair_count`` holds the current count of every pair, ``where`` the words
    it occurs in, and after a merge only those words are recounted. A heap finds the most
    frequent pair; entries whose count has since changed are skipped when popped.
    """
    if isinstance(words, str):
        words = word_counts(words, lowercase=lowercase)
    if not words:
        raise ValueError(
            "BPE needs text to learn from, but the word counts are empty: pass a non-empty text"
        )
    if num_merges < 0:
        raise ValueError(f"num_merges must be >= 0, got {num_merges}")
    types = list(words)
    counts = [int(words[w]) for w in types]
    alphabet = sorted({c for w in types for c in w})
    symbol_id = {c: i for i, c in enumerate(alphabet)}  # tie-break: who entered first
    segs = [list(w) for w in types]
    pair_count, where = _count_pairs(segs, counts)

    def entry(pair: Pair) -> tuple[int, int, int, str, str]:
        return (-pair_count[pair], symbol_id[pair[0]], symbol_id[pair[1]], *pair)

    heap = [entry(p) for p in pair_count]
    heapq.heapify(heap)
    merges: list[Pair] = []
    while len(merges) < num_merges and heap:
        neg, _, _, a, b = heapq.heappop(heap)
        pair = (a, b)
        if pair_count.get(pair, 0) != -neg:
            continue  # stale: this pair's count changed after the entry was pushed
        if -neg < min_frequency:
            break
        symbol_id.setdefault(a + b, len(symbol_id))
        merges.append(pair)
        for p in _merge_everywhere(pair, segs, counts, pair_count, where):
            if pair_count[p] > 0:
                heapq.heappush(heap, entry(p))
            else:
                del pair_count[p]
    return BPETokenizer(alphabet, merges, specials=specials)


def _count_pairs(
    segs: list[list[str]], counts: list[int]
) -> tuple[Counter[Pair], defaultdict[Pair, set[int]]]:
    """Every adjacent pair's count (each word weighted by its count) and the words it is in."""
    pair_count: Counter[Pair] = Counter()
    where: defaultdict[Pair, set[int]] = defaultdict(set)
    for i, seg in enumerate(segs):
        for pair in zip(seg, seg[1:], strict=False):
            pair_count[pair] += counts[i]
            where[pair].add(i)
    return pair_count, where


def _merge_everywhere(
    pair: Pair,
    segs: list[list[str]],
    counts: list[int],
    pair_count: Counter[Pair],
    where: defaultdict[Pair, set[int]],
) -> set[Pair]:
    """Merge ``pair`` in every word that has it, in place, and recount only those words.

    Each such word's pairs are taken out of ``pair_count`` and the merged word's put back in
    (``where`` learns the new pairs' words). Returns the pairs whose count may have changed.
    """
    new = pair[0] + pair[1]
    touched: set[Pair] = set()
    for i in where.pop(pair):
        seg = segs[i]
        if not _has_pair(seg, pair):
            continue
        for p in zip(seg, seg[1:], strict=False):  # take this word's pairs out ...
            pair_count[p] -= counts[i]
            touched.add(p)
        seg = segs[i] = merge_symbols(seg, pair, new)
        for p in zip(seg, seg[1:], strict=False):  # ... and put the merged word's back in
            pair_count[p] += counts[i]
            where[p].add(i)
            touched.add(p)
    return touched


class BPETokenizer:
    """A learned BPE: the alphabet and the merges, in order; text <-> tokens <-> ids.

    The vocabulary is ``specials + alphabet + merged symbols`` (each once, in the order they
    were made). Encoding a chunk applies the merges by rank - the earliest-learned merge
    present first, as GPT-2 and HuggingFace ``tokenizers`` do. A character outside the
    alphabet becomes ``[UNK]``.

    Args:
        alphabet: the single characters, in id order.
        merges: the merges ``(left, right)``, in the order learned.
        specials: special tokens, put first (must include ``[UNK]`` to encode unknown
            characters).
    """

    def __init__(
        self,
        alphabet: Sequence[str],
        merges: Sequence[Pair],
        *,
        specials: Sequence[str] = SPECIAL_TOKENS,
    ) -> None:
        self.alphabet = list(alphabet)
        self.merges = [tuple(m) for m in merges]
        self.specials = tuple(specials)
        self.ranks = {pair: r for r, pair in enumerate(self.merges)}
        vocab = list(self.specials) + self.alphabet + [a + b for a, b in self.merges]
        self.vocabulary = list(dict.fromkeys(vocab))  # a merge may remake an existing string
        self._id = {t: i for i, t in enumerate(self.vocabulary)}
        self._cache: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self.vocabulary)

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocabulary={len(self)}, alphabet={len(self.alphabet)}, "
            f"merges={len(self.merges)})"
        )

    def with_merges(self, n: int) -> BPETokenizer:
        """The tokenizer made of the first ``n`` merges (BPE vocabularies are nested)."""
        return BPETokenizer(self.alphabet, self.merges[:n], specials=self.specials)

    def tokenize_chunk(self, chunk: str) -> list[str]:
        """One chunk -> its BPE tokens (cached)."""
        if chunk in self._cache:
            return self._cache[chunk]
        symbols = list(chunk)
        while len(symbols) > 1:
            ranked = [(self.ranks.get(p, -1), p) for p in zip(symbols, symbols[1:], strict=False)]
            ranked = [(r, p) for r, p in ranked if r >= 0]
            if not ranked:
                break
            symbols = merge_symbols(symbols, min(ranked)[1])
        self._cache[chunk] = symbols
        return symbols

    def tokenize(self, text: str, *, lowercase: bool = False) -> list[str]:
        """Text -> BPE token strings.

        Raises:
            ValueError: the text is empty or only white space.
        """
        chunks = pretokenize(text, lowercase=lowercase)
        if not chunks:
            raise ValueError(
                "BPETokenizer got an empty text: pass at least one non-space character"
            )
        return [tok for chunk in chunks for tok in self.tokenize_chunk(chunk)]

    def encode(self, text: str, *, lowercase: bool = False) -> np.ndarray:
        """Text -> ids, int64 of shape ``(n,)``; unknown characters -> the ``[UNK]`` id.

        Raises:
            ValueError: empty text, or an unknown character and no ``[UNK]`` in the specials.
        """
        unk = self._id.get(UNK_TOKEN)
        ids = []
        for tok in self.tokenize(text, lowercase=lowercase):
            i = self._id.get(tok, unk)
            if i is None:
                raise ValueError(
                    f"character {tok!r} is not in the BPE alphabet and the vocabulary has no "
                    f"{UNK_TOKEN}: train with specials including {UNK_TOKEN}"
                )
            ids.append(i)
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text: tokens joined, each ``"▁"`` back to a space."""
        text = "".join(self.vocabulary[int(i)] for i in ids).replace(WORD_START, " ")
        return text[1:] if text.startswith(" ") else text

    def token_to_id(self, token: str) -> int:
        return self._id[token]

    def id_to_token(self, i: int) -> str:
        return self.vocabulary[int(i)]


def library_bpe_merges(
    words: Mapping[str, int], num_merges: int, *, min_frequency: int = 2
) -> list[Pair]:
    """The merges HuggingFace ``tokenizers``' ``BpeTrainer`` learns from the same word counts.

    Configured to do exactly what :func:`train_bpe` does: no normalizer, the chunks given
    (split on white space only, and they contain none), no special tokens, no alphabet limit,
    no continuing-subword prefix or end-of-word suffix, the same ``min_frequency``.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    alphabet = {c for w in words for c in w}
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(
        vocab_size=len(alphabet) + num_merges,
        min_frequency=min_frequency,
        show_progress=False,
        special_tokens=[],
    )

    def texts():
        for word, count in words.items():
            for start in range(0, count, 1000):
                yield " ".join([word] * min(1000, count - start))

    tokenizer.train_from_iterator(texts(), trainer=trainer)
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]
    return merges[:num_merges]  # a merge that remakes an existing string adds no token
