"""Raw text to words: cleaning and normalization, English words, Chinese characters and words.

* :func:`clean_text` - Unicode normalization (NFC/NFKC), case, accents, punctuation, spaces.
* :func:`word_tokenize` / :func:`detokenize` - lower-case words and punctuation (chapter 01);
  a line break is the token ``"\\n"`` (:data:`NEWLINE`).
* :func:`chinese_chars` / :func:`chinese_words` - Chinese by character or by word (jieba),
  and :func:`segmentation_scores`, a segmenter's word precision/recall/F1 against a gold
  segmentation.

The words become ids through a :class:`lmcourse.vocabulary.Vocabulary`; the tokenizers of the
neural models (characters, WordPiece) are in :mod:`lmcourse.text`, BPE in :mod:`lmcourse.bpe`.

Example:
    >>> tokens = word_tokenize("To be, or not to be:\\nthat is the question.")
    >>> tokens[:6]
    ['to', 'be', ',', 'or', 'not', 'to']
    >>> detokenize(tokens[:10])
    'to be, or not to be:\\nthat'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

NEWLINE = "\n"

# A word: letters/digits with inner apostrophes (o'er) and elisions at either end ('tis, th');
# a run of dashes; or any other single non-space character (punctuation). Text is lower-cased.
_TOKEN = re.compile(r"\n|'?[a-z0-9]+(?:'[a-z0-9]+)*'?|-+|[^\sa-z0-9]")
_BLANK_LINES = re.compile(r"[ \t\r\f\v]*\n(?:[ \t\r\f\v]*\n)+")
_NO_SPACE_BEFORE = set(".,;:!?)]}-\n")
_NO_SPACE_AFTER = set("([{-\n")


def word_tokenize(text: str, *, newlines: bool = True) -> list[str]:
    """Split text into lower-case words and punctuation marks.

    Args:
        text: any text.
        newlines: if True, a line break is the token ``"\\n"`` and a run of blank lines is kept
            as one blank line (two ``"\\n"``); if False, line breaks are plain white space.

    Returns:
        The tokens, in order. ``"don't"`` and ``"'tis"`` stay one word; ``"--"`` is one token.

    Raises:
        ValueError: the text has no tokens (empty or only white space).

    Example:
        >>> word_tokenize("O Romeo, Romeo!\\n\\n\\nWherefore art thou")
        ['o', 'romeo', ',', 'romeo', '!', '\\n', '\\n', 'wherefore', 'art', 'thou']
    """
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize expects a str, got {type(text).__name__}")
    text = _BLANK_LINES.sub("\n\n", text.lower())
    if not newlines:
        text = text.replace("\n", " ")
    tokens = _TOKEN.findall(text)
    if not any(t != NEWLINE for t in tokens):
        raise ValueError("word_tokenize got a text with no words: pass a non-empty text")
    return tokens


def detokenize(tokens: Iterable[str]) -> str:
    """Join word tokens back into readable text (the inverse of :func:`word_tokenize`, up to
    case and spacing): no space before punctuation, ``"\\n"`` tokens become line breaks."""
    out: list[str] = []
    prev = NEWLINE
    for tok in tokens:
        if out and prev not in _NO_SPACE_AFTER and tok not in _NO_SPACE_BEFORE:
            out.append(" ")
        out.append(tok)
        prev = tok
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Cleaning and normalization
# ---------------------------------------------------------------------------------------------

UNICODE_FORMS = ("NFC", "NFD", "NFKC", "NFKD")
_SPACES = re.compile(r"\s+")


def clean_text(
    text: str,
    *,
    form: str | None = "NFC",
    lowercase: bool = False,
    strip_accents: bool = False,
    strip_punctuation: bool = False,
    collapse_whitespace: bool = False,
) -> str:
    """Normalize text before tokenizing it; each option merges strings a model then cannot tell apart.

    Args:
        form: Unicode normalization: ``"NFC"`` composes ``e`` + combining accent into ``é``
            (same look, same bytes after); ``"NFKC"`` also folds *compatibility* variants -
            full-width ``Ａ１`` to ``A1``, the ligature ``ﬁ`` to ``fi``, Chinese ``，`` to
            ``,``; None leaves the text as it is.
        lowercase: ``"Will"`` (a name) and ``"will"`` become one token.
        strip_accents: drop combining marks (``café`` -> ``cafe``; also Pinyin tones).
        strip_punctuation: delete every character of a Unicode punctuation category (P*);
            ``"don't"`` -> ``"dont"``.
        collapse_whitespace: runs of any white space (tabs, line breaks, no-break and
            ideographic spaces) -> one space, and none at either end.

    Raises:
        ValueError: an unknown ``form``.
    """
    if not isinstance(text, str):
        raise TypeError(f"clean_text expects a str, got {type(text).__name__}")
    if form is not None and form not in UNICODE_FORMS:
        raise ValueError(
            f"form={form!r} is not a Unicode normalization form: use one of "
            f"{', '.join(UNICODE_FORMS)} or None"
        )
    if form is not None:
        text = unicodedata.normalize(form, text)
    if lowercase:
        text = text.lower()
    if strip_accents:
        text = "".join(
            c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
        )
        text = unicodedata.normalize(form or "NFC", text)
    if strip_punctuation:
        text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    if collapse_whitespace:
        text = _SPACES.sub(" ", text).strip()
    return text


# ---------------------------------------------------------------------------------------------
# Chinese
# ---------------------------------------------------------------------------------------------


def chinese_chars(text: str) -> list[str]:
    """Chinese as characters: every non-space character is a token (no segmenter needed).

    Raises:
        ValueError: the text has no characters.
    """
    tokens = [c for c in text if not c.isspace()]
    if not tokens:
        raise ValueError("chinese_chars got an empty text: pass at least one character")
    return tokens


def chinese_words(text: str, *, hmm: bool = True) -> list[str]:
    """Chinese as words, segmented by jieba (a dictionary + an HMM for unknown words).

    Args:
        hmm: let jieba's HMM join characters into words its dictionary lacks.

    Raises:
        ValueError: the text has no characters.

    Example:
        >>> chinese_words("我来到北京清华大学")  # doctest: +SKIP
        ['我', '来到', '北京', '清华大学']
    """
    if not text or text.isspace():
        raise ValueError("chinese_words got an empty text: pass at least one character")
    return [w for w in _jieba().lcut(text, HMM=hmm) if not w.isspace()]


def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs "Building prefix dict ..." on first use
    return jieba


def segmentation_scores(
    predicted: Iterable[Sequence[str]], gold: Iterable[Sequence[str]]
) -> dict[str, float]:
    """Score a word segmenter against a hand-segmented gold standard (word precision/recall/F1).

    A predicted word counts as correct when the gold segmentation has a word with exactly the
    same start and end in the text. Each pair of segmentations must spell the same text.

    Args:
        predicted, gold: one list of words per sentence, in the same order.

    Returns:
        ``{"precision", "recall", "f1"}``.

    Example:
        >>> segmentation_scores([["研究", "生命"]], [["研究生", "命"]])["f1"]
        0.0
    """
    correct = n_pred = n_gold = 0
    for k, (pred, ref) in enumerate(zip(predicted, gold, strict=True)):
        if "".join(pred) != "".join(ref):
            raise ValueError(
                f"sentence {k}: the predicted and gold words spell different texts "
                "(segment the gold text itself, normalized the same way)"
            )
        spans = [_spans(pred), _spans(ref)]
        correct += len(spans[0] & spans[1])
        n_pred, n_gold = n_pred + len(spans[0]), n_gold + len(spans[1])
    precision, recall = correct / max(n_pred, 1), correct / max(n_gold, 1)
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _spans(words: Sequence[str]) -> set[tuple[int, int]]:
    out, i = set(), 0
    for w in words:
        out.add((i, i + len(w)))
        i += len(w)
    return out
