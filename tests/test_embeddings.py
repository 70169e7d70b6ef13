"""lmcourse.embeddings: nearest neighbours and the polarity gap of an embedding table."""

from __future__ import annotations

import doctest

import keras
import numpy as np
import pytest

from lmcourse import embeddings


def _table(rows: int = 50, d: int = 16, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, d)), [f"w{i}" for i in range(rows)]


def test_module_examples_hold():
    failures, tried = doctest.testmod(embeddings)
    assert tried >= 2 and failures == 0


def test_nearest_neighbours_match_keras_cosine_similarity():
    table, vocab = _table()
    got = embeddings.nearest_neighbours(table, vocab, "w3", k=5)
    # Keras' cosine similarity (its loss is the negative) of w3 against every row.
    reference = -keras.ops.convert_to_numpy(
        keras.losses.cosine_similarity(np.repeat(table[3:4], len(table), 0), table, axis=-1)
    )
    reference[3] = -np.inf  # the word itself is no answer
    expected = np.argsort(-reference)[:5]
    assert [w for w, _ in got] == [vocab[i] for i in expected]
    np.testing.assert_allclose([s for _, s in got], reference[expected], atol=1e-6)
    assert all(a >= b for (_, a), (_, b) in zip(got, got[1:], strict=False))


def test_nearest_neighbours_answer_only_from_among_and_never_the_word():
    table, vocab = _table()
    table[7] = table[3] * 2.0  # w7: the same direction as w3
    assert embeddings.nearest_neighbours(table, vocab, "w3", k=1)[0][0] == "w7"
    among = ["w3", "w10", "w11", "w12", "absent"]
    got = embeddings.nearest_neighbours(table, vocab, "w3", k=10, among=among)
    assert sorted(w for w, _ in got) == ["w10", "w11", "w12"]


def test_nearest_neighbours_refuse_bad_input_clearly():
    table, vocab = _table()
    with pytest.raises(ValueError, match="'nope' is not in the vocabulary") as error:
        embeddings.nearest_neighbours(table, vocab, "nope")
    assert "closest" not in str(error.value)  # nothing like it to suggest
    with pytest.raises(ValueError, match="'w3x' is not .* the closest it has: 'w3'"):
        embeddings.nearest_neighbours(table, vocab, "w3x")
    with pytest.raises(ValueError, match="k must be at least 1"):
        embeddings.nearest_neighbours(table, vocab, "w1", k=0)
    with pytest.raises(ValueError, match="50 rows but the vocabulary 49 tokens"):
        embeddings.nearest_neighbours(table, vocab[:-1], "w1")


def test_polarity_gap_is_large_for_separated_words_and_chance_for_random_ones():
    rng = np.random.default_rng(1)
    pos = [f"p{i}" for i in range(10)]
    neg = [f"n{i}" for i in range(10)]
    axis = rng.normal(size=32)
    noise = rng.normal(size=(20, 32))
    separated = np.concatenate([axis + noise[:10], -axis + noise[10:]])
    result = embeddings.polarity_gap(separated, pos + neg, pos, neg)
    assert result.positive == tuple(pos) and result.negative == tuple(neg)
    assert result.gap > 0.5 and result.z > 5

    random_gaps = [
        embeddings.polarity_gap(rng.normal(size=(20, 32)), pos + neg, pos, neg, seed=s)
        for s in range(20)
    ]
    # A random table's gap is chance: within a few of its own null spreads, and small on average.
    assert all(abs(r.z) < 4 for r in random_gaps)
    assert abs(np.mean([r.gap for r in random_gaps])) < 0.03


def test_polarity_gap_by_hand_on_three_words_per_side():
    vocab = ["a", "b", "c", "x", "y", "z", "other"]
    table = np.random.default_rng(2).normal(size=(7, 4))
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    s = unit @ unit.T
    within = np.mean(
        [s[i, j] for grp in ((0, 1, 2), (3, 4, 5)) for i in grp for j in grp if i != j]
    )
    across = np.mean([s[i, j] for i in (0, 1, 2) for j in (3, 4, 5)])
    got = embeddings.polarity_gap(
        table, vocab, ["a", "b", "c", "missing"], ["x", "y", "z"], permutations=0
    )
    assert got.within == pytest.approx(within, abs=1e-12)
    assert got.across == pytest.approx(across, abs=1e-12)
    assert got.positive == ("a", "b", "c") and np.isnan(got.null_sd)


def test_polarity_gap_refuses_too_few_words_and_a_word_of_both_polarities():
    table, vocab = _table()
    with pytest.raises(ValueError, match="has 1 of the positive and 2 of the negative"):
        embeddings.polarity_gap(table, vocab, ["w1", "gone"], ["w2", "w3"])
    with pytest.raises(ValueError, match="words in both lists: w2"):
        embeddings.polarity_gap(table, vocab, ["w1", "w2"], ["w2", "w3"])
