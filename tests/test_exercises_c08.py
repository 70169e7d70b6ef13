"""Chapter 08's checks catch the usual mistakes, each with a message that says what to fix."""

import functools

import numpy as np

from lmcourse import exercises

# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "08")


def test_a_mean_over_the_padding_too_is_wrong():
    o = outcome("08.1", lambda h, padding_mask: h.mean(axis=1))
    assert o.status == exercises.WRONG and "mean_pool(h (4, 7, 5)" in o.message


def test_dividing_by_zero_for_an_empty_row_is_wrong():
    def no_guard(h, padding_mask):
        m = padding_mask.astype(h.dtype)[:, :, None]
        return (h * m).sum(axis=1) / m.sum(axis=1)

    with np.errstate(all="ignore"):
        o = outcome("08.1", no_guard)
    assert o.status == exercises.WRONG and "max(count, 1)" in o.message


def test_decaying_from_step_zero_is_wrong():
    def decay_from_zero(step, peak, warmup_steps, total_steps, end=0.0):
        if step < warmup_steps:
            return peak * step / warmup_steps
        return peak + (end - peak) * min(1.0, step / total_steps)  # not (step - w) / (T - w)

    o = outcome("08.2", decay_from_zero)
    assert o.status == exercises.WRONG and "warmup_linear_decay(step=" in o.message


def test_unfreezing_the_top_group_with_the_head_is_wrong():
    o = outcome("08.3", lambda epoch, n, per=1: list(range(min(epoch // per + 1, n))))
    assert o.status == exercises.WRONG
    assert "trainable_groups(epoch=0" in o.message and "expected []" in o.message


def test_swapping_precision_and_recall_is_wrong():
    def swapped(y_true, y_pred, positive=1):
        tp = np.sum((y_pred == positive) & (y_true == positive))
        fp = np.sum((y_pred == positive) & (y_true != positive))
        fn = np.sum((y_pred != positive) & (y_true == positive))
        return tp / (tp + fn), tp / (tp + fp), 2 * tp / (2 * tp + fp + fn)

    o = outcome("08.4", swapped)
    assert o.status == exercises.WRONG and "precision" in o.message
