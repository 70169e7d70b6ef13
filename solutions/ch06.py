"""Chapter 06 — solutions to the checked exercises (`lmcourse check 06 --answers solutions/ch06.py`)."""

import numpy as np


def sinusoidal_encoding(length: int, d: int) -> np.ndarray:
    """06.1 One angle per (position, pair); sines fill the even columns, cosines the odd ones."""
    t = np.arange(length)[:, None]  # (T, 1)
    inv_freq = 10000.0 ** (-np.arange(0, d, 2) / d)  # (d/2,): 2i/d for i = 0 .. d/2 - 1
    pe = np.zeros((length, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(t * inv_freq), np.cos(t * inv_freq)
    return pe


def _layer_norm(u, gamma, beta, eps=1e-5):
    return gamma * (u - u.mean(-1, keepdims=True)) / np.sqrt(u.var(-1, keepdims=True) + eps) + beta


def pre_ln_block(x: np.ndarray, w: dict) -> np.ndarray:
    """06.2 Normalize a copy, never the residual stream: ``x`` itself only gets sums added."""
    u = _layer_norm(x, w["ln1_gamma"], w["ln1_beta"])
    q, k, v = (np.einsum("btd,dhk->bhtk", u, w[f"w{n}"]) + w[f"b{n}"][:, None] for n in "qkv")
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])  # (B, H, T, T)
    T = x.shape[1]
    scores = np.where(np.tril(np.ones((T, T), bool)), scores, -np.inf)  # key j <= query i
    a = np.exp(scores - scores.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    h = x + np.einsum("bhtk,hko->bto", a @ v, w["wo"]) + w["bo"]
    u = _layer_norm(h, w["ln2_gamma"], w["ln2_beta"])
    return h + np.maximum(u @ w["w1"] + w["b1"], 0) @ w["w2"] + w["b2"]


def kv_cache_bytes(B: int, L: int, S: int, d: int, dtype: str) -> int:
    """06.3 Two tensors (keys, values) of B x S x d numbers per layer."""
    return 2 * B * L * S * d * {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}[dtype]


def top_k_top_p(z: np.ndarray, k: int | None, p: float | None) -> np.ndarray:
    """06.4 Keep a token while the mass ranked *above* it is still below p: the token that
    crosses p stays in."""
    z = np.asarray(z, dtype=float)
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)  # the k largest (no ties in real logits)
    probs = np.exp(z - z.max())
    probs /= probs.sum()
    if p is not None:
        order = np.argsort(-probs)
        before = np.cumsum(probs[order]) - probs[order]
        drop = order[before >= p]
        probs[drop] = 0.0
        probs /= probs.sum()
    return probs


def gpt_param_count(V: int, S: int, d: int, L: int) -> int:
    """06.5 Heads split d into H slices of d / H: the projections stay d x d."""
    attention = 4 * (d * d + d)
    ffn = d * 4 * d + 4 * d + 4 * d * d + d
    block = attention + ffn + 2 * 2 * d  # two LayerNorms: gamma and beta each
    return V * d + S * d + L * block + 2 * d + d * V + V
