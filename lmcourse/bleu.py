"""BLEU (Papineni et al., 2002) from n-gram counts, as sacrebleu computes it.

Corpus BLEU adds up, over all sentences, the clipped n-gram matches and the n-gram totals
(n = 1..4), then takes the geometric mean of the four precisions times a brevity penalty:

    BLEU = BP * exp(mean_n log p_n),   p_n = sum clipped matches_n / sum hypothesis n-grams_n,
    BP = 1 if c > r else exp(1 - r / c)

with c the hypotheses' length and r the references' (for each sentence, the reference length
closest to the hypothesis, the shorter at a tie). Per-sentence statistics (:func:`statistics`)
sum to the corpus's, so a bootstrap resamples sentences without recounting n-grams.

Example:
    >>> hyp = ["the cat sat on the mat"]
    >>> refs = [["the cat sat on a mat", "a cat was sitting on the mat"]]
    >>> round(corpus_bleu(hyp, refs).score, 4)
    67.56
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_ORDER = 4
Tokenizer = Callable[[str], list[str]]


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """The n-grams of ``tokens`` with their counts."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def check_inputs(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    """Raise ValueError unless there is one list of reference strings per hypothesis string."""
    if isinstance(hypotheses, str) or len(hypotheses) == 0:
        raise ValueError("hypotheses: give a non-empty list of strings, one per sentence")
    if len(references) != len(hypotheses):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} reference lists: give each "
            "hypothesis its list of references, references[i] = [ref, ...]"
        )
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not refs or not all(isinstance(r, str) for r in refs):
            raise ValueError(
                f"references[{i}] is {refs!r:.60}: each item must be a non-empty list of "
                "reference strings, e.g. [[ref] for ref in refs] for one reference each"
            )


def sentence_statistics(hyp: Sequence[str], refs: Sequence[Sequence[str]]) -> np.ndarray:
    """``[matches_1..4, totals_1..4, hyp_len, ref_len]`` of one tokenized sentence, shape (10,).

    A hypothesis n-gram matches at most as often as it occurs in any one reference (clipping).
    """
    stats = np.zeros(2 * MAX_ORDER + 2)
    for n in range(1, MAX_ORDER + 1):
        counts = ngrams(hyp, n)
        most = Counter()
        for ref in refs:
            most |= ngrams(ref, n)  # |: the maximum count over references
        stats[n - 1] = sum(min(c, most[g]) for g, c in counts.items())
        stats[MAX_ORDER + n - 1] = max(len(hyp) - n + 1, 0)
    stats[-2] = len(hyp)
    stats[-1] = min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]  # closest; shorter at ties
    return stats


def statistics(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]], tokenize: Tokenizer = str.split
) -> np.ndarray:
    """Per-sentence BLEU statistics, shape (N, 10) (see :func:`sentence_statistics`)."""
    check_inputs(hypotheses, references)
    return np.stack(
        [
            sentence_statistics(tokenize(h), [tokenize(r) for r in refs])
            for h, refs in zip(hypotheses, references, strict=True)
        ]
    )


@dataclass(frozen=True)
class BleuScore:
    score: float  # 0-100
    precisions: tuple[float, ...]  # p_1..p_4 in percent
    brevity_penalty: float
    hyp_len: int
    ref_len: int

    @property
    def ratio(self) -> float:
        return self.hyp_len / self.ref_len if self.ref_len else 0.0


def score_statistics(stats: np.ndarray, smooth: str = "exp") -> BleuScore:
    """BLEU of summed statistics (shape (10,)); ``smooth="exp"`` is sacrebleu's default: an
    n-gram order with no match counts as 1 / (2^k * total) instead of 0 (k-th such order),
    unless no order has a match at all (then BLEU is 0)."""
    if smooth not in ("exp", "none"):
        raise ValueError(f"smooth={smooth!r}: use 'exp' (sacrebleu's default) or 'none'")
    matches, totals = stats[:MAX_ORDER], stats[MAX_ORDER : 2 * MAX_ORDER]
    hyp_len, ref_len = float(stats[-2]), float(stats[-1])
    bp = 1.0 if hyp_len >= ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0)
    precisions, factor = [0.0] * MAX_ORDER, 1.0
    if not matches.any():  # no n-gram of any order matches: 0, whatever the smoothing
        return BleuScore(0.0, tuple(precisions), bp, int(hyp_len), int(ref_len))
    for n in range(MAX_ORDER):
        if totals[n] == 0:
            break
        if matches[n] == 0 and smooth == "exp":
            factor *= 2
            precisions[n] = 100.0 / (factor * totals[n])
        else:
            precisions[n] = 100.0 * matches[n] / totals[n]
    logs = [math.log(p) if p > 0 else -9999999999.0 for p in precisions]
    score = bp * math.exp(sum(logs) / MAX_ORDER)
    return BleuScore(score, tuple(precisions), bp, int(hyp_len), int(ref_len))


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    tokenize: Tokenizer = str.split,
    smooth: str = "exp",
) -> BleuScore:
    """Corpus BLEU of ``hypotheses`` (N strings) against ``references`` (N lists of strings).

    ``tokenize`` splits a string into tokens (white space by default; pass
    :func:`sacrebleu_tokenizer` ``("13a")`` to match sacrebleu's default).
    """
    return score_statistics(statistics(hypotheses, references, tokenize).sum(0), smooth)


def sacrebleu_tokenizer(name: str = "13a") -> Tokenizer:
    """sacrebleu's tokenizer ``name`` as a function str -> list of tokens."""
    from sacrebleu.metrics import BLEU

    try:
        tok = BLEU(tokenize=name).tokenizer
    except KeyError:
        raise ValueError(
            f"tokenizer {name!r} unknown: try '13a' (the default), 'intl' or 'none'"
        ) from None
    return lambda text: tok(text.rstrip()).split()


def sacrebleu_score(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]], tokenize: str = "13a"
) -> tuple[float, str]:
    """sacrebleu's corpus BLEU and its signature string, from per-hypothesis reference lists
    (the nesting of :func:`corpus_bleu`; sacrebleu itself wants one list per reference
    *stream*)."""
    from sacrebleu.metrics import BLEU

    check_inputs(hypotheses, references)
    if len({len(r) for r in references}) != 1:
        raise ValueError("sacrebleu needs the same number of references for every hypothesis")
    streams = [list(s) for s in zip(*references, strict=True)]
    metric = BLEU(tokenize=tokenize)
    return metric.corpus_score(list(hypotheses), streams).score, str(metric.get_signature())
