"""Chapter 01's checks can fail: a typical wrong answer to each is reported as wrong, with a
message that says what is wrong."""

import functools

import numpy as np

from lmcourse import exercises
from solutions import ch01 as solution

# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "01")


def test_chain_rule_with_the_bigram_matrix_transposed_is_wrong():
    def transposed(p_first, p_next, ids):  # p_next[w_t, w_{t-1}] instead of p_next[w_{t-1}, w_t]
        return float(np.log(p_first[ids[0]]) + np.log(p_next[ids[1:], ids[:-1]]).sum())

    o = outcome("sentence_log_prob", transposed)
    assert o.status == exercises.WRONG
    assert "sentence_log_prob(p_first, p_next, [3, 0, 0, 4, 1, 2]) gave" in o.message


def test_chain_rule_that_forgets_the_first_token_is_wrong():
    o = outcome("sentence_log_prob", lambda p1, p, ids: float(np.log(p[ids[:-1], ids[1:]]).sum()))
    assert o.status == exercises.WRONG


def test_add_k_with_k_instead_of_k_times_V_in_the_denominator_is_wrong():
    def add_k_once(ids, V, k):
        c = solution.bigram_counts(np.asarray(ids), V)
        return (c + k) / (c.sum(axis=1, keepdims=True) + k)

    o = outcome("add_k_bigram", add_k_once)
    assert o.status == exercises.WRONG
    assert "c(h) + k|V|" in o.message


def test_add_k_that_counts_pairs_with_fancy_index_plus_equals_is_wrong():
    def lost_repeats(ids, V, k):  # counts[h, w] += 1 with repeated (h, w) adds 1 only once
        c = np.zeros((V, V))
        c[ids[:-1], ids[1:]] += 1
        return (c + k) / (c.sum(axis=1, keepdims=True) + k * V)

    o = outcome("add_k_bigram", lost_repeats)
    assert o.status == exercises.WRONG
    assert "differs most at index" in o.message


def test_interpolation_that_does_not_skip_unseen_histories_is_wrong():
    def no_skip(ids, V, lambda1, lambda2):
        ids = np.asarray(ids)
        p1 = lambda1 * np.bincount(ids, minlength=V) / ids.size + (1 - lambda1) / V
        c = solution.bigram_counts(ids, V)
        return lambda2 * c / np.maximum(c.sum(axis=1, keepdims=True), 1) + (1 - lambda2) * p1

    o = outcome("interpolated_bigram", no_skip)
    assert o.status == exercises.WRONG
    assert "never occurs" in o.message and "c(h) = 0" in o.message


def test_perplexity_of_the_summed_not_averaged_surprise_is_wrong():
    o = outcome("perplexity_from_log_probs", lambda lp: float(np.exp(-np.sum(lp))))
    assert o.status == exercises.WRONG
    assert "perplexity_from_log_probs(25 log-probabilities) gave" in o.message


def test_perplexity_in_base_2_of_natural_logs_is_wrong():
    o = outcome("perplexity_from_log_probs", lambda lp: float(2 ** (-np.mean(lp))))
    assert o.status == exercises.WRONG
