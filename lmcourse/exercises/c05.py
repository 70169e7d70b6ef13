"""Chapter 05's checked exercises: the causal mask as a bias, attention with a bias, and
splitting vectors into heads and joining them again.

Every answer is compared with :mod:`lmcourse.models.attention` (the package's version of the
same function), on inputs each test draws with a fixed seed.
"""

from __future__ import annotations

import math

import numpy as np

from lmcourse.exercises.checking import Exercise, Wrong, expect_close, expect_equal


def _causal_bias_matrix(f) -> None:
    for T in (1, 4, 7):
        got = np.asarray(f(T), dtype=float)
        expect_equal(got.shape, (T, T), f"the shape of causal_bias_matrix({T})")
        allowed = np.tril(np.ones((T, T), dtype=bool))  # key j <= query i
        if np.any(np.diag(got) != 0):
            raise Wrong(
                f"causal_bias_matrix({T}) forbids the diagonal: query i may see key i (itself), "
                "so B[i, i] must be 0"
            )
        if np.any(got[allowed] != 0):
            raise Wrong(f"causal_bias_matrix({T}) must be exactly 0 on and below the diagonal")
        if np.any(got[~allowed] > -1e9):
            raise Wrong(
                f"causal_bias_matrix({T}) must be -inf (or at most -1e9) above the diagonal, "
                f"where key j > query i is in the future; got a largest value of "
                f"{got[~allowed].max():.3g} there"
            )


def _after_scaling(q, k, v, bias):
    logits = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1]) + bias
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return w @ v


def _biased_attention(f) -> None:
    from lmcourse.models import attention as A

    rng = np.random.default_rng(50)
    q, k, v = (rng.standard_normal(s).astype("float32") for s in [(2, 3, 8), (2, 5, 8), (2, 5, 4)])
    got = f(q, k, v)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise Wrong("biased_attention must return a tuple (outputs, weights)")
    out, w = A.scaled_dot_product_attention(q, k, v)
    what = "biased_attention(q, k, v) for q (2, 3, 8), k (2, 5, 8), v (2, 5, 4)"
    expect_close(got[1], w, f"the weights of {what}")
    expect_close(got[0], out, f"the outputs of {what}")

    q, k, v = (rng.standard_normal((2, 4, 6, 8)).astype("float32") for _ in range(3))
    bias = np.asarray(A.causal_bias(6)) + np.asarray(A.alibi_bias(4, 6))  # (1, H, T, T)
    out, w = A.scaled_dot_product_attention(q, k, v, bias=bias)
    got = f(q, k, v, bias)
    what = "biased_attention(q, k, v, bias) with heads, q (2, 4, 6, 8), a causal + ALiBi bias"
    after = _after_scaling(q, k, v, bias)
    if np.shape(got[0]) == after.shape and np.allclose(got[0], after, atol=1e-5):
        raise Wrong(
            f"{what}: you added the bias after dividing by sqrt(d_k); this chapter's formula "
            "adds it before: softmax((q k^T + B) / sqrt(d_k)) v"
        )
    expect_close(got[1], w, f"the weights of {what}")
    expect_close(got[0], out, f"the outputs of {what}")

    sharp = 60 * np.eye(4, 8, dtype="float32")[None]  # logits of about 1270: exp overflows
    values = np.arange(8, dtype="float32").reshape(1, 4, 2)
    got = np.asarray(f(sharp, sharp, values)[0], dtype=float)
    if not np.isfinite(got).all():
        raise Wrong(
            "biased_attention gave NaN or inf for queries with logits of about 1270: "
            "subtract each row's largest logit before exp (the softmax is unchanged)"
        )
    expect_close(got, values, "biased_attention(q, q, v) for four sharp queries q = 60 * e_i")


def _split_heads(f) -> None:
    from lmcourse.models import attention as A

    x = np.random.default_rng(51).standard_normal((2, 5, 12)).astype("float32")
    got = np.asarray(f(x, 3))
    want = np.asarray(A.split_heads(x, 3))  # (B, H, T, d) = (2, 3, 5, 4)
    if got.shape == want.shape and np.array_equal(got, x.reshape(2, 3, 5, 4)):
        raise Wrong(
            "a plain reshape to (B, H, T, d) mixes the positions: reshape to (B, T, H, d) "
            "first, then swap the T and H axes"
        )
    expect_close(got, want, "split_heads(x, 3) for x of shape (2, 5, 12)", atol=0, rtol=0)
    try:
        f(x, 5)
    except ValueError:
        return
    raise Wrong("split_heads(x, 5) for vectors of size 12 should raise ValueError (12 % 5 != 0)")


def _merge_heads(f) -> None:
    from lmcourse.models import attention as A

    x = np.random.default_rng(52).standard_normal((2, 3, 5, 4)).astype("float32")
    got = np.asarray(f(x))
    want = np.asarray(A.merge_heads(x))  # (B, T, H * d) = (2, 5, 12)
    if got.shape == want.shape and np.array_equal(got, x.reshape(2, 5, 12)):
        raise Wrong(
            "a plain reshape to (B, T, H * d) mixes the heads and the positions: swap the H and "
            "T axes first, (B, H, T, d) -> (B, T, H, d), then reshape"
        )
    expect_close(got, want, "merge_heads(x) for x of shape (2, 3, 5, 4)", atol=0, rtol=0)
    y = np.random.default_rng(53).standard_normal((2, 5, 12)).astype("float32")
    expect_close(
        f(np.asarray(A.split_heads(y, 3))), y, "merge_heads(split_heads(y, 3))", atol=0, rtol=0
    )


EXERCISES = (
    Exercise("05.1", "The causal mask as a bias matrix", "causal_bias_matrix", _causal_bias_matrix),
    Exercise("05.2", "Attention with an additive bias", "biased_attention", _biased_attention),
    Exercise("05.3", "Splitting vectors into heads", "split_heads", _split_heads),
    Exercise("05.4", "Joining the heads again", "merge_heads", _merge_heads),
)
