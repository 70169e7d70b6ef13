"""Chapter 06's checks can fail: a typical wrong answer to each is reported as wrong, with a
message that points at the mistake."""

import functools
import runpy
from types import SimpleNamespace

import numpy as np
import pytest

from lmcourse import exercises

solution = SimpleNamespace(**runpy.run_path(str(exercises.answers_file("06", "solutions"))))


# The outcome of one exercise (its number or answer name) for one answer.
outcome = functools.partial(exercises.check_answer, "06")


def sinusoidal_with_i_not_2i(length, d):
    t = np.arange(length)[:, None]
    inv_freq = 10000.0 ** (-np.arange(d // 2) / d)  # i / d: the clocks turn too slowly
    pe = np.zeros((length, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(t * inv_freq), np.cos(t * inv_freq)
    return pe


def sinusoidal_sin_everywhere(length, d):
    pe = solution.sinusoidal_encoding(length, d)
    pe[:, 1::2] = pe[:, 0::2]
    return pe


def attention(u, w, causal):
    q, k, v = (np.einsum("btd,dhk->bhtk", u, w[f"w{n}"]) + w[f"b{n}"][:, None] for n in "qkv")
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])  # (B, H, T, T)
    if causal:
        T = u.shape[1]
        scores = np.where(np.tril(np.ones((T, T), bool)), scores, -np.inf)
    a = np.exp(scores - scores.max(-1, keepdims=True))
    return np.einsum("bhtk,hko->bto", a / a.sum(-1, keepdims=True) @ v, w["wo"]) + w["bo"]


def ffn(u, w):
    return np.maximum(u @ w["w1"] + w["b1"], 0) @ w["w2"] + w["b2"]


def ln(u, w, which):
    return solution._layer_norm(u, w[f"{which}_gamma"], w[f"{which}_beta"])


def block_without_causal_mask(x, w):
    h = x + attention(ln(x, w, "ln1"), w, causal=False)
    return h + ffn(ln(h, w, "ln2"), w)


def block_post_ln(x, w):
    """LayerNorm after each sum (post-LN): the residual stream itself is normalized."""
    h = ln(x + attention(x, w, causal=True), w, "ln1")
    return ln(h + ffn(h, w), w, "ln2")


def cache_keys_only(B, L, S, d, dtype):
    return solution.kv_cache_bytes(B, L, S, d, dtype) // 2


def top_p_drops_the_crossing_token(z, k, p):
    probs = solution.top_k_top_p(z, k, None)
    if p is not None:
        order = np.argsort(-probs)
        probs[order[np.cumsum(probs[order]) >= p]] = 0.0  # also drops the one that reaches p
        probs /= probs.sum()
    return probs


def params_without_biases(V, S, d, L):
    return V * d + S * d + L * (4 * d * d + 8 * d * d + 4 * d) + 2 * d + d * V


@pytest.mark.parametrize(
    "name, answer, says",
    [
        ("sinusoidal_encoding", sinusoidal_with_i_not_2i, "sinusoidal_encoding(10, 4) differs"),
        ("sinusoidal_encoding", sinusoidal_sin_everywhere, "they are the cosines"),
        ("pre_ln_block", block_without_causal_mask, "the causal mask"),
        ("pre_ln_block", block_post_ln, "pre_ln_block(x, w) for x of shape (2, 7, 16)"),
        ("kv_cache_bytes", cache_keys_only, "expected 36864"),
        ("top_k_top_p", top_p_drops_the_crossing_token, "keeps tokens"),
        ("gpt_param_count", params_without_biases, "expected 112577"),
    ],
)
def test_a_typical_mistake_is_wrong_with_a_helpful_message(name, answer, says):
    found = outcome(name, answer)
    assert found.status == exercises.WRONG, found
    assert says in found.message, found.message


def test_the_solutions_pass_one_by_one():
    for ex in exercises.exercises_of("06"):
        assert outcome(ex.answer, getattr(solution, ex.answer)).status == exercises.PASSED
