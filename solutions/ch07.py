"""Chapter 07 — solutions to the checked exercises (`lmcourse check 07 --answers solutions/ch07.py`)."""

import numpy as np


def mask_for_mlm(token_ids, special, scores, u, random_ids, mask_id, rate=0.15):
    """07.1 The k smallest scores among a row's ordinary tokens are a uniform random choice of k."""
    k = np.ceil(rate * (~special).sum(axis=1)).astype(int)  # (N,) tokens to choose
    order = np.argsort(np.where(special, np.inf, scores), axis=1)  # specials sort last
    rank = np.argsort(order, axis=1)  # each token's place in it
    chosen = rank < k[:, None]  # (N, S)
    new = np.where(u < 0.8, mask_id, np.where(u < 0.9, random_ids, token_ids))
    inputs = np.where(chosen, new, token_ids)
    labels = np.where(chosen, token_ids, 0)
    return inputs, labels, chosen.astype(np.float32)


def pack_pair(a, b=None, *, seq_len, cls_id, sep_id, pad_id=0):
    """07.2 Cut the longer segment first, so that both keep as much text as they can."""
    a, b = list(a), None if b is None else list(b)
    if b is None:
        a = a[: seq_len - 2]
    else:
        while len(a) + len(b) > seq_len - 3:
            (a if len(a) >= len(b) else b).pop()
    ids = [cls_id, *a, sep_id] + ([] if b is None else [*b, sep_id])
    segments = [0] * (len(a) + 2) + ([] if b is None else [1] * (len(b) + 1))
    pad = seq_len - len(ids)
    return (
        np.array(ids + [pad_id] * pad),
        np.array(segments + [0] * pad),
        np.array([1] * len(ids) + [0] * pad),
    )


def masked_lm_loss(logits, targets, weights):
    """07.3 Only the chosen positions carry a target: divide by their number, not by N * P."""
    z = logits - logits.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))  # (N, P, V)
    nll = -np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
    return float((weights * nll).sum() / weights.sum())
