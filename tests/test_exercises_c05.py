"""Chapter 05's checks can fail: a typical mistake in each exercise is reported as wrong, with a
message that names the mistake."""

import functools

import numpy as np
import pytest

from lmcourse import exercises

# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "05")


def causal_without_diagonal(T):  # off by one: a token may not see itself
    return np.triu(np.full((T, T), -np.inf), k=0)


def causal_transposed(T):  # the past forbidden instead of the future
    return np.tril(np.full((T, T), -np.inf), k=-1)


def softmax(logits):
    w = np.exp(logits - logits.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


def bias_after_scaling(q, k, v, bias=None):  # the libraries' convention, not this chapter's
    logits = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    w = softmax(logits if bias is None else logits + bias)
    return w @ v, w


def softmax_without_max(q, k, v, bias=None):  # overflows for large logits
    logits = q @ np.swapaxes(k, -1, -2)
    logits = (logits if bias is None else logits + bias) / np.sqrt(q.shape[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return w @ v, w


def divided_by_d_k(q, k, v, bias=None):
    w = softmax(q @ np.swapaxes(k, -1, -2) / q.shape[-1])
    return w @ v, w


def split_by_reshape(x, num_heads):
    B, T, D = x.shape
    return x.reshape(B, num_heads, T, D // num_heads)


def split_dropping_the_rest(x, num_heads):  # 12 into 5 heads: silently drops 2 entries
    B, T, D = x.shape
    d = D // num_heads
    return x[..., : num_heads * d].reshape(B, T, num_heads, d).transpose(0, 2, 1, 3)


def merge_by_reshape(x):
    B, H, T, d = x.shape
    return x.reshape(B, T, H * d)


@pytest.mark.parametrize(
    ("number", "answer", "says"),
    [
        ("05.1", causal_without_diagonal, "B[i, i] must be 0"),
        ("05.1", causal_transposed, "exactly 0 on and below the diagonal"),
        ("05.2", bias_after_scaling, "adds it before"),
        ("05.2", softmax_without_max, "subtract each row's largest logit"),
        ("05.2", divided_by_d_k, "the weights of biased_attention(q, k, v)"),
        ("05.3", split_by_reshape, "swap the T and H axes"),
        ("05.3", split_dropping_the_rest, "should raise ValueError"),
        ("05.4", merge_by_reshape, "swap the H and T axes first"),
    ],
)
def test_a_typical_mistake_is_wrong_with_a_hint(number, answer, says):
    result = outcome(number, answer)
    assert result.status == exercises.WRONG
    assert says in result.message, result.message
