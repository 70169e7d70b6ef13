"""Chapter 09's checked exercises: perplexity from bits, BLEU's clipped n-gram matches and the
expected calibration error.

Each answer is compared with the package's version (:mod:`lmcourse.metrics`,
:mod:`lmcourse.bleu`, :mod:`lmcourse.calibration`) on inputs drawn with a fixed seed.
"""

from __future__ import annotations

import numpy as np

from lmcourse.exercises.checking import Exercise, Wrong, expect_close


def _perplexity_from_bits(f) -> None:
    bits = np.array([0.0, 1.0, 2.2232, 4.5])
    got = np.asarray(f(bits), dtype=float)
    if np.allclose(got, np.exp(bits)):
        raise Wrong(
            "perplexity_from_bits used e ** bits: bits are base 2, so perplexity is 2 ** bits"
        )
    expect_close(got, 2.0**bits, "perplexity_from_bits([0, 1, 2.2232, 4.5])")
    expect_close(float(f(1.5)), 2.0**1.5, "perplexity_from_bits(1.5) (a plain number)")


def _clipped_matches(f) -> None:
    from lmcourse.bleu import sentence_statistics

    cases = [
        ("the the the the".split(), ["the cat".split()], 1),
        (
            "the cat sat on the mat".split(),
            ["the cat sat on a mat".split(), "a cat on the mat".split()],
            2,
        ),
    ]
    rng = np.random.default_rng(90)
    words = "a b c d".split()
    for _ in range(20):
        hyp = list(rng.choice(words, 9))
        refs = [
            list(rng.choice(words, int(rng.integers(3, 10))))
            for _ in range(int(rng.integers(1, 4)))
        ]
        cases.append((hyp, refs, int(rng.integers(1, 5))))
    for hyp, refs, n in cases:
        want = int(sentence_statistics(hyp, refs)[n - 1])
        got = f(hyp, refs, n)
        if got != want:
            hint = ""
            if n == 1 and hyp == ["the"] * 4:
                hint = ": each n-gram counts at most as often as a reference has it (clip it)"
            raise Wrong(f"clipped_matches({hyp}, {refs}, {n}) should be {want}, got {got!r}{hint}")


def _ece(f) -> None:
    from lmcourse.calibration import expected_calibration_error, reliability

    rng = np.random.default_rng(91)
    conf = np.concatenate([rng.uniform(0.5, 1.0, 300), [0.0, 0.1, 0.2, 1.0]])
    correct = (rng.random(len(conf)) < conf).astype(int)
    for n_bins in (10, 4):
        want = expected_calibration_error(conf, correct, n_bins)
        got = float(f(conf, correct, n_bins))
        if n_bins == 10:
            bins = reliability(conf, correct, n_bins)
            unweighted = np.mean(np.abs(bins.frequency - bins.confidence))
            if abs(got - unweighted) < 1e-9:
                raise Wrong("ece averaged the bins equally: weight each bin by n_b / N")
        expect_close(got, want, f"ece(confidence, correct, n_bins={n_bins}) for 304 predictions")


EXERCISES = (
    Exercise("09.1", "Perplexity from bits", "perplexity_from_bits", _perplexity_from_bits),
    Exercise("09.2", "Clipped n-gram matches", "clipped_matches", _clipped_matches),
    Exercise("09.3", "Expected calibration error", "ece", _ece),
)
