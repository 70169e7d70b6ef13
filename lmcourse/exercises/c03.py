"""Chapter 03's checked exercises: a character vocabulary, ids with ``[UNK]``, one BPE merge,
padding with a mask, the OOV rate.

Each test builds its own small inputs and compares the learner's answer with
:class:`lmcourse.vocabulary.Vocabulary`, :mod:`lmcourse.bpe` or :func:`lmcourse.text.pad_batch`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from lmcourse import bpe
from lmcourse.exercises.checking import Exercise, Wrong, expect_close, expect_equal
from lmcourse.text import PAD, UNK_TOKEN, pad_batch
from lmcourse.vocabulary import Vocabulary

SAMPLE = "to be, or not to be: that is the question"
SPECIALS = (PAD, UNK_TOKEN)


def _vocab(text: str) -> Vocabulary:
    return Vocabulary.from_tokens(text, specials=SPECIALS, unk=UNK_TOKEN)


def _char_vocab(f) -> None:
    for text in (SAMPLE, "abracadabra", "zyx yz"):
        expect_equal(list(f(text)), _vocab(text).tokens, f"char_vocab({text!r})")


def _encode_chars(f) -> None:
    tokens = _vocab(SAMPLE).tokens
    for text in ("not to be", "To be? Aye!"):
        want = _vocab(SAMPLE).encode(text)
        got = np.asarray(f(tokens, text))
        expect_equal(got.tolist(), want.tolist(), f"encode_chars(char_vocab(SAMPLE), {text!r})")


def _pair_counts(segs: dict[tuple[str, ...], int]) -> Counter[tuple[str, str]]:
    """Each adjacent pair's count, every occurrence weighted by its word's count."""
    count: Counter[tuple[str, str]] = Counter()
    for s, n in segs.items():
        for pair in zip(s, s[1:], strict=False):
            count[pair] += n
    return count


def _merge_steps(f, words: dict[str, int], steps: int) -> None:
    """Run ``f`` ``steps`` times from the characters and compare with ``bpe.train_bpe``."""
    want = bpe.train_bpe(words, steps, min_frequency=1).merges
    segs = {tuple(w): n for w, n in words.items()}
    order = {c: i for i, c in enumerate(sorted({c for w in words for c in w}))}
    for step, pair in enumerate(want, 1):
        got_pair, got_segs = f(dict(segs), dict(order))
        if tuple(got_pair) != pair:
            count = _pair_counts(segs)
            tie = count[tuple(got_pair)] == count[pair]
            raise Wrong(
                f"merge {step} on {words}: you merged {tuple(got_pair)} (count "
                f"{count[tuple(got_pair)]}), train_bpe merges {pair} (count {count[pair]})"
                + (
                    ": a tie, which goes to the pair with the smaller (order[a], order[b])"
                    if tie
                    else ""
                )
            )
        segs = {tuple(bpe.merge_symbols(s, pair)): n for s, n in segs.items()}
        got_segs = {tuple(s): n for s, n in got_segs.items()}
        for s, n in segs.items():
            if got_segs.get(s) != n:
                raise Wrong(
                    f"after merge {step} {pair}, the word {s} (count {n}) is missing from the "
                    f"words you returned, or has count {got_segs.get(s)}"
                )
        if len(got_segs) != len(segs):
            raise Wrong(f"after merge {step} you returned {len(got_segs)} words, not {len(segs)}")
        order.setdefault(pair[0] + pair[1], len(order))


def _bpe_merge_step(f) -> None:
    _merge_steps(f, {"▁low": 5, "▁lower": 2, "▁newest": 6, "▁widest": 3}, 10)
    _merge_steps(f, {"aaab": 3, "ab": 2, "ba": 1}, 3)
    _merge_steps(f, bpe.word_counts(SAMPLE * 3 + " tot tote beat bet"), 12)


def _pad_and_mask(f) -> None:
    rng = np.random.default_rng(3)
    seqs = [rng.integers(1, 50, size=n).tolist() for n in (4, 1, 7, 3)]
    for pad_id in (0, 99):
        want_ids, want_mask = pad_batch(seqs, pad_id=pad_id)
        ids, mask = f(seqs, pad_id)
        expect_equal(np.asarray(ids).tolist(), want_ids.tolist(), f"the ids, pad_id={pad_id}")
        expect_equal(
            np.asarray(mask).astype(bool).tolist(), want_mask.tolist(), f"the mask, pad_id={pad_id}"
        )


def _oov_rate(f) -> None:
    train = "the king the queen the king a fool a king my lord".split()
    val = "the fool and the king and my lady the lord".split()
    for size in (2, 4, 6, 20):
        vocab = Vocabulary.from_tokens(train, max_size=size)
        want = float(np.mean(vocab.encode(val) == vocab.unk_id))
        expect_close(f(train, val, size), want, f"oov_rate(train, val, size={size})")


EXERCISES = (
    Exercise("03.1", "A character vocabulary with special tokens", "char_vocab", _char_vocab),
    Exercise("03.2", "Characters to ids, unknown ones to [UNK]", "encode_chars", _encode_chars),
    Exercise("03.3", "One BPE merge step", "bpe_merge_step", _bpe_merge_step),
    Exercise("03.4", "Padding and the mask", "pad_and_mask", _pad_and_mask),
    Exercise("03.5", "The out-of-vocabulary rate", "oov_rate", _oov_rate),
)
