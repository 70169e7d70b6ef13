"""Chapter 03 — solutions to the checked exercises (`lmcourse check 03 --answers solutions/ch03.py`)."""

from collections import Counter

import numpy as np


def char_vocab(text: str) -> list[str]:
    """03.1 ``Counter.most_common`` sorts by count and keeps first-seen order among ties."""
    return ["[PAD]", "[UNK]"] + [c for c, _ in Counter(text).most_common()]


def encode_chars(tokens: list[str], text: str) -> np.ndarray:
    """03.2 A dict makes each lookup O(1); ``.get`` sends unknown characters to ``[UNK]``."""
    ids = {t: i for i, t in enumerate(tokens)}
    unk = ids["[UNK]"]
    return np.array([ids.get(c, unk) for c in text], dtype=np.int64)


def bpe_merge_step(
    words: dict[tuple[str, ...], int], order: dict[str, int]
) -> tuple[tuple[str, str], dict[tuple[str, ...], int]]:
    """03.3 A word seen ``n`` times contributes ``n`` to each of its pairs; ``min`` over
    ``(-count, order)`` takes the largest count, then the earliest symbols."""
    pairs = Counter()
    for symbols, n in words.items():
        for pair in zip(symbols, symbols[1:], strict=False):
            pairs[pair] += n
    best = min(pairs, key=lambda p: (-pairs[p], order[p[0]], order[p[1]]))
    merged = {}
    for symbols, n in words.items():
        out, i = [], 0
        while i < len(symbols):
            if symbols[i : i + 2] == best:  # a tuple slice: the pair starts here
                out.append(best[0] + best[1])
                i += 2
            else:
                out.append(symbols[i])
                i += 1
        merged[tuple(out)] = n
    return best, merged


def pad_and_mask(sequences: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """03.4 The mask comes from the lengths, not from ``ids != pad_id``: it stays right even
    if a real token had the padding's id."""
    T = max(len(s) for s in sequences)
    ids = np.full((len(sequences), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), T), dtype=bool)
    for b, s in enumerate(sequences):
        ids[b, : len(s)] = s
        mask[b, : len(s)] = True
    return ids, mask


def oov_rate(train_tokens: list[str], val_tokens: list[str], size: int) -> float:
    """03.5 One slot goes to ``<unk>``, so ``size - 1`` words are known."""
    known = {t for t, _ in Counter(train_tokens).most_common(size - 1)}
    return sum(t not in known for t in val_tokens) / len(val_tokens)
