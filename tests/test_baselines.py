"""The classical baselines: majority class and TF-IDF + logistic regression (scikit-learn)."""

import numpy as np
import pytest

from lmcourse import baselines, data


def test_majority_accuracy_is_the_share_of_the_commonest_training_label():
    assert baselines.majority_accuracy([1, 1, 0], [1, 0, 0, 0]) == 0.25
    assert baselines.majority_accuracy([0, 0, 1], [1, 0, 0, 0]) == 0.75
    with pytest.raises(ValueError, match="found \\[2\\]"):
        baselines.majority_accuracy([0, 2], [0])


def test_tfidf_picks_c_on_validation_and_beats_chance_on_real_sentences():
    train = data.movie_reviews("train", "rotten_tomatoes")
    val = data.movie_reviews("validation", "rotten_tomatoes")
    fit = baselines.tfidf_logistic_regression(
        train.texts[:2000], train.labels[:2000], val.texts, val.labels, cs=(0.01, 4.0)
    )
    assert set(fit.val_accuracy) == {0.01, 4.0}
    assert fit.val_accuracy[fit.c] == max(fit.val_accuracy.values())
    assert fit.accuracy(val.texts, val.labels) == pytest.approx(fit.val_accuracy[fit.c])
    assert fit.val_accuracy[4.0] > 0.62 > fit.val_accuracy[0.01] - 0.1  # too strong an L2 hurts
    probs = fit.predict_proba(["a moving , beautifully acted film", "dull and lifeless"])
    assert probs.shape == (2, 2) and probs[0, 1] > 0.5 > probs[1, 1]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_tfidf_bad_input_fails_in_one_line():
    with pytest.raises(ValueError, match="3 training texts for 2 labels"):
        baselines.tfidf_logistic_regression(["a", "b", "c"], [0, 1], ["a"], [0])
    with pytest.raises(ValueError, match="one class only"):
        baselines.tfidf_logistic_regression(["a", "b"], [1, 1], ["a"], [0])
    with pytest.raises(ValueError, match="cs is empty"):
        baselines.tfidf_logistic_regression(["a", "b"], [0, 1], ["a"], [0], cs=())
