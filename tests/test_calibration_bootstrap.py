"""Calibration (against scikit-learn's bins) and the paired bootstrap (it finds a real gap and
not a fake one)."""

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from lmcourse import bootstrap, calibration


def test_reliability_bins_are_sklearns():
    rng = np.random.default_rng(0)
    conf = np.concatenate([rng.random(500), [0.0, 0.1, 0.5, 1.0]])  # edges included
    outcome = (rng.random(len(conf)) < conf).astype(int)
    r = calibration.reliability(conf, outcome, n_bins=10)
    freq, mean_conf = calibration_curve(outcome, conf, n_bins=10)
    assert np.allclose(r.frequency, freq) and np.allclose(r.confidence, mean_conf)
    assert r.count.sum() == len(conf)


def test_ece_is_zero_when_calibrated_and_large_when_overconfident():
    conf = np.full(1000, 0.8)
    assert calibration.expected_calibration_error(conf, np.arange(1000) % 5 != 0) == pytest.approx(
        0
    )
    assert calibration.expected_calibration_error(
        np.full(100, 0.99), np.arange(100) % 2
    ) == pytest.approx(0.49)


def test_temperature_scaling_finds_the_temperature_that_made_logits_overconfident():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 1.5, (4000, 2))
    labels = np.array([rng.choice(2, p=p) for p in calibration.softmax(true_logits)])
    T = calibration.fit_temperature(3.0 * true_logits, labels)  # 3x too confident
    assert T == pytest.approx(3.0, rel=0.1)
    probs = calibration.softmax(3.0 * true_logits, T)
    assert (probs.argmax(1) == true_logits.argmax(1)).all()  # the predicted class never changes


@pytest.mark.parametrize(
    ("conf", "outcome", "says"),
    [
        ([0.5, 1.2], [1, 0], "must lie in [0, 1]"),
        ([0.5, 0.6], [1, 2], "outcome must be 0/1"),
        ([0.5], [1, 0], "same length"),
    ],
)
def test_calibration_bad_input(conf, outcome, says):
    with pytest.raises(ValueError) as err:
        calibration.reliability(conf, outcome)
    assert says in str(err.value)


def test_paired_bootstrap_separates_a_real_gap_from_none():
    rng = np.random.default_rng(2)
    a = (rng.random(800) < 0.7).astype(float)
    better = np.where(rng.random(800) < 0.15, 1.0, a)
    same = a[rng.permutation(800)]  # the same accuracy, other items
    real = bootstrap.paired_bootstrap(np.mean, a, better, n_resamples=500, seed=0)
    none = bootstrap.paired_bootstrap(np.mean, a, same, n_resamples=500, seed=0)
    assert real.low > 0 and real.p_value < 0.01
    assert none.low < 0 < none.high
    assert real.difference == pytest.approx(better.mean() - a.mean())


def test_paired_bootstrap_bad_input():
    with pytest.raises(ValueError, match="same N >= 2"):
        bootstrap.paired_bootstrap(np.mean, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="0 < confidence < 1"):
        bootstrap.paired_bootstrap(np.mean, np.ones(3), np.ones(3), confidence=95)
