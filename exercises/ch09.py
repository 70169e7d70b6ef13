"""Chapter 09 — checked exercises. Write each function, then run `lmcourse check 09`.

The same stubs are at the end of chapters/09_evaluation_regularization.ipynb, where
`check("09", globals())` checks what you wrote in the notebook instead. Solutions:
solutions/ch09.py (try first).
"""


def perplexity_from_bits(bits):
    """09.1 Perplexity ``2 ** bits`` of a cross-entropy in bits per token (a number or an
    array of them)."""
    raise NotImplementedError


def clipped_matches(hyp, refs, n):
    """09.2 How many of ``hyp``'s n-grams (``hyp``: a list of tokens) occur in the references
    (``refs``: a list of token lists), each n-gram counted at most as often as the reference
    that has it most often."""
    raise NotImplementedError


def ece(confidence, correct, n_bins=10):
    """09.3 Expected calibration error of ``confidence`` (N,) in [0, 1] and ``correct`` (N,)
    0/1: equal-width bins (lo, hi] (the first bin also holds 0), ``sum_b n_b / N *
    |mean(correct in b) - mean(confidence in b)|`` over the non-empty bins."""
    raise NotImplementedError
