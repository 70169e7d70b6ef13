"""Sampling (lmcourse.sampling) and generation (lmcourse.generate): exact supports, limits,
reproducibility, errors, and keras-hub agreement."""

import numpy as np
import pytest

from lmcourse import generate as gen
from lmcourse import sampling


@pytest.fixture
def logits():
    return np.random.default_rng(0).normal(scale=2.0, size=(6, 40))


def test_greedy_is_argmax(logits):
    np.testing.assert_array_equal(sampling.sample(logits, greedy=True), np.argmax(logits, axis=-1))
    assert sampling.sample(logits[0], greedy=True).shape == ()


@pytest.mark.parametrize("k", [1, 3, 17, 40, 100])
def test_top_k_keeps_exactly_the_k_most_likely(logits, k):
    probs = sampling.probabilities(logits, top_k=k)
    kept = probs > 0
    assert (kept.sum(axis=-1) == min(k, 40)).all()
    top = np.argsort(-logits, axis=-1)[:, : min(k, 40)]
    assert np.take_along_axis(kept, top, axis=-1).all()
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)
    draws = np.stack([sampling.sample(logits, top_k=k, rng=s) for s in range(200)])
    assert np.take_along_axis(kept, draws.T, axis=-1).all(), "drew a token outside the top k"


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.9, 0.999, 1.0])
def test_top_p_keeps_the_smallest_set_with_mass_at_least_p(logits, p):
    full = sampling.softmax(logits)
    probs = sampling.probabilities(logits, top_p=p)
    for row, kept in zip(full, probs > 0, strict=True):
        mass = row[kept].sum()
        assert mass >= p - 1e-9
        # the kept tokens are the most likely ones, and dropping the least likely of them
        # takes the mass below p: no smaller set reaches p
        assert row[kept].min() >= row[~kept].max(initial=0)
        assert mass - row[kept].min() < p
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)


def test_top_p_on_a_hand_example():
    z = np.log([[0.5, 0.3, 0.15, 0.05]])
    np.testing.assert_allclose(sampling.probabilities(z, top_p=0.8), [[0.625, 0.375, 0, 0]])
    np.testing.assert_allclose(
        sampling.probabilities(z, top_p=0.81), [[0.5, 0.3, 0.15, 0]] / np.float64(0.95)
    )
    np.testing.assert_allclose(sampling.probabilities(z, top_p=0.4), [[1.0, 0, 0, 0]])


def test_temperature_sharpens_and_flattens(logits):
    cold = sampling.probabilities(logits, temperature=1e-3)
    np.testing.assert_allclose(cold, np.eye(40)[np.argmax(logits, axis=-1)], atol=1e-9)
    for seed in range(20):
        np.testing.assert_array_equal(
            sampling.sample(logits, temperature=1e-3, rng=seed), np.argmax(logits, -1)
        )
    hot = sampling.probabilities(logits, temperature=1e4)
    np.testing.assert_allclose(hot, 1 / 40, rtol=2e-3)
    # entropy falls as the temperature falls
    entropy = [
        -(q * np.log(q + 1e-300)).sum()
        for q in (sampling.probabilities(logits[0], temperature=t) for t in (2.0, 1.0, 0.5))
    ]
    assert entropy[0] > entropy[1] > entropy[2]


def test_sampling_follows_the_distribution(logits):
    probs = sampling.probabilities(logits[0], temperature=0.7, top_k=5)
    rng = np.random.default_rng(0)
    draws = np.array(
        [sampling.sample(logits[0], temperature=0.7, top_k=5, rng=rng) for _ in range(4000)]
    )
    freq = np.bincount(draws, minlength=40) / draws.size
    np.testing.assert_allclose(freq, probs, atol=0.03)


