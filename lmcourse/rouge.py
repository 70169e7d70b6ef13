"""ROUGE (Lin, 2004): n-gram and longest-common-subsequence overlap, the summary metric.

ROUGE-N counts shared n-grams (recall: of the reference's; precision: of the hypothesis's);
ROUGE-L uses the longest common subsequence (LCS), words in the same order but not
necessarily adjacent. Each gives an F-measure per sentence; a corpus score is their mean.
:func:`rouge_scores` wraps Google's ``rouge-score`` package (the reference implementation,
also what ``keras_hub.metrics.RougeL``/``RougeN`` call).

Example:
    >>> lcs_length("the cat sat on the mat".split(), "the cat was on a mat".split())
    4
    >>> scores = rouge_scores(["the cat sat on the mat"], ["the cat was on a mat"])
    >>> round(float(scores["rougeL"].mean()), 4)
    0.6667
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (dynamic programming,
    O(len(a) * len(b)))."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_scores(
    hypotheses: Sequence[str],
    references: Sequence[str],
    types: Sequence[str] = ROUGE_TYPES,
    *,
    use_stemmer: bool = False,
) -> dict[str, np.ndarray]:
    """Per-sentence ROUGE F-measures from ``rouge-score``: ``{type: array of shape (N,)}``.

    One reference string per hypothesis (``rouge-score`` lowercases and keeps letters and
    digits only).

    Raises:
        ValueError: no hypotheses, unequal lengths, a reference that is not a string, or an
            unknown type.
    """
    from rouge_score import rouge_scorer

    if isinstance(hypotheses, str) or not len(hypotheses):
        raise ValueError("hypotheses: give a non-empty list of strings, one per document")
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    bad = next((i for i, r in enumerate(references) if not isinstance(r, str)), None)
    if bad is not None:
        raise ValueError(f"references[{bad}] is not a string: ROUGE here takes one reference each")
    unknown = [t for t in types if t not in ("rougeL", "rougeLsum") and not t[5:].isdigit()]
    if unknown or not all(t.startswith("rouge") for t in types):
        raise ValueError(f"ROUGE types {list(types)}: use e.g. 'rouge1', 'rouge2', 'rougeL'")
    scorer = rouge_scorer.RougeScorer(list(types), use_stemmer=use_stemmer)
    rows = [scorer.score(r, h) for h, r in zip(hypotheses, references, strict=True)]
    return {t: np.array([row[t].fmeasure for row in rows]) for t in types}
