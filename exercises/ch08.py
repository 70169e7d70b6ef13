"""Chapter 08 — checked exercises. Write each function, then run `lmcourse check 08`.

The same stubs are at the end of chapters/08_finetuning.ipynb, where `check("08", globals())`
checks what you wrote in the notebook instead. Solutions: solutions/ch08.py (try first).
"""


def mean_pool(h, padding_mask):
    """08.1 The sentence vector of section 3: ``h`` ``(B, S, d)`` token vectors,
    ``padding_mask`` ``(B, S)`` 1 for a real token and 0 for padding. Return ``(B, d)``:
    ``sum_t m_t h_t / max(1, sum_t m_t)`` — padding left out, and zeros (not NaN) for a row
    with no real token."""
    raise NotImplementedError


def warmup_linear_decay(step, peak, warmup_steps, total_steps, end=0.0):
    """08.2 The learning rate at optimizer step ``step`` (0, 1, 2, ...): ``peak * step /
    warmup_steps`` while ``step < warmup_steps``; from there a straight line from ``peak`` (at
    ``warmup_steps``) to ``end`` (at ``total_steps``), and ``end`` after that. With
    ``warmup_steps == 0`` there is no warm-up; with ``warmup_steps == total_steps`` the rate
    is ``end`` from ``total_steps`` on. Return a float."""
    raise NotImplementedError


def trainable_groups(epoch, n_groups, epochs_per_stage=1):
    """08.3 Gradual unfreezing from the top. The encoder's layers form ``n_groups`` groups,
    numbered from the top (0 = next to the head). Stage 0 trains the head alone; each later
    stage also unfreezes the next group down; a stage lasts ``epochs_per_stage`` epochs, and
    once every group is unfrozen all stay so. Return the list of the group numbers (ascending)
    that train in epoch ``epoch`` (counted from 0)."""
    raise NotImplementedError


def precision_recall_f1(y_true, y_pred, positive=1):
    """08.4 For the class ``positive``, from integer labels and predictions ``(N,)``: with TP,
    FP, FN the true positives, false positives and false negatives, return the floats
    ``(TP / (TP + FP), TP / (TP + FN), 2 TP / (2 TP + FP + FN))`` — precision, recall, F1 —
    each 0.0 where its denominator is 0."""
    raise NotImplementedError
