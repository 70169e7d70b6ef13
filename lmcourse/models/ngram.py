"""N-gram language models: counts, add-k and interpolated (Jelinek-Mercer) smoothing.

An order-``n`` model predicts a token from the ``n - 1`` tokens before it:

.. math::  P(w_t \\mid w_{<t}) \\approx P(w_t \\mid w_{t-n+1}, \\ldots, w_{t-1})

Tokens are anything a :class:`~lmcourse.vocabulary.Vocabulary` holds: words in chapter 01,
characters in chapter 04. Counting is vectorized with NumPy (sorting integer keys), so an
order-5 model of 4.5 M characters fits in a few seconds.
The interface every model shares (scores, samples) and the uniform baseline are in
:mod:`lmcourse.models.language_model`.

How a context is turned into a distribution over the vocabulary (``smoothing``):

- ``"mle"``: relative counts :math:`c(h, w) / c(h)`. A context never seen in training backs
  off to its longest seen suffix; a token never seen after a seen context gets probability 0,
  so held-out perplexity is usually infinite. For teaching, not for scoring.
- ``"add_k"``: :math:`(c(h, w) + k) / (c(h) + k|V|)`. An unseen context gives the uniform
  distribution.
- ``"interpolated"``: recursive Jelinek-Mercer,
  :math:`P_n(w \\mid h_n) = \\lambda_n \\frac{c(h_n, w)}{c(h_n)} + (1 - \\lambda_n)
  P_{n-1}(w \\mid h_{n-1})`, where :math:`h_n` is the last ``n - 1`` tokens of the context
  and the recursion ends in the uniform distribution :math:`P_0 = 1/|V|` (``lambdas[n - 1]``
  is :math:`\\lambda_n`). A level whose context was never seen is skipped (its weight goes to
  the level below), so every distribution sums to 1. :meth:`NGramLM.fit_lambdas` tunes the
  weights on held-out text.

At the start of a text, where fewer than ``n - 1`` tokens precede a position, the model uses
the context it has (an order-3 model scores the second token with a bigram context).

Example:
    >>> from lmcourse.vocabulary import Vocabulary
    >>> tokens = "the cat sat on the mat the cat ran".split()
    >>> vocab = Vocabulary.from_tokens(tokens)
    >>> lm = NGramLM(2, vocab, smoothing="mle").fit(tokens)
    >>> lm.prob("cat", ["the"])  # c(the cat) / c(the) = 2 / 3
    0.6666666666666666
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lmcourse._checks import check_int, check_number
from lmcourse.models.language_model import LanguageModel, TokenInput
from lmcourse.vocabulary import Vocabulary

SMOOTHINGS = ("mle", "add_k", "interpolated")


def _lookup(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each query in sorted ``keys``, or -1 where it is absent. Shapes (n,) -> (n,)."""
    if keys.size == 0:
        return np.full(query.shape, -1, dtype=np.int64)
    pos = np.searchsorted(keys, query)
    pos_c = np.minimum(pos, keys.size - 1)
    return np.where(keys[pos_c] == query, pos_c, -1)


