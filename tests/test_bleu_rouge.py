"""BLEU and ROUGE against their reference implementations (sacrebleu, rouge-score), and their
errors for input of the wrong shape."""

import numpy as np
import pytest
import sacrebleu

from lmcourse import bleu, rouge, translation_data


@pytest.fixture(scope="module")
def word_by_word():
    pairs = translation_data.sentence_pairs("validation")[:400]
    hyps = translation_data.word_by_word_all(
        [p.german for p in pairs], translation_data.word_dictionary()
    )
    return hyps, [[p.english] for p in pairs]


def test_corpus_bleu_equals_sacrebleu_on_real_translations(word_by_word):
    hyps, refs = word_by_word
    want = sacrebleu.corpus_bleu(hyps, [[r[0] for r in refs]])
    got = bleu.corpus_bleu(hyps, refs, tokenize=bleu.sacrebleu_tokenizer("13a"))
    assert abs(got.score - want.score) < 1e-6
    assert got.brevity_penalty == pytest.approx(want.bp) and (got.hyp_len, got.ref_len) == (
        want.sys_len,
        want.ref_len,
    )
    score, signature = bleu.sacrebleu_score(hyps, refs)
    assert score == pytest.approx(want.score, abs=1e-9) and "tok:13a" in signature


@pytest.mark.parametrize(
    ("hyps", "refs"),
    [
        (["the cat sat on mat"], [["the cat sat on the mat", "a cat sat"]]),  # closest: 6, not 3
        (["a a a a a a"], [["a cat"]]),  # clipping; higher orders zero (exp smoothing)
        (["the cat"], [["the cat sat on the mat"]]),  # brevity penalty, no 3- or 4-grams
        (["completely different words here"], [["nothing in common at all"]]),
    ],
)
def test_edge_cases_equal_sacrebleu(hyps, refs):
    streams = [list(s) for s in zip(*refs, strict=True)]
    want = sacrebleu.corpus_bleu(hyps, streams, tokenize="none").score
    assert bleu.corpus_bleu(hyps, refs).score == pytest.approx(want, abs=1e-9)


def test_statistics_sum_to_the_corpus_score(word_by_word):
    hyps, refs = word_by_word
    stats = bleu.statistics(hyps, refs)
    assert stats.shape == (len(hyps), 10)
    assert bleu.score_statistics(stats.sum(0)).score == pytest.approx(
        bleu.corpus_bleu(hyps, refs).score
    )


@pytest.mark.parametrize(
    ("hyps", "refs", "says"),
    [
        ([], [], "non-empty list of strings"),
        ("one string", [["ref"]], "non-empty list of strings"),
        (["a", "b"], [["a"]], "2 hypotheses but 1 reference lists"),
        (["a b"], ["a b"], "references[0] is 'a b'"),
        (["a b"], [[]], "references[0] is []"),
    ],
)
def test_bad_input_gets_one_clear_error(hyps, refs, says):
    with pytest.raises(ValueError, match=None) as err:
        bleu.corpus_bleu(hyps, refs)
    assert says in str(err.value)


def test_unknown_tokenizer_and_smoothing_are_refused():
    with pytest.raises(ValueError, match="tokenizer 'nope' unknown"):
        bleu.sacrebleu_tokenizer("nope")
    with pytest.raises(ValueError, match="smooth='floor'"):
        bleu.score_statistics(np.ones(10), smooth="floor")


def test_sacrebleu_needs_as_many_references_for_each_hypothesis():
    with pytest.raises(ValueError, match="same number of references"):
        bleu.sacrebleu_score(["a", "b"], [["a"], ["b", "c"]])


def test_rouge_scores_are_rouge_score_and_lcs_is_right(word_by_word):
    from rouge_score import rouge_scorer

    hyps, refs = word_by_word
    flat = [r[0] for r in refs]
    got = rouge.rouge_scores(hyps, flat)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    want = [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hyps, flat, strict=True)]
    assert np.allclose(got["rougeL"], want) and got["rouge2"].mean() < got["rouge1"].mean()
    assert rouge.lcs_length("a b c d e".split(), "x a c y e".split()) == 3
    assert rouge.lcs_length([], "a".split()) == 0


@pytest.mark.parametrize(
    ("hyps", "refs", "types", "says"),
    [
        ([], [], ("rougeL",), "non-empty list"),
        (["a"], ["a", "b"], ("rougeL",), "1 hypotheses but 2 references"),
        (["a"], [["a"]], ("rougeL",), "references[0] is not a string"),
        (["a"], ["a"], ("bleu",), "ROUGE types"),
    ],
)
def test_rouge_bad_input(hyps, refs, types, says):
    with pytest.raises(ValueError) as err:
        rouge.rouge_scores(hyps, refs, types)
    assert says in str(err.value)
