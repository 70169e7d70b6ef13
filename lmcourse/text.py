"""Text to tokens to ids: a word tokenizer and a vocabulary.

Chapter 01 needs only the basics: :func:`word_tokenize` splits text into lower-case words and
punctuation marks (line breaks become ``"\\n"`` tokens, because a line of verse is a unit of
Shakespeare's text), and :class:`Vocabulary` maps tokens to integer ids, sending words it
does not know to ``<unk>``. Later chapters add character and subword tokenizers here.

Example:
    >>> tokens = word_tokenize("To be, or not to be:\\nthat is the question.")
    >>> tokens[:6]
    ['to', 'be', ',', 'or', 'not', 'to']
    >>> vocab = Vocabulary.from_tokens(tokens, min_count=2)
    >>> vocab.decode(vocab.encode(["to", "be", "hamlet"]))
    ['to', 'be', '<unk>']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

UNK = "<unk>"
NEWLINE = "\n"

# A word: letters/digits with inner apostrophes (o'er) and elisions at either end ('tis, th');
# a run of dashes; or any other single non-space character (punctuation). Text is lower-cased.
_TOKEN = re.compile(r"\n|'?[a-z0-9]+(?:'[a-z0-9]+)*'?|-+|[^\sa-z0-9]")
_BLANK_LINES = re.compile(r"[ \t\r\f\v]*\n(?:[ \t\r\f\v]*\n)+")
_NO_SPACE_BEFORE = set(".,;:!?)]}-\n")
_NO_SPACE_AFTER = set("([{-\n")


def word_tokenize(text: str, *, newlines: bool = True) -> list[str]:
    """Split text into lower-case words and punctuation marks.

    Args:
        text: any text.
        newlines: if True, a line break is the token ``"\\n"`` and a run of blank lines is kept
            as one blank line (two ``"\\n"``); if False, line breaks are plain white space.

    Returns:
        The tokens, in order. ``"don't"`` and ``"'tis"`` stay one word; ``"--"`` is one token.

    Raises:
        ValueError: the text has no tokens (empty or only white space).

    Example:
        >>> word_tokenize("O Romeo, Romeo!\\n\\n\\nWherefore art thou")
        ['o', 'romeo', ',', 'romeo', '!', '\\n', '\\n', 'wherefore', 'art', 'thou']
    """
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize expects a str, got {type(text).__name__}")
    text = _BLANK_LINES.sub("\n\n", text.lower())
    if not newlines:
        text = text.replace("\n", " ")
    tokens = _TOKEN.findall(text)
    if not any(t != NEWLINE for t in tokens):
        raise ValueError("word_tokenize got a text with no words: pass a non-empty text")
    return tokens


def detokenize(tokens: Iterable[str]) -> str:
    """Join word tokens back into readable text (the inverse of :func:`word_tokenize`, up to
    case and spacing): no space before punctuation, ``"\\n"`` tokens become line breaks."""
    out: list[str] = []
    prev = NEWLINE
    for tok in tokens:
        if out and prev not in _NO_SPACE_AFTER and tok not in _NO_SPACE_BEFORE:
            out.append(" ")
        out.append(tok)
        prev = tok
    return "".join(out)


class Vocabulary:
    """A two-way map between tokens and integer ids ``0 .. len(vocab) - 1``.

    Special tokens come first (``<unk>`` is id 0 by default), then the regular tokens in the
    order given (:meth:`from_tokens` orders them by descending count). Any hashable token
    works: words, characters, or ids of another vocabulary.

    Args:
        tokens: the regular tokens, each once.
        specials: special tokens put before the regular ones; must include ``unk`` if ``unk``
            is not None.
        unk: the token that unknown tokens encode to, or None to make unknown tokens an error.

    Raises:
        ValueError: no tokens at all, a duplicate token, or ``unk`` missing from ``specials``.
    """

    def __init__(
        self,
        tokens: Iterable[Hashable],
        *,
        specials: Sequence[Hashable] = (UNK,),
        unk: Hashable | None = UNK,
    ) -> None:
        special_set = set(specials)
        itos = list(specials) + [t for t in tokens if t not in special_set]
        if not itos:
            raise ValueError("a Vocabulary needs at least one token: the token list is empty")
        if unk is not None and unk not in specials:
            raise ValueError(f"unk={unk!r} must be one of the special tokens {list(specials)}")
        self._itos = itos
        self._stoi = {t: i for i, t in enumerate(itos)}
        if len(self._stoi) != len(itos):
            dup = next(t for t, c in Counter(itos).items() if c > 1)
            raise ValueError(f"token {dup!r} appears twice in the vocabulary")
        self.specials = tuple(specials)
        self.unk = unk
        self.unk_id: int | None = None if unk is None else self._stoi[unk]
        # Training counts of each token when built by from_tokens (else None).
        self.counts: dict[Hashable, int] | None = None

    @classmethod
    def from_tokens(
        cls,
        tokens: Iterable[Hashable],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        specials: Sequence[Hashable] = (UNK,),
        unk: Hashable | None = UNK,
    ) -> Vocabulary:
        """Build a vocabulary from training tokens: those seen at least ``min_count`` times.

        Args:
            tokens: the training tokens (e.g. the output of :func:`word_tokenize`).
            min_count: tokens seen fewer times become ``<unk>`` (1 keeps every token).
            max_size: keep at most this many tokens in all (specials included), the most
                frequent first; None for no limit.
            specials: special tokens, put first.
            unk: the token unknown tokens map to.

        Returns:
            A Vocabulary ordered by descending count (ties: first seen first).

        Raises:
            ValueError: empty ``tokens``, ``min_count < 1``, or no token reaches ``min_count``.
        """
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be an int >= 1, got {min_count!r}")
        counts = Counter(tokens)
        if not counts:
            raise ValueError("cannot build a Vocabulary from an empty token list")
        kept = [t for t, c in counts.most_common() if c >= min_count and t not in specials]
        if not kept:
            raise ValueError(
                f"no token occurs {min_count} or more times in {sum(counts.values())} tokens: "
                "lower min_count or pass more text"
            )
        if max_size is not None:
            if max_size <= len(specials):
                raise ValueError(f"max_size={max_size} leaves no room beside the specials")
            kept = kept[: max_size - len(specials)]
        vocab = cls(kept, specials=specials, unk=unk)
        vocab.counts = {t: counts.get(t, 0) for t in vocab._itos}
        return vocab

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: Hashable) -> bool:
        return token in self._stoi

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self._itos[:8])
        more = ", ..." if len(self) > 8 else ""
        return f"Vocabulary(size={len(self)}, tokens=[{head}{more}])"

    @property
    def tokens(self) -> list[Hashable]:
        """All tokens in id order (a copy)."""
        return list(self._itos)

    def token_to_id(self, token: Hashable) -> int:
        """The id of ``token``; an unknown token gives the ``<unk>`` id.

        Raises:
            KeyError: unknown token and the vocabulary has no ``unk``.
        """
        i = self._stoi.get(token, self.unk_id)
        if i is None:
            raise KeyError(f"token {token!r} is not in the vocabulary (which has no unk token)")
        return i

    def id_to_token(self, i: int) -> Hashable:
        """The token with id ``i``.

        Raises:
            IndexError: ``i`` is not in ``0 .. len(self) - 1``.
        """
        if not 0 <= int(i) < len(self._itos):
            raise IndexError(f"id {i} is out of range for a vocabulary of size {len(self)}")
        return self._itos[int(i)]

    def encode(self, tokens: Iterable[Hashable]) -> np.ndarray:
        """Tokens -> ids, shape ``(n,)``, dtype int64; unknown tokens become the ``<unk>`` id.

        Raises:
            KeyError: an unknown token and the vocabulary has no ``unk``.
        """
        if self.unk_id is None:
            ids = [self.token_to_id(t) for t in tokens]
        else:
            get, unk = self._stoi.get, self.unk_id
            ids = [get(t, unk) for t in tokens]
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[Hashable]:
        """Ids (any integer iterable or array of shape ``(n,)``) -> tokens."""
        return [self.id_to_token(i) for i in ids]
