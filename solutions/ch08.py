"""Chapter 08 — solutions to the checked exercises (`lmcourse check 08 --answers solutions/ch08.py`)."""

import numpy as np


def mean_pool(h, padding_mask):
    """08.1 Zero the padding vectors, then divide by the number of real tokens (at least 1)."""
    m = padding_mask.astype(h.dtype)[:, :, None]  # (B, S, 1)
    return (h * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)


def warmup_linear_decay(step, peak, warmup_steps, total_steps, end=0.0):
    """08.2 Up from 0 while Adam's moments settle, then a straight line down to `end`."""
    if step < warmup_steps:
        return peak * step / warmup_steps
    if total_steps == warmup_steps:
        return end
    frac = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return peak + (end - peak) * frac


def trainable_groups(epoch, n_groups, epochs_per_stage=1):
    """08.3 Stage 0 is the head alone; stage s adds group s - 1, counting from the top."""
    return list(range(min(epoch // epochs_per_stage, n_groups)))


def precision_recall_f1(y_true, y_pred, positive=1):
    """08.4 Precision asks the predictions, recall asks the labels; F1 is their harmonic mean."""
    tp = int(np.sum((y_pred == positive) & (y_true == positive)))
    fp = int(np.sum((y_pred == positive) & (y_true != positive)))
    fn = int(np.sum((y_pred != positive) & (y_true == positive)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision, recall, f1
