"""Chapter 03 — checked exercises. Write each function, then run `lmcourse check 03`.

The same stubs are at the end of chapters/03_text_preprocessing.ipynb, where
`check("03", globals())` checks what you wrote in the notebook instead.
Solutions: solutions/ch03.py (try first).
"""

import numpy as np


def char_vocab(text: str) -> list[str]:
    """03.1 The tokens of a character vocabulary, in id order: ``"[PAD]"`` (id 0),
    ``"[UNK]"`` (id 1), then every character of ``text`` once, the most frequent first;
    characters seen equally often keep the order in which they first appear in ``text``."""
    raise NotImplementedError


def encode_chars(tokens: list[str], text: str) -> np.ndarray:
    """03.2 ``text`` as ids, shape ``(len(text),)``: the id of a character is its position in
    ``tokens`` (as returned by ``char_vocab``); a character not in ``tokens`` gets the id of
    ``"[UNK]"``."""
    raise NotImplementedError


def bpe_merge_step(
    words: dict[tuple[str, ...], int], order: dict[str, int]
) -> tuple[tuple[str, str], dict[tuple[str, ...], int]]:
    """03.3 One BPE merge. ``words`` maps each word, spelled as a tuple of its current
    symbols, to its count; ``order[s]`` says when symbol ``s`` entered the vocabulary (0 for
    the first). Count every adjacent pair, each occurrence weighted by its word's count;
    pick the most frequent pair, ties going to the smallest ``(order[a], order[b])``; return
    that pair and the words with every occurrence of it merged into one symbol ``a + b``,
    left to right (``("a", "a", "a")`` with ``("a", "a")`` gives ``("aa", "a")``)."""
    raise NotImplementedError


def pad_and_mask(sequences: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """03.4 Pad ``B`` id sequences at the end with ``pad_id`` to the longest length ``T``:
    returns ``(ids, mask)``, both of shape ``(B, T)``; ``ids`` is an int array and ``mask``
    a bool array, True exactly where ``ids`` holds a real token of the sequence."""
    raise NotImplementedError


def oov_rate(train_tokens: list[str], val_tokens: list[str], size: int) -> float:
    """03.5 The share of ``val_tokens`` that are unknown to a vocabulary of ``size`` tokens:
    ``<unk>`` plus the ``size - 1`` most frequent training tokens (tokens seen equally often:
    the one seen first in ``train_tokens`` first). Every occurrence counts, not each
    distinct token once."""
    raise NotImplementedError
