"""Chapter 08's checked exercises: mean pooling over the real tokens, the warm-up + linear-decay
learning rate, gradual unfreezing from the top, and precision / recall / F1.

Each test draws its own inputs with a fixed seed and compares the learner's answer with the
package: :class:`lmcourse.models.bert_layers.MeanPooling`,
:class:`lmcourse.finetuning.WarmupLinearDecay`, :func:`lmcourse.finetuning.unfreeze_schedule`
and :mod:`lmcourse.metrics` (``confusion_matrix``, ``f1_per_class``).
"""

from __future__ import annotations

import numpy as np

from lmcourse import metrics
from lmcourse.exercises.checking import Exercise, Wrong, expect_close, expect_equal


def _mean_pool(f) -> None:
    import keras

    from lmcourse.models.bert_layers import MeanPooling

    rng = np.random.default_rng(0)
    h = rng.normal(size=(4, 7, 5)).astype("float32")
    h[:, -2:] += 50.0  # padding positions carry large vectors: they must not leak in
    lengths = np.array([7, 5, 3, 1])
    mask = (np.arange(7)[None, :] < lengths[:, None]).astype("int32")
    want = keras.ops.convert_to_numpy(MeanPooling()(h, mask))
    expect_close(f(h, mask), want, "mean_pool(h (4, 7, 5), padding_mask (4, 7))", atol=1e-5)
    empty = np.zeros((1, 7), "int32")
    got = np.asarray(f(h[:1], empty), dtype=float)
    if not np.all(np.isfinite(got)):
        raise Wrong("mean_pool of a row with no real token gave NaN: divide by max(count, 1)")
    expect_close(got, np.zeros((1, 5)), "mean_pool of a row with no real token")


def _warmup_linear_decay(f) -> None:
    from lmcourse.finetuning import WarmupLinearDecay

    configs = [
        (1e-3, 10, 100, 0.0),
        (2.0, 4, 12, 0.25),
        (5e-5, 0, 50, 0.0),
        (0.1, 20, 20, 0.0),
        (3e-4, 1, 7, 1e-5),
    ]
    for peak, warmup, total, end in configs:
        schedule = WarmupLinearDecay(peak=peak, warmup_steps=warmup, total_steps=total, end=end)
        for step in sorted(
            {
                0,
                1,
                warmup // 2,
                max(0, warmup - 1),
                warmup,
                (warmup + total) // 2,
                total - 1,
                total,
                total + 5,
            }
        ):
            expect_close(
                f(step, peak, warmup, total, end),
                float(schedule(step)),
                f"warmup_linear_decay(step={step}, peak={peak}, warmup_steps={warmup}, "
                f"total_steps={total}, end={end})",
                atol=1e-9,
                rtol=1e-5,
            )


def _trainable_groups(f) -> None:
    from lmcourse.finetuning import unfreeze_schedule

    for n_groups, epochs, per_stage in ((3, 5, 1), (6, 8, 1), (3, 9, 2), (1, 3, 1), (4, 10, 3)):
        schedule = unfreeze_schedule(range(n_groups), epochs, epochs_per_stage=per_stage)
        for epoch, want in enumerate(schedule):
            got = f(epoch, n_groups, per_stage)
            expect_equal(
                sorted(int(g) for g in got),
                want,
                f"trainable_groups(epoch={epoch}, n_groups={n_groups}, "
                f"epochs_per_stage={per_stage})",
            )


def _precision_recall_f1(f) -> None:
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 2, size=60)
    flip = rng.random(60) < 0.3
    y_pred = np.where(flip, 1 - y_true, y_true)
    y_pred[:10] = 1  # more positive predictions than positives: precision != recall
    cases = [
        (y_true, y_pred, 1),
        (y_true, y_pred, 0),
        (np.array([0, 0, 1, 1]), np.zeros(4, int), 1),
    ]
    for t, p, positive in cases:
        cm = metrics.confusion_matrix(t, p, 2)
        tp = cm[positive, positive]
        predicted, actual = cm[:, positive].sum(), cm[positive, :].sum()
        want = (
            tp / predicted if predicted else 0.0,
            tp / actual if actual else 0.0,
            metrics.f1_per_class(cm)[positive],
        )
        got = f(t.copy(), p.copy(), positive)
        if not isinstance(got, tuple) or len(got) != 3:
            raise Wrong("precision_recall_f1 should return a tuple (precision, recall, f1)")
        what = (
            f"precision_recall_f1(..., positive={positive}) with {tp} TP, {predicted - tp} FP, "
            f"{actual - tp} FN"
        )
        for name, g, w in zip(("precision", "recall", "f1"), got, want, strict=True):
            if not np.isfinite(g):
                raise Wrong(f"{what}: {name} gave {g}; a 0/0 counts as 0")
            expect_close(g, w, f"{what}: {name}")


EXERCISES = (
    Exercise("08.1", "Mean pooling over the real tokens", "mean_pool", _mean_pool),
    Exercise("08.2", "Warm-up, then linear decay", "warmup_linear_decay", _warmup_linear_decay),
    Exercise("08.3", "Gradual unfreezing from the top", "trainable_groups", _trainable_groups),
    Exercise("08.4", "Precision, recall and F1", "precision_recall_f1", _precision_recall_f1),
)
