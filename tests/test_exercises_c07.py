"""Chapter 07's checks catch the usual mistakes, each with a message that says what to fix."""

import functools
import runpy

import numpy as np

from lmcourse import exercises

SOLUTIONS = runpy.run_path(str(exercises.answers_file("07", "solutions")))


# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "07")


def test_choosing_each_token_with_probability_rate_is_wrong():
    def independent(token_ids, special, scores, u, random_ids, mask_id, rate=0.15):
        chosen = ~special & (scores < rate)  # about 15%, but not ceil(0.15 n) per row
        new = np.where(u < 0.8, mask_id, np.where(u < 0.9, random_ids, token_ids))
        return np.where(chosen, new, token_ids), np.where(chosen, token_ids, 0), chosen * 1.0

    o = outcome("07.1", independent)
    assert o.status == exercises.WRONG
    assert "smallest scores" in o.message and "ceil(0.15 * n)" in o.message


def test_masking_every_chosen_token_is_wrong():
    def all_mask(token_ids, special, scores, u, random_ids, mask_id, rate=0.15):
        inputs, labels, weights = SOLUTIONS["mask_for_mlm"](
            token_ids, special, scores, np.zeros_like(u), random_ids, mask_id, rate
        )
        return inputs, labels, weights

    o = outcome("07.1", all_mask)
    assert o.status == exercises.WRONG
    assert "u < 0.8 -> [MASK], u < 0.9 -> random_ids" in o.message


def test_the_first_sep_in_segment_one_is_wrong():
    def sep_in_b(a, b=None, *, seq_len, cls_id, sep_id, pad_id=0):
        ids, segments, mask = SOLUTIONS["pack_pair"](
            a, b, seq_len=seq_len, cls_id=cls_id, sep_id=sep_id, pad_id=pad_id
        )
        if b is not None:
            segments[int(np.argmax(ids == sep_id))] = 1
        return ids, segments, mask

    o = outcome("07.2", sep_in_b)
    assert o.status == exercises.WRONG and "segment_ids gave" in o.message


def test_averaging_over_all_slots_is_wrong():
    def all_slots(logits, targets, weights):
        z = logits - logits.max(axis=-1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        nll = -np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
        return float((weights * nll).mean())  # divides by N * P, not by sum(weights)

    o = outcome("07.3", all_slots)
    assert o.status == exercises.WRONG and "masked_lm_loss(logits (4, 6, 11)" in o.message


def test_a_naive_softmax_overflows_and_says_so():
    def naive(logits, targets, weights):
        p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        nll = -np.log(np.take_along_axis(p, targets[..., None], axis=-1)[..., 0])
        return float((weights * nll).sum() / weights.sum())

    with np.errstate(all="ignore"):
        o = outcome("07.3", naive)
    assert o.status == exercises.WRONG and "max(z)" in o.message
