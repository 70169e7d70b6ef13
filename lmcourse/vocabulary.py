"""A two-way map between tokens and integer ids: :class:`Vocabulary`.

Special tokens come first (:data:`UNK`, ``<unk>``, is id 0 by default), then the regular
tokens by descending training count (:meth:`Vocabulary.from_tokens`). Any hashable token
works: words (chapter 01), characters (chapter 04's :class:`lmcourse.text.CharTokenizer`),
or ids of another vocabulary. Encoding gives ``(n,)`` int64 id arrays.

Example:
    >>> vocab = Vocabulary.from_tokens("to be or not to be".split(), min_count=2)
    >>> vocab.tokens
    ['<unk>', 'to', 'be']
    >>> vocab.encode(["to", "be", "hamlet"]).tolist()
    [1, 2, 0]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

UNK = "<unk>"  # the unknown word of chapter 01's n-gram vocabularies (Vocabulary's default)


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
            tokens: the training tokens (e.g. the output of
                :func:`lmcourse.words.word_tokenize`).
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
