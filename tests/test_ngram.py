"""lmcourse.models.ngram and lmcourse.metrics: n-gram models, smoothing, perplexity."""

import math

import numpy as np
import pytest

from lmcourse import data, metrics
from lmcourse.models.language_model import UniformLM
from lmcourse.models.ngram import NGramLM
from lmcourse.vocabulary import Vocabulary
from lmcourse.words import word_tokenize

TINY = "the cat sat on the mat the cat ran".split()


@pytest.fixture(scope="module")
def tiny_vocab():
    return Vocabulary.from_tokens(TINY)  # <unk> + 6 words


@pytest.fixture(scope="module")
def shakespeare_slice():
    """~100k training words and ~20k held-out words (other plays), min_count 2."""
    train = word_tokenize(data.shakespeare_text("train")[:500_000])
    held_out = word_tokenize(data.shakespeare_text("validation")[:100_000])
    return train, held_out, Vocabulary.from_tokens(train, min_count=2)


def test_mle_bigram_by_hand(tiny_vocab):
    lm = NGramLM(2, tiny_vocab, smoothing="mle").fit(TINY)
    # c(the) = 3 as a context: "the cat", "the mat", "the cat".
    assert lm.prob("cat", ["the"]) == pytest.approx(2 / 3)
    assert lm.prob("mat", ["the"]) == pytest.approx(1 / 3)
    assert lm.prob("sat", ["the"]) == 0.0
    assert lm.prob("sat", ["cat"]) == pytest.approx(1 / 2)
    assert lm.count(["the", "cat"]) == 2 and lm.count(["cat"]) == 2
    assert lm.count(["ran", "the"]) == 0  # "ran" ends the text
    assert lm.counts_by_order == {1: 6, 2: 7}
    # An unseen context backs off to the unigram MLE: c(the) / N = 3 / 9.
    assert lm.prob("the", ["<unk>"]) == pytest.approx(3 / 9)
    # "the sat" never occurred: infinite perplexity, the reason for smoothing.
    assert math.isinf(lm.cross_entropy(["the", "sat"]))


def test_add_k_by_hand(tiny_vocab):
    v = len(tiny_vocab)
    lm = NGramLM(2, tiny_vocab, smoothing="add_k", k=0.5).fit(TINY)
    assert lm.prob("cat", ["the"]) == pytest.approx((2 + 0.5) / (3 + 0.5 * v))
    assert lm.prob("sat", ["the"]) == pytest.approx(0.5 / (3 + 0.5 * v))
    assert lm.prob("cat", ["<unk>"]) == pytest.approx(1 / v)  # unseen context: uniform
    lm.k = 1e9  # a huge pseudo-count drowns the counts: (nearly) uniform
    np.testing.assert_allclose(lm.distribution(["the"]), 1 / v, atol=1e-8)


def test_interpolated_by_hand(tiny_vocab):
    v = len(tiny_vocab)
    lm = NGramLM(2, tiny_vocab, smoothing="interpolated", lambdas=[0.8, 0.5]).fit(TINY)
    unigram_cat = 0.8 * 2 / 9 + 0.2 / v
    assert lm.prob("cat", []) == pytest.approx(unigram_cat)
    assert lm.prob("cat", ["the"]) == pytest.approx(0.5 * 2 / 3 + 0.5 * unigram_cat)
    # An unseen context skips its level: the bigram model falls back to the unigram one.
    assert lm.prob("cat", ["<unk>"]) == pytest.approx(unigram_cat)


