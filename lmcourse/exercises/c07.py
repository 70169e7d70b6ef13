"""Chapter 07's checked exercises: BERT's 80/10/10 masking, ``[CLS] A [SEP] B [SEP]`` packing,
and the masked-LM loss averaged over the chosen positions only.

Each test draws its own inputs with a fixed seed and compares the learner's answer with the
package: :func:`lmcourse.masking.mask_tokens` (fed the same random numbers),
:func:`lmcourse.pipelines.pack_pair`, and the loss chapter 07's pretraining compiles
(``SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")``).
"""

from __future__ import annotations

import numpy as np

from lmcourse import masking, pipelines
from lmcourse.exercises.checking import Exercise, Wrong, expect_close, expect_equal

_SPECIALS = (0, 1, 2, 3, 4)  # [PAD], [UNK], [CLS], [SEP], [MASK]
_PAD, _CLS, _SEP, _MASK = 0, 2, 3, 4


def _packed_rows(rng: np.random.Generator, n: int, seq_len: int, vocab_size: int) -> np.ndarray:
    """``n`` rows ``[CLS] tokens [SEP] [PAD] ...`` of random lengths, ids of ordinary tokens.

    No length is a multiple of 5, so that ``0.15 n`` and ``0.4 n`` are never whole numbers: in
    floats ``0.15 * 20`` is ``3.0000000000000004``, and ``ceil`` would depend on how it is written.
    """
    lengths = [m for m in range(6, seq_len - 1) if m % 5]
    rows = np.full((n, seq_len), _PAD, dtype=np.int64)
    for r in range(n):
        length = int(rng.choice(lengths))
        rows[r, 0], rows[r, length + 1] = _CLS, _SEP
        rows[r, 1 : length + 1] = rng.integers(len(_SPECIALS), vocab_size, size=length)
    return rows


def _mask_case(seed: int, rate: float) -> tuple[dict, dict]:
    """The learner's inputs and the package's answer, from the same random numbers.

    ``masking.mask_tokens`` draws, in this order: a score per token ``(N, S)``, one uniform per
    prediction slot ``(N, P)``, one random ordinary id per slot ``(N, P)``. The same draws are
    handed to the learner per *position*: slot ``j`` of row ``r`` sits at ``mask_positions[r, j]``.
    """
    n, seq_len, vocab_size = 8, 40, 60
    ids = _packed_rows(np.random.default_rng(seed), n, seq_len, vocab_size)
    args = dict(vocab_size=vocab_size, mask_id=_MASK, special_ids=_SPECIALS, rate=rate)
    out = masking.mask_tokens(
        ids, rng=np.random.default_rng(seed + 1), max_predictions=seq_len, **args
    )
    draws = np.random.default_rng(seed + 1)
    scores = draws.random(ids.shape)
    u_slot = draws.random((n, seq_len))
    ordinary = np.setdiff1d(np.arange(vocab_size), _SPECIALS)
    id_slot = draws.choice(ordinary, size=(n, seq_len))
    filler = np.random.default_rng(seed + 2)  # what the unchosen positions get: never used
    u, random_ids = filler.random(ids.shape), filler.choice(ordinary, size=ids.shape)
    r, j = np.nonzero(out["mask_weights"])
    pos = out["mask_positions"][r, j]
    u[r, pos], random_ids[r, pos] = u_slot[r, j], id_slot[r, j]
    weights = np.zeros(ids.shape)
    weights[r, pos] = 1.0
    labels = np.zeros_like(ids)
    labels[r, pos] = out["mask_ids"][r, j]
    given = dict(
        token_ids=ids,
        special=np.isin(ids, _SPECIALS),
        scores=scores,
        u=u,
        random_ids=random_ids,
        mask_id=_MASK,
        rate=rate,
    )
    return given, {"inputs": out["token_ids"], "labels": labels, "weights": weights}