def test_seeded_sampling_is_reproducible(logits):
    a = [sampling.sample(logits, temperature=1.3, top_p=0.9, rng=7) for _ in range(3)]
    b = [sampling.sample(logits, temperature=1.3, top_p=0.9, rng=7) for _ in range(3)]
    np.testing.assert_array_equal(a, b)
    assert len({tuple(sampling.sample(logits, rng=s)) for s in range(10)}) > 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0}, "temperature must be a number > 0"),
        ({"temperature": -1.0}, "temperature must be a number > 0"),
        ({"temperature": float("nan")}, "temperature must be a number > 0"),
        ({"top_k": 0}, "top_k must be an int >= 1"),
        ({"top_k": 2.5}, "top_k must be an int >= 1"),
        ({"top_p": 0.0}, r"top_p must be a number in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p must be a number in \(0, 1\]"),
    ],
)
def test_bad_sampling_arguments_raise_clear_errors(logits, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sampling.sample(logits, **kwargs)
    with pytest.raises(ValueError, match=message):
        gen.generate(None, [1], 2, next_logits=lambda ids: logits[:1], **kwargs)


def test_bad_logits_raise():
    with pytest.raises(ValueError, match="shape"):
        sampling.sample(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        sampling.sample(np.array([0.0, np.nan]))


def counter(ids):
    """A stand-in model: always predicts last id + 1 (mod 5)."""
    return np.eye(5)[(ids[:, -1] + 1) % 5] * 20.0


def test_generate_appends_n_tokens_and_keeps_the_prompt_rank():
    np.testing.assert_array_equal(
        gen.generate(None, [0], 6, strategy="greedy", next_logits=counter), [0, 1, 2, 3, 4, 0, 1]
    )
    out = gen.generate(None, [[1, 2], [3, 4]], 3, next_logits=counter, seed=0)
    np.testing.assert_array_equal(out, [[1, 2, 3, 4, 0], [3, 4, 0, 1, 2]])
    assert gen.generate(None, [2, 3], 0, next_logits=counter).tolist() == [2, 3]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prompt_ids": []}, "prompt_ids must have shape"),
        ({"prompt_ids": [0.5]}, "integer token ids"),
        ({"n": -1}, "n must be an int >= 0, got -1: the number of tokens"),
        ({"strategy": "beam"}, "strategy='beam' is unknown"),
        ({"max_context": 0}, "max_context must be an int >= 1"),
    ],
)
def test_generate_rejects_bad_arguments(kwargs, message):
    args = {"model": None, "prompt_ids": [1], "n": 3, "next_logits": counter, **kwargs}
    with pytest.raises(ValueError, match=message):
        gen.generate(**args)


def test_generate_with_a_keras_model_windows_the_context():
    import keras

    seen = []

    class Echo(keras.Model):
        def call(self, ids, training=False):
            seen.append(int(ids.shape[1]))
            return keras.ops.one_hot(ids, 7) * 10.0

    out = gen.generate(Echo(), [3], 4, strategy="greedy", max_context=2)
    assert out.tolist() == [3, 3, 3, 3, 3]  # echoing the last token
    assert max(seen) <= 2


# -- agreement with keras-hub's samplers -----------------------------------------------------


@pytest.fixture(scope="module")
def samplers():
    return pytest.importorskip("keras_hub").samplers


def run_keras_hub(sampler, logits_per_step):
    """Run a keras-hub sampler over fixed logits, one row of logits per generated position."""
    from keras import ops

    steps, vocab = logits_per_step.shape[1], logits_per_step.shape[2]
    table = ops.convert_to_tensor(logits_per_step.astype("float32"))

    def next(prompt, cache, index):
        return ops.take(table, index - 1, axis=1), None, cache

    prompt = np.zeros((logits_per_step.shape[0], steps + 1), "int32")
    out = sampler(next=next, prompt=ops.convert_to_tensor(prompt), index=1)
    return ops.convert_to_numpy(out)[:, 1:], vocab


def test_greedy_matches_keras_hub_greedy_sampler(samplers):
    z = np.random.default_rng(1).normal(size=(3, 8, 20))
    hub, _ = run_keras_hub(samplers.GreedySampler(), z)
    mine = np.stack([sampling.sample(z[:, t], greedy=True) for t in range(8)], axis=1)
    np.testing.assert_array_equal(hub, mine)


def test_keras_hub_top_k_and_top_p_only_draw_from_our_support(samplers):
    z = np.random.default_rng(2).normal(scale=2.0, size=(4, 30, 25))
    hub_k, _ = run_keras_hub(samplers.TopKSampler(k=4, seed=0), z)
    hub_p, _ = run_keras_hub(samplers.TopPSampler(p=0.6, seed=0), z)
    for t in range(30):
        ours_k = sampling.probabilities(z[:, t], top_k=4) > 0
        ours_p = sampling.probabilities(z[:, t], top_p=0.6) > 0
        assert ours_k[np.arange(4), hub_k[:, t]].all()
        assert ours_p[np.arange(4), hub_p[:, t]].all()


def test_temperature_probabilities_match_keras_hub(samplers):
    z = np.random.default_rng(3).normal(size=(2, 10))
    from keras import ops

    hub = ops.convert_to_numpy(samplers.RandomSampler(temperature=0.6).compute_probabilities(z))
    np.testing.assert_allclose(sampling.probabilities(z, temperature=0.6), hub, atol=1e-6)
