"""Chapter 06 — checked exercises. Write each function, then run `lmcourse check 06`.

The same stubs are at the end of chapters/06_transformer_gpt.ipynb, where
`check("06", globals())` checks what you wrote in the notebook instead. Solutions:
solutions/ch06.py (try first). Work in NumPy; no Keras needed.
"""

import numpy as np


def sinusoidal_encoding(length: int, d: int) -> np.ndarray:
    """06.1 The sinusoidal position encodings, shape ``(length, d)`` for an even ``d``:
    ``PE[t, 2i] = sin(t / 10000^(2i/d))`` and ``PE[t, 2i+1] = cos(t / 10000^(2i/d))`` for
    positions ``t = 0 .. length - 1`` and pairs ``i = 0 .. d/2 - 1``."""
    raise NotImplementedError


def pre_ln_block(x: np.ndarray, w: dict) -> np.ndarray:
    """06.2 One causal pre-LN Transformer block: ``x (B, T, d) -> (B, T, d)``.

    ``h = x + MHA(LN1(x))``, then ``h + FFN(LN2(h))`` with ``FFN(u) = relu(u W1 + b1) W2 + b2``
    and ``LN(u) = gamma * (u - mean) / sqrt(var + 1e-5) + beta`` over the last axis.
    MHA: ``Q = u Wq + bq`` per head (``w["wq"]`` is ``(d, H, d_head)``, ``w["bq"]`` is
    ``(H, d_head)``; the same for K and V), weights ``softmax(Q K^T / sqrt(d_head))`` with
    the keys after each query masked out, heads ``A V``, output ``sum_h heads_h Wo_h + bo``
    (``w["wo"]`` is ``(H, d_head, d)``, ``w["bo"]`` is ``(d,)``). The keys of ``w``:
    ln1_gamma, ln1_beta, wq, bq, wk, bk, wv, bv, wo, bo, ln2_gamma, ln2_beta, w1, b1, w2, b2.
    Hint: ``np.einsum("btd,dhk->bhtk", u, w["wq"])`` projects all heads at once."""
    raise NotImplementedError


def kv_cache_bytes(B: int, L: int, S: int, d: int, dtype: str) -> int:
    """06.3 The bytes of a GPT's key/value cache: keys *and* values of ``S`` positions, in each
    of ``L`` layers, for ``B`` sequences, ``d = H * d_head`` numbers per key; ``dtype`` is one
    of "float32" (4 bytes a number), "float16", "bfloat16" (2), "int8" (1)."""
    raise NotImplementedError


def top_k_top_p(z: np.ndarray, k: int | None, p: float | None) -> np.ndarray:
    """06.4 The distribution a sampler draws from, for logits ``z`` of shape ``(V,)``: keep the
    ``k`` largest logits (``None``: all), softmax over the kept ones; then keep the smallest
    set of the most likely tokens whose probabilities sum to at least ``p`` (``None``: all)
    and renormalize. Returns ``(V,)`` probabilities, exactly 0 for every token dropped."""
    raise NotImplementedError


def gpt_param_count(V: int, S: int, d: int, L: int) -> int:
    """06.5 The parameters of ``build_gpt(V, S, d_model=d, num_layers=L)``: token and learned
    position embeddings, ``L`` pre-LN blocks (attention: four ``d x d`` projections with
    biases; two LayerNorms; a feed-forward network ``d -> 4d -> d`` with biases), a final
    LayerNorm and a ``d -> V`` output layer with a bias. The number of heads does not matter:
    why?"""
    raise NotImplementedError
