"""Chapter 03's checks can fail: a typical wrong answer to each is reported as wrong, with a
message that says what is wrong."""

import functools
from collections import Counter

import numpy as np

from lmcourse import exercises
from solutions import ch03 as solution

# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "03")


def test_char_vocab_with_ties_in_alphabetical_order_is_wrong():
    def alphabetical_ties(text):
        counts = Counter(text)
        return ["[PAD]", "[UNK]"] + sorted(counts, key=lambda c: (-counts[c], c))

    o = outcome("char_vocab", alphabetical_ties)
    assert o.status == exercises.WRONG
    assert "char_vocab(" in o.message and "expected" in o.message


def test_unknown_characters_sent_to_the_padding_id_are_wrong():
    def unk_is_pad(tokens, text):
        ids = {t: i for i, t in enumerate(tokens)}
        return np.array([ids.get(c, 0) for c in text])

    o = outcome("encode_chars", unk_is_pad)
    assert o.status == exercises.WRONG
    assert "'To be? Aye!'" in o.message


def test_bpe_step_that_ignores_word_counts_is_wrong():
    def unweighted(words, order):  # counts each pair once per word, not once per occurrence
        pairs = Counter(p for w in words for p in zip(w, w[1:], strict=False))
        best = min(pairs, key=lambda p: (-pairs[p], order[p[0]], order[p[1]]))
        return best, solution.bpe_merge_step(words, order)[1]

    o = outcome("bpe_merge_step", unweighted)
    assert o.status == exercises.WRONG
    assert o.message.startswith("merge 2 on")
    assert "you merged ('l', 'o') (count 7), train_bpe merges ('es', 't') (count 9)" in o.message


def test_bpe_step_that_breaks_ties_by_spelling_is_wrong():
    def by_spelling(words, order):
        return solution.bpe_merge_step(words, {s: s for s in order})  # compares the strings

    o = outcome("bpe_merge_step", by_spelling)
    assert o.status == exercises.WRONG
    assert "you merged" in o.message


def test_mask_one_position_too_long_is_wrong():
    def off_by_one(sequences, pad_id):
        ids, mask = solution.pad_and_mask(sequences, pad_id)
        for b, s in enumerate(sequences):
            mask[b, : len(s) + 1] = True
        return ids, mask

    o = outcome("pad_and_mask", off_by_one)
    assert o.status == exercises.WRONG
    assert o.message.startswith("the mask, pad_id=0 gave")


def test_padding_at_the_front_is_wrong():
    def front(sequences, pad_id):
        ids, mask = solution.pad_and_mask([s[::-1] for s in sequences], pad_id)
        return ids[:, ::-1], mask[:, ::-1]

    o = outcome("pad_and_mask", front)
    assert o.status == exercises.WRONG
    assert o.message.startswith("the ids, pad_id=0 gave")


def test_oov_rate_over_distinct_tokens_is_wrong():
    def by_type(train, val, size):
        known = {t for t, _ in Counter(train).most_common(size - 1)}
        return sum(t not in known for t in set(val)) / len(set(val))

    o = outcome("oov_rate", by_type)
    assert o.status == exercises.WRONG
    assert "oov_rate(train, val, size=2) gave" in o.message


def test_oov_rate_without_a_slot_for_unk_is_wrong():
    def no_unk_slot(train, val, size):
        known = {t for t, _ in Counter(train).most_common(size)}
        return sum(t not in known for t in val) / len(val)

    o = outcome("oov_rate", no_unk_slot)
    assert o.status == exercises.WRONG