def _mask_for_mlm(f) -> None:
    for seed, rate in ((0, 0.15), (5, 0.4)):
        given, want = _mask_case(seed, rate)
        got = f(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in given.items()})
        if not isinstance(got, tuple) or len(got) != 3:
            raise Wrong("mask_for_mlm should return a tuple (inputs, labels, weights)")
        inputs, labels, weights = (np.asarray(g) for g in got)
        what = f"mask_for_mlm(..., rate={rate})"
        for name, g in (("inputs", inputs), ("labels", labels), ("weights", weights)):
            if g.shape != given["token_ids"].shape:
                raise Wrong(
                    f"{what}: {name} has shape {g.shape}, expected (N, S) = "
                    f"{given['token_ids'].shape}"
                )
        n_ordinary = (~given["special"]).sum(1)
        for row in range(len(weights)):
            chosen = np.flatnonzero(weights[row] > 0).tolist()
            expected = np.flatnonzero(want["weights"][row]).tolist()
            if chosen != expected:
                raise Wrong(
                    f"{what}, row {row}: you chose positions {chosen}, expected {expected}: the "
                    f"k = ceil({rate} * n) = {len(expected)} ordinary tokens (n = "
                    f"{n_ordinary[row]}, specials never) with the smallest scores"
                )
        if not np.array_equal(labels, want["labels"]):
            raise Wrong(
                f"{what}: labels should be the original id at each chosen position and 0 elsewhere"
            )
        bad = np.argwhere(inputs != want["inputs"])
        if len(bad):
            row, col = (int(i) for i in bad[0])
            u = given["u"][row, col]
            rule = "[MASK]" if u < 0.8 else "the random id" if u < 0.9 else "the original"
            chosen = bool(want["weights"][row, col])
            where = "a chosen position" if chosen else "a position that is not chosen"
            raise Wrong(
                f"{what}: inputs[{row}, {col}] ({where}, u = {u:.3f}) is "
                f"{inputs[row, col]}, expected {want['inputs'][row, col]}"
                + (
                    f": u < 0.8 -> [MASK], u < 0.9 -> random_ids, else keep; here {rule}"
                    if chosen
                    else ": only chosen positions change"
                )
            )
        expect_close(weights, want["weights"], f"{what}: weights")


def _pack_pair(f) -> None:
    rng = np.random.default_rng(7)
    cases = [
        (5, 4, 16),
        (6, 7, 16),
        (12, 3, 12),
        (3, 12, 12),
        (9, 9, 14),
        (6, None, 10),
        (20, None, 10),
        (4, 1, 8),
    ]
    for len_a, len_b, seq_len in cases:
        a = rng.integers(5, 100, size=len_a).tolist()
        b = None if len_b is None else rng.integers(5, 100, size=len_b).tolist()
        want = pipelines.pack_pair(a, b, seq_len=seq_len, cls_id=_CLS, sep_id=_SEP, pad_id=_PAD)
        got = f(
            list(a),
            None if b is None else list(b),
            seq_len=seq_len,
            cls_id=_CLS,
            sep_id=_SEP,
            pad_id=_PAD,
        )
        if not isinstance(got, tuple) or len(got) != 3:
            raise Wrong("pack_pair should return a tuple (token_ids, segment_ids, padding_mask)")
        what = f"pack_pair(a of {len_a}, {'no b' if b is None else f'b of {len_b}'}, seq_len={seq_len})"
        for name, g, w in zip(("token_ids", "segment_ids", "padding_mask"), got, want, strict=True):
            expect_equal(np.asarray(g).tolist(), w.tolist(), f"{what}: {name}")


def _masked_lm_loss(f) -> None:
    import keras

    package_loss = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="mean_with_sample_weight"
    )
    rng = np.random.default_rng(3)
    n, p, v = 4, 6, 11
    logits = rng.normal(size=(n, p, v)) * 3
    targets = rng.integers(0, v, size=(n, p))
    weights = (np.arange(p)[None, :] < np.array([6, 2, 4, 1])[:, None]).astype(float)
    targets[weights == 0] = 0  # unused slots: target 0, weight 0 (as masking.mask_tokens gives)
    want = float(package_loss(targets, logits.astype("float32"), sample_weight=weights))
    expect_close(
        f(logits, targets, weights), want, "masked_lm_loss(logits (4, 6, 11), ...)", rtol=1e-4
    )
    big = logits.copy()
    big[0, 0] *= 400.0  # logits in the thousands: exp overflows unless the maximum comes off
    want = float(package_loss(targets, big.astype("float32"), sample_weight=weights))
    got = f(big, targets, weights)
    if not np.isfinite(got):
        raise Wrong(
            f"masked_lm_loss gave {got} for logits in the thousands: compute log-softmax "
            "as z - max(z) - log(sum(exp(z - max(z))))"
        )
    expect_close(got, want, "masked_lm_loss with logits in the thousands", rtol=1e-4)


EXERCISES = (
    Exercise("07.1", "BERT's 80/10/10 masking", "mask_for_mlm", _mask_for_mlm),
    Exercise("07.2", "Packing [CLS] A [SEP] B [SEP]", "pack_pair", _pack_pair),
    Exercise(
        "07.3", "The masked-LM loss over the chosen positions", "masked_lm_loss", _masked_lm_loss
    ),
)
