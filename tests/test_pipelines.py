"""tf.data language-model windows: targets are inputs shifted by one; clear errors."""

import numpy as np
import pytest

from lmcourse import pipelines


def test_windows_shift_by_one_and_cover_the_corpus():
    ids = np.arange(101)
    ds = pipelines.lm_dataset(ids, seq_len=10, batch_size=5, shuffle=False)
    batches = [(x.numpy(), y.numpy()) for x, y in ds]
    assert len(batches) == 2 and batches[0][0].shape == (5, 10) and batches[0][0].dtype == np.int32
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(x[:, 0], np.arange(0, 100, 10))
    np.testing.assert_array_equal(y, x + 1)


def test_shuffle_is_seeded_and_changes_each_epoch():
    ids = np.arange(2000)
    first = [x.numpy()[:, 0] for x, _ in pipelines.lm_dataset(ids, 9, 4, seed=1).take(3)]
    again = [x.numpy()[:, 0] for x, _ in pipelines.lm_dataset(ids, 9, 4, seed=1).take(3)]
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(again))
    ds = pipelines.lm_dataset(ids, 9, 111, seed=1)  # 222 windows: two full batches
    epoch1, epoch2 = ([x.numpy()[:, 0] for x, _ in ds] for _ in range(2))
    assert not np.array_equal(np.concatenate(epoch1), np.concatenate(epoch2))
    assert sorted(np.concatenate(epoch1)) == sorted(np.concatenate(epoch2))


def test_lm_arrays_match_the_dataset():
    ids = np.random.default_rng(0).integers(0, 50, size=300)
    x, y = pipelines.lm_arrays(ids, seq_len=16, stride=8)
    dx = np.concatenate(
        [b.numpy() for b, _ in pipelines.lm_dataset(ids, 16, 1, stride=8, shuffle=False)]
    )
    np.testing.assert_array_equal(x, dx)
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"ids": np.arange(50), "seq_len": 64, "batch_size": 1},
            "seq_len=64 needs at least 65 tokens, but the text has 50",
        ),
        ({"ids": np.arange(50), "seq_len": 0, "batch_size": 1}, "seq_len must be >= 1"),
        ({"ids": np.arange(50), "seq_len": 10, "batch_size": 8}, "fewer than one batch of 8"),
        (
            {"ids": np.zeros((4, 4)), "seq_len": 2, "batch_size": 1},
            r"one flat sequence of shape \(n_tokens,\)",
        ),
    ],
)
def test_bad_sizes_fail_with_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pipelines.lm_dataset(**kwargs)