class NGramLM(LanguageModel):
    """An n-gram language model over any hashable tokens.

    Args:
        order: n, the length of the n-grams (1 = unigram, 2 = bigram, ...); the model looks
            at ``order - 1`` previous tokens.
        vocab: the vocabulary (build it from the training tokens).
        smoothing: ``"mle"``, ``"add_k"`` or ``"interpolated"`` (see the module docstring).
        k: the pseudo-count of add-k smoothing, > 0 (1 = Laplace).
        lambdas: interpolation weights, one per context length ``m = 0 .. order - 1``
            (``lambdas[m]`` weighs the (m+1)-gram counts against the lower orders), each in
            [0, 1]. None -> 0.9 for the unigram level and 0.6 above.

    Attributes:
        counts_by_order: ``{n: number of distinct n-grams seen}`` after :meth:`fit`.

    Example:
        >>> from lmcourse.vocabulary import Vocabulary
        >>> vocab = Vocabulary.from_tokens("abracadabra")  # characters are tokens too
        >>> lm = NGramLM(3, vocab, smoothing="interpolated").fit("abracadabra")
        >>> round(float(lm.distribution("ab").sum()), 12)
        1.0
    """

    def __init__(
        self,
        order: int,
        vocab: Vocabulary,
        smoothing: str = "interpolated",
        k: float = 1.0,
        lambdas: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        super().__init__(vocab)
        self.order = check_int("order", order, hint="1 = unigram, 2 = bigram, ...")
        self.smoothing = smoothing
        self.k = k
        self.lambdas = lambdas if lambdas is not None else [0.9] + [0.6] * (self.order - 1)
        self._fitted = False

    # -- hyperparameters: settable after fit (the counts stay; only how they are read changes)

    @property
    def smoothing(self) -> str:
        """How counts become probabilities: ``"mle"``, ``"add_k"`` or ``"interpolated"``."""
        return self._smoothing

    @smoothing.setter
    def smoothing(self, value: str) -> None:
        if value not in SMOOTHINGS:
            raise ValueError(f"smoothing={value!r} is unknown: choose one of {SMOOTHINGS}")
        self._smoothing = value

    @property
    def k(self) -> float:
        """The add-k pseudo-count (> 0)."""
        return self._k

    @k.setter
    def k(self, value: float) -> None:
        self._k = check_number("k", value, low=0, low_open=True, hint="the add-k pseudo-count")

    @property
    def lambdas(self) -> np.ndarray:
        """Interpolation weights, shape ``(order,)``; ``lambdas[m]`` for context length m."""
        return self._lambdas.copy()

    @lambdas.setter
    def lambdas(self, value: Sequence[float] | np.ndarray) -> None:
        lam = np.asarray(value, dtype=np.float64).reshape(-1)
        if lam.shape != (self.order,):
            raise ValueError(
                f"lambdas needs {self.order} weights (one per context length 0..{self.order - 1})"
                f", got {lam.size}"
            )
        if not np.all((lam >= 0) & (lam <= 1)):
            raise ValueError(f"every lambda must be in [0, 1], got {lam.tolist()}")
        self._lambdas = lam

    def __repr__(self) -> str:
        extra = {"add_k": f", k={self.k:g}", "interpolated": f", lambdas={self.lambdas.round(3)}"}
        return (
            f"NGramLM(order={self.order}, vocab_size={self.vocab_size}, "
            f"smoothing={self.smoothing!r}{extra.get(self.smoothing, '')})"
        )

    # -- training ------------------------------------------------------------------------

    def fit(self, tokens: TokenInput) -> NGramLM:
        """Count every m-gram (m = 1 .. order) of the training tokens.

        Args:
            tokens: the training text as tokens (or an integer array of ids), shape ``(N,)``.
                Unknown tokens count as ``<unk>``.

        Returns:
            self.
        """
        ids = self.ids(tokens)
        n, v = ids.size, self.vocab_size
        if n * v >= 2**62:
            raise ValueError(f"{n} tokens x {v} types is too large for 64-bit n-gram keys")
        # Context "m" at position t is (w[t-m], ..., w[t-1]); its id comes from the id of the
        # shorter context (w[t-m+1], ...) and the token w[t-m] (a trie over reversed contexts).
        # ctx_keys[m]: sorted keys parent_id * V + token of the contexts of length m.
        # ctx_count[m]: how often each of those contexts is followed by a token.
        # ng_keys[m], ng_count[m]: the (context of length m, next token) pairs and their counts.
        self._ctx_keys = [np.zeros(1, dtype=np.int64)]
        self._ctx_count = [np.array([n], dtype=np.int64)]
        self._ng_keys, self._ng_count = [], []
        ctx = np.zeros(n, dtype=np.int64)  # context ids of positions m .. n-1 (level m)
        for m in range(self.order):
            if m > 0:
                parent = ctx[1:]  # level m-1 ids at positions m .. n-1
                keys, ctx = np.unique(parent * v + ids[: n - m], return_inverse=True)
                self._ctx_keys.append(keys)
                self._ctx_count.append(np.bincount(ctx, minlength=keys.size))
            keys, counts = np.unique(ctx * v + ids[m:], return_counts=True)
            self._ng_keys.append(keys)
            self._ng_count.append(counts)
            if ctx.size == 0:
                break
        while len(self._ng_keys) < self.order:  # text shorter than the order
            self._ctx_keys.append(np.zeros(0, dtype=np.int64))
            self._ctx_count.append(np.zeros(0, dtype=np.int64))
            self._ng_keys.append(np.zeros(0, dtype=np.int64))
            self._ng_count.append(np.zeros(0, dtype=np.int64))
        self.counts_by_order = {m + 1: int(k.size) for m, k in enumerate(self._ng_keys)}
        self.num_tokens = n
        self._fitted = True
        return self

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError("this NGramLM is not fitted yet: call fit(train_tokens) first")

    def count(self, ngram: TokenInput) -> int:
        """How often an n-gram (1 <= length <= order) occurred in the training tokens."""
        self._check_fitted()
        ids = self.ids(ngram)
        if ids.size > self.order:
            raise ValueError(
                f"an order-{self.order} model counts n-grams up to length {self.order}"
            )
        ctx_id = self._context_ids(ids[:-1])[-1]
        if ctx_id < 0:
            return 0
        j = _lookup(self._ng_keys[ids.size - 1], np.array([ctx_id * self.vocab_size + ids[-1]]))
        return int(self._ng_count[ids.size - 1][j[0]]) if j[0] >= 0 else 0

    # -- scoring -------------------------------------------------------------------------

    def _context_ids(self, ctx: np.ndarray) -> list[int]:
        """Ids of the contexts ctx[-m:] for m = 0 .. len(ctx) (-1 once one is unseen)."""
        out, cur = [0], 0
        for m in range(1, min(len(ctx), self.order - 1) + 1):
            if cur >= 0:
                j = _lookup(self._ctx_keys[m], np.array([cur * self.vocab_size + ctx[-m]]))[0]
                cur = int(j)
            out.append(cur)
        return out

    def _mle_rows(self, ctx: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """For each usable context length m: (token ids, counts, total) of what followed it."""
        rows = []
        v = self.vocab_size
        for m, cid in enumerate(self._context_ids(ctx)):
            total = int(self._ctx_count[m][cid]) if cid >= 0 else 0
            if total == 0:
                break
            keys = self._ng_keys[m]
            lo, hi = np.searchsorted(keys, [cid * v, (cid + 1) * v])
            rows.append((keys[lo:hi] - cid * v, self._ng_count[m][lo:hi], total))
        return rows

    def _distribution_ids(self, ctx: np.ndarray) -> np.ndarray:
        self._check_fitted()
        v = self.vocab_size
        ctx = ctx[max(0, len(ctx) - (self.order - 1)) :] if self.order > 1 else ctx[:0]
        rows = self._mle_rows(ctx)
        if self.smoothing == "add_k":
            if len(rows) < len(ctx) + 1:  # the context was never seen: (0 + k) / (0 + kV)
                return np.full(v, 1.0 / v)
            tok, cnt, total = rows[-1]
            dist = np.full(v, self.k)
            dist[tok] += cnt
            return dist / (total + self.k * v)
        if self.smoothing == "mle":
            tok, cnt, total = rows[-1]
            dist = np.zeros(v)
            dist[tok] = cnt / total
            return dist
        dist = np.full(v, 1.0 / v)
        for m, (tok, cnt, total) in enumerate(rows):
            lam = self._lambdas[m]
            dist *= 1.0 - lam
            dist[tok] += lam * cnt / total
        return dist

    def distribution(self, context: TokenInput = ()) -> np.ndarray:
        """P(next token | context) for every token of the vocabulary.

        Args:
            context: the preceding tokens (only the last ``order - 1`` are used); may be empty.

        Returns:
            Probabilities of shape ``(len(vocab),)`` that sum to 1.
        """
        ids = self.ids(context) if len(context) else np.zeros(0, dtype=np.int64)
        return self._distribution_ids(ids)

    def _level_counts(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Counts for every position t and context length m of a text.

        Returns:
            ``(c_hw, c_h)``, both shape ``(order, n)``: ``c_h[m, t]`` is the training count of
            the context w[t-m:t] (0 if unseen or t < m) and ``c_hw[m, t]`` that of the
            context followed by w[t].
        """
        self._check_fitted()
        n, v = ids.size, self.vocab_size
        c_hw = np.zeros((self.order, n), dtype=np.int64)
        c_h = np.zeros((self.order, n), dtype=np.int64)
        ctx = np.zeros(n, dtype=np.int64)  # context ids, -1 = unseen or not available
        for m in range(self.order):
            if m > 0:
                parent = ctx
                ctx = np.full(n, -1, dtype=np.int64)
                ok = parent[m:] >= 0
                q = parent[m:][ok] * v + ids[: n - m][ok]
                sub = ctx[m:]
                sub[ok] = _lookup(self._ctx_keys[m], q)
            seen = ctx >= 0
            c_h[m, seen] = self._ctx_count[m][ctx[seen]]
            j = _lookup(self._ng_keys[m], ctx[seen] * v + ids[seen])
            c_hw[m, seen] = np.where(j >= 0, self._ng_count[m][j], 0)
        return c_hw, c_h

    def log_probs(self, tokens: TokenInput) -> np.ndarray:
        """ln P(w_t | w_<t) for every position of a text, in nats.

        Args:
            tokens: the text as tokens (or ids), shape ``(n,)``.

        Returns:
            Shape ``(n,)``; ``-inf`` where an MLE model gives probability 0.
        """
        ids = self.ids(tokens)
        c_hw, c_h = self._level_counts(ids)
        v = self.vocab_size
        seen = c_h > 0
        if self.smoothing == "add_k":
            # The longest available context: order-1 tokens, or all of them near the start.
            m = np.minimum(np.arange(ids.size), self.order - 1)
            cols = np.arange(ids.size)
            p = (c_hw[m, cols] + self.k) / (c_h[m, cols] + self.k * v)
        elif self.smoothing == "mle":
            m = seen.sum(axis=0) - 1  # the longest seen context (the unigram level always is)
            cols = np.arange(ids.size)
            p = c_hw[m, cols] / c_h[m, cols]
        else:
            p = np.full(ids.size, 1.0 / v)
            with np.errstate(invalid="ignore", divide="ignore"):
                mle = np.where(seen, c_hw / np.maximum(c_h, 1), 0.0)
            for m in range(self.order):
                lam = np.where(seen[m], self._lambdas[m], 0.0)
                p = lam * mle[m] + (1.0 - lam) * p
        with np.errstate(divide="ignore"):
            return np.log(p)

    def fit_lambdas(
        self, tokens: TokenInput, *, max_iter: int = 200, tol: float = 1e-6
    ) -> np.ndarray:
        """Tune the interpolation weights on held-out text by expectation-maximization.

        Each position's probability is a mixture of the per-order MLEs and the uniform
        distribution; EM alternates between "which order explains each token" (posterior
        responsibilities) and "re-estimate each lambda from them". Every step lowers the
        held-out cross-entropy, and it stops once a step gains less than ``tol`` nats/token.
        Use held-out text: on the training text the answer is "trust the longest n-gram".

        Args:
            tokens: held-out tokens (or ids), shape ``(n,)``.
            max_iter: at most this many EM steps.
            tol: stop when the cross-entropy improves by less than this (nats/token).

        Returns:
            The fitted lambdas, shape ``(order,)`` (also set on the model).
        """
        ids = self.ids(tokens)
        c_hw, c_h = self._level_counts(ids)
        seen = c_h > 0
        mle = np.where(seen, c_hw / np.maximum(c_h, 1), 0.0)  # (order, n)
        uniform = 1.0 / self.vocab_size
        lam = np.clip(self._lambdas, 1e-4, 1 - 1e-4)
        prev = np.inf
        for _ in range(max_iter):
            # beta[m, t]: mixture weight of level m at t (top level first, the rest passed down).
            beta = np.zeros_like(mle)
            rest = np.ones(ids.size)
            for m in range(self.order - 1, -1, -1):
                lm = np.where(seen[m], lam[m], 0.0)
                beta[m] = rest * lm
                rest = rest * (1.0 - lm)
            parts = beta * mle
            total = parts.sum(axis=0) + rest * uniform
            ce = float(-np.mean(np.log(total)))
            resp = parts / total  # (order, n): posterior that level m produced w_t
            # reached[m, t]: posterior that the recursion got down to level m at t.
            above = np.cumsum(resp[::-1], axis=0)[::-1]  # sum over levels >= m
            reached = 1.0 - above + resp
            denom = (reached * seen).sum(axis=1)
            lam = np.where(denom > 0, resp.sum(axis=1) / np.maximum(denom, 1e-300), lam)
            lam = np.clip(lam, 1e-4, 1 - 1e-4)
            if prev - ce < tol:
                break
            prev = ce
        self.lambdas = lam
        return self.lambdas


def ngram_summary(model: NGramLM) -> dict[str, Any]:
    """A few facts about a fitted model for printing: order, tokens, distinct n-grams."""
    model._check_fitted()
    return {
        "order": model.order,
        "smoothing": model.smoothing,
        "train_tokens": model.num_tokens,
        "vocab_size": model.vocab_size,
        **{f"distinct_{n}grams": c for n, c in model.counts_by_order.items()},
    }
