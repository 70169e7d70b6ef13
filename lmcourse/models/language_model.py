"""What every count-based language model of chapter 01 offers, and the uniform baseline.

:class:`LanguageModel` is the interface: a subclass gives the next-token distribution
``P(. | context)`` (shape ``(V,)``, summing to 1) and the log-probability of every position
of a text (shape ``(n,)``, in nats); scores (:meth:`~LanguageModel.cross_entropy`,
:meth:`~LanguageModel.perplexity`) and samples (:meth:`~LanguageModel.sample`) follow.
:class:`UniformLM` knows nothing (every token ``1 / |V|``): its perplexity is ``|V|``, the
number to beat. The n-gram models are :class:`lmcourse.models.ngram.NGramLM`.

Tokens are anything a :class:`~lmcourse.vocabulary.Vocabulary` holds; an integer NumPy array
is taken as ids already (:data:`TokenInput`).

Example:
    >>> from lmcourse.vocabulary import Vocabulary
    >>> lm = UniformLM(Vocabulary.from_tokens("abcd")).fit()
    >>> round(lm.perplexity("abca"), 9)                      # |V| = 4 tokens + <unk>
    5.0
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

from lmcourse import metrics
from lmcourse.vocabulary import Vocabulary

TokenInput = Sequence[Hashable] | str | np.ndarray
"""Tokens (any hashable, or a ``str`` of characters) or, as an integer NumPy array, their ids."""


class LanguageModel:
    """What every model of chapter 01 offers: next-token distributions, scores, samples.

    Subclasses implement :meth:`distribution` and :meth:`log_probs`; the rest follows.

    Args:
        vocab: the vocabulary; token ids index the distributions.
    """

    order: int = 1

    def __init__(self, vocab: Vocabulary) -> None:
        if not isinstance(vocab, Vocabulary):
            raise TypeError(
                f"vocab must be a lmcourse.vocabulary.Vocabulary, got {type(vocab).__name__}"
            )
        self.vocab = vocab

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def ids(self, tokens: TokenInput) -> np.ndarray:
        """Tokens -> ids of shape ``(n,)`` (an integer NumPy array is taken as ids already).

        Raises:
            ValueError: no tokens, or an id outside the vocabulary.
        """
        if isinstance(tokens, np.ndarray) and np.issubdtype(tokens.dtype, np.integer):
            ids = tokens.astype(np.int64, copy=False).reshape(-1)
            if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
                raise ValueError(f"token ids must be in 0..{self.vocab_size - 1}")
        else:
            ids = self.vocab.encode(tokens)
        if ids.size == 0:
            raise ValueError("got no tokens: pass a non-empty sequence of tokens")
        return ids

    def distribution(self, context: TokenInput = ()) -> np.ndarray:
        """P(next token | context) over the vocabulary: shape ``(len(vocab),)``, sums to 1."""
        raise NotImplementedError

    def log_probs(self, tokens: TokenInput) -> np.ndarray:
        """ln P(w_t | w_<t) for every position of a text: shape ``(n,)``, in nats."""
        raise NotImplementedError

    def prob(self, token: Hashable, context: TokenInput = ()) -> float:
        """P(token | context); an unknown token is scored as ``<unk>``."""
        return float(self.distribution(context)[self.vocab.token_to_id(token)])

    def cross_entropy(self, tokens: TokenInput) -> float:
        """Average negative log-likelihood of a text in nats per token:
        :math:`H = -\\frac{1}{N}\\sum_t \\ln P(w_t \\mid w_{<t})` (``inf`` if some P is 0)."""
        with np.errstate(divide="ignore"):
            return float(-np.mean(self.log_probs(tokens)))

    def perplexity(self, tokens: TokenInput) -> float:
        """:math:`e^H`: the branching factor, between 1 and ``len(vocab)`` for a sane model."""
        return metrics.perplexity(self.cross_entropy(tokens))

    def sample(
        self,
        n: int,
        rng: np.random.Generator | int | None = None,
        context: TokenInput = (),
    ) -> list[Hashable]:
        """Generate ``n`` tokens, each drawn from P(. | context + tokens drawn so far).

        Args:
            n: how many tokens to draw (>= 0).
            rng: a NumPy Generator, or a seed for one.
            context: tokens to start from (not included in the result).

        Returns:
            The ``n`` drawn tokens.
        """
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        rng = np.random.default_rng(rng)
        history = [int(i) for i in self.ids(context)] if len(context) else []
        keep = self.order - 1
        out = []
        for _ in range(n):
            ctx = np.asarray(history[max(0, len(history) - keep) :], dtype=np.int64)
            cdf = np.cumsum(self._distribution_ids(ctx))
            i = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
            i = min(i, self.vocab_size - 1)
            history.append(i)
            out.append(i)
        return self.vocab.decode(out)

    def _distribution_ids(self, ctx: np.ndarray) -> np.ndarray:
        return self.distribution(ctx)


class UniformLM(LanguageModel):
    """The baseline that knows nothing: every token has probability ``1 / len(vocab)``.

    Its cross-entropy is :math:`\\ln |V|` and its perplexity is exactly ``len(vocab)``, the
    number to beat.
    """

    order = 1

    def fit(self, tokens: TokenInput | None = None) -> UniformLM:
        """Nothing to learn; returns self (so it reads like the other models)."""
        return self

    def distribution(self, context: TokenInput = ()) -> np.ndarray:
        return np.full(self.vocab_size, 1.0 / self.vocab_size)

    def log_probs(self, tokens: TokenInput) -> np.ndarray:
        return np.full(self.ids(tokens).shape, -math.log(self.vocab_size))


__all__ = ["LanguageModel", "TokenInput", "UniformLM"]