@pytest.mark.parametrize("smoothing", ["add_k", "interpolated", "mle"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_distributions_sum_to_one(smoothing, order):
    rng = np.random.default_rng(order)
    train = list(rng.choice(list("abcdef"), size=400, p=[0.35, 0.25, 0.15, 0.1, 0.1, 0.05]))
    vocab = Vocabulary.from_tokens(train, min_count=30)  # rare letters become <unk>
    lm = NGramLM(order, vocab, smoothing=smoothing, k=0.1).fit(train)
    contexts = [[], ["a"], ["a", "b", "a"], ["f", "f", "f"], ["z", "q", "x"], list("abcabc")]
    for ctx in contexts:
        dist = lm.distribution(ctx)
        assert dist.shape == (len(vocab),)
        assert np.all(dist >= 0)
        assert dist.sum() == pytest.approx(1.0, abs=1e-12), (ctx, dist.sum())


@pytest.mark.parametrize("smoothing", ["add_k", "interpolated", "mle"])
def test_log_probs_match_distributions(smoothing):
    rng = np.random.default_rng(1)
    train = list(rng.choice(list("abcde"), size=300))
    test = list(rng.choice(list("abcdefg"), size=60))
    vocab = Vocabulary.from_tokens(train)
    lm = NGramLM(3, vocab, smoothing=smoothing, k=0.3, lambdas=[0.7, 0.4, 0.6]).fit(train)
    ids = vocab.encode(test)
    expected = [lm.distribution(ids[max(0, t - 2) : t])[ids[t]] for t in range(len(ids))]
    np.testing.assert_allclose(np.exp(lm.log_probs(test)), expected, rtol=1e-12)
    with np.errstate(divide="ignore"):  # MLE gives some held-out letters probability 0
        assert lm.cross_entropy(test) == pytest.approx(-np.mean(np.log(expected)))


def test_uniform_perplexity_is_vocab_size(shakespeare_slice):
    _, held_out, vocab = shakespeare_slice
    uniform = UniformLM(vocab)
    assert uniform.cross_entropy(held_out) == pytest.approx(math.log(len(vocab)), rel=1e-12)
    assert uniform.perplexity(held_out) == pytest.approx(len(vocab), rel=1e-12)
    np.testing.assert_allclose(uniform.distribution(["the"]).sum(), 1.0)


def test_interpolated_bigram_beats_unigram_on_held_out_plays(shakespeare_slice):
    train, held_out, vocab = shakespeare_slice
    uni = NGramLM(1, vocab, smoothing="add_k", k=0.01).fit(train)
    bi = NGramLM(2, vocab, smoothing="interpolated").fit(train)
    bi.fit_lambdas(held_out)
    ppl_uni, ppl_bi = uni.perplexity(held_out), bi.perplexity(held_out)
    assert ppl_uni < 0.5 * len(vocab)
    assert ppl_bi < 0.75 * ppl_uni, (ppl_bi, ppl_uni)


def test_fit_lambdas_lowers_held_out_cross_entropy(shakespeare_slice):
    train, held_out, vocab = shakespeare_slice
    lm = NGramLM(3, vocab, lambdas=[0.5, 0.5, 0.95]).fit(train)
    before = lm.cross_entropy(held_out)
    lambdas = lm.fit_lambdas(held_out)
    assert lambdas.shape == (3,) and np.all((lambdas > 0) & (lambdas < 1))
    assert lm.cross_entropy(held_out) < before - 0.05
    # EM should land where a small grid search around it finds nothing better.
    best = lm.cross_entropy(held_out)
    for m in range(3):
        for delta in (-0.1, 0.1):
            trial = lambdas.copy()
            trial[m] = np.clip(trial[m] + delta, 0, 1)
            lm.lambdas = trial
            assert lm.cross_entropy(held_out) >= best - 1e-9


def test_character_model_learns_spelling():
    text = data.shakespeare_text("train")[:300_000]
    held_out = data.shakespeare_text("validation")[:50_000]
    vocab = Vocabulary.from_tokens(text)
    lm1 = NGramLM(1, vocab).fit(text)
    lm5 = NGramLM(5, vocab).fit(text)
    lm5.fit_lambdas(held_out)
    nats1, nats5 = lm1.cross_entropy(held_out), lm5.cross_entropy(held_out)
    assert nats5 < 2.2 < nats1, (nats5, nats1)


def test_sample_follows_the_counts():
    tokens = list("abcabcabc")
    vocab = Vocabulary.from_tokens(tokens)
    lm = NGramLM(2, vocab, smoothing="mle").fit(tokens)
    assert "".join(lm.sample(7, rng=0, context=["a"])) == "bcabcab"
    words = NGramLM(2, Vocabulary.from_tokens(TINY)).fit(TINY)
    first, second = words.sample(20, rng=3), words.sample(20, rng=3)
    assert first == second and len(first) == 20
    assert set(first) <= set(words.vocab.tokens)


def test_metrics_conversions():
    assert metrics.perplexity(math.log(50.0)) == pytest.approx(50.0)
    assert metrics.bits_per_token(math.log(8.0)) == pytest.approx(3.0)
    assert metrics.nats_from_perplexity(50.0) == pytest.approx(math.log(50.0))
    assert metrics.cross_entropy([0.5, 0.25]) == pytest.approx((math.log(2) + math.log(4)) / 2)
    assert math.isinf(metrics.cross_entropy([0.5, 0.0]))
    np.testing.assert_allclose(metrics.perplexity(np.log([2.0, 3.0])), [2.0, 3.0])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        metrics.cross_entropy([1.5])
    with pytest.raises(ValueError, match="at least one"):
        metrics.cross_entropy([])
    with pytest.raises(ValueError, match=">= 1"):
        metrics.nats_from_perplexity(0.5)


def test_bad_input_raises_clear_errors(tiny_vocab):
    with pytest.raises(ValueError, match="order must be an int >= 1"):
        NGramLM(0, tiny_vocab)
    with pytest.raises(ValueError, match="order must be an int >= 1"):
        NGramLM(2.0, tiny_vocab)
    with pytest.raises(ValueError, match="smoothing='kneser' is unknown"):
        NGramLM(2, tiny_vocab, smoothing="kneser")
    for k in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="k must be a number > 0"):
            NGramLM(2, tiny_vocab, smoothing="add_k", k=k)
    with pytest.raises(ValueError, match="lambdas needs 2 weights"):
        NGramLM(2, tiny_vocab, lambdas=[0.5])
    with pytest.raises(ValueError, match=r"every lambda must be in \[0, 1\]"):
        NGramLM(2, tiny_vocab, lambdas=[0.5, 1.5])
    with pytest.raises(TypeError, match="Vocabulary"):
        NGramLM(2, ["the", "cat"])
    lm = NGramLM(2, tiny_vocab)
    with pytest.raises(RuntimeError, match="not fitted yet"):
        lm.prob("cat", ["the"])
    with pytest.raises(ValueError, match="got no tokens"):
        lm.fit([])
    lm.fit(TINY)
    with pytest.raises(ValueError, match="got no tokens"):
        lm.cross_entropy([])
    with pytest.raises(ValueError, match="token ids must be in"):
        lm.cross_entropy(np.array([0, 99]))
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        lm.sample(-1)
