"""lmcourse.bpe: the from-scratch BPE trainer, its encoder, and agreement with HF tokenizers."""

import numpy as np
import pytest

from lmcourse import bpe, data
from lmcourse.text import PAD, SPECIAL_TOKENS, UNK_TOKEN, check_specials

# Sennrich et al. (2016)'s toy corpus, with "▁" marking the start of each word.
TOY = {"▁low": 5, "▁lower": 2, "▁newest": 6, "▁widest": 3}


def test_toy_corpus_merges_by_hand():
    # Pair counts at the start: e s = 9 (newest 6 + widest 3), s t = 9, w e = 8, ▁ l = l o =
    # o w = 7, ... The tie e s / s t goes to the pair whose left symbol came first: 'e' < 's'.
    # After e+s and es+t: ▁ l, l o, o w tie at 7 -> 'l' < 'o' < '▁' (U+2581) -> l+o, then
    # ▁+lo (7) and ▁lo+w (7); then e w = n e = ▁ n = w est = 6 -> e+w ('e' is the smallest).
    merges = bpe.train_bpe(TOY, 6).merges
    assert merges == [("e", "s"), ("es", "t"), ("l", "o"), ("▁", "lo"), ("▁lo", "w"), ("e", "w")]


def test_tie_break_prefers_the_symbols_that_came_first():
    # All four pairs occur once; symbol ids: a b c d ▁ (code points), then new symbols.
    merges = bpe.train_bpe({"▁ab": 1, "▁cd": 1}, 10, min_frequency=1).merges
    assert merges == [("a", "b"), ("c", "d"), ("▁", "ab"), ("▁", "cd")]


def test_min_frequency_stops_the_loop():
    assert bpe.train_bpe({"▁ab": 1, "▁cd": 1}, 10).merges == []  # every pair occurs once
    assert len(bpe.train_bpe(TOY, 1000).merges) < 1000


def test_merge_symbols_left_to_right_without_overlap():
    assert bpe.merge_symbols(list("aaab"), ("a", "a")) == ["aa", "a", "b"]
    assert bpe.merge_symbols(list("abab"), ("a", "b")) == ["ab", "ab"]
    assert bpe.merge_symbols(list("xyz"), ("a", "b")) == ["x", "y", "z"]


def test_overlapping_pairs_are_counted_like_the_library():
    words = {"▁aaaa": 3, "▁aaab": 2, "▁baaa": 2}
    assert bpe.train_bpe(words, 20, min_frequency=1).merges == bpe.library_bpe_merges(
        words, 20, min_frequency=1
    )


def test_pretokenize_marks_word_starts():
    assert bpe.pretokenize("Ay, marry, is't.") == ["▁Ay", ",", "▁marry", ",", "▁is", "'", "t", "."]
    assert bpe.pretokenize("  two\n\nlines ") == ["▁two", "▁lines"]
    assert bpe.pretokenize("A b", lowercase=True) == ["▁a", "▁b"]


def test_round_trip_and_ids():
    text = data.shakespeare_text("train")[:100_000]
    tok = bpe.train_bpe(text, 300)
    assert len(tok) == len(SPECIAL_TOKENS) + len(tok.alphabet) + 300
    assert tok.vocabulary[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert check_specials(tok, (PAD, UNK_TOKEN)) == {PAD: 0, UNK_TOKEN: 1}
    line = "Friends, Romans,   countrymen,\nlend me your ears;"
    ids = tok.encode(line)
    assert ids.dtype == np.int64 and ids.min() >= len(SPECIAL_TOKENS) and ids.max() < len(tok)
    assert tok.decode(ids) == " ".join(line.split())
    assert len(ids) < 0.7 * len(" ".join(line.split()))  # merged tokens span several characters
    assert tok.decode(tok.encode("Ωmega")) == UNK_TOKEN + "mega"


def test_nested_vocabularies():
    tok = bpe.train_bpe(data.shakespeare_text("train")[:50_000], 200)
    small = tok.with_merges(50)
    assert small.merges == tok.merges[:50] and len(small) == len(tok) - 150
    line = "now is the winter of our discontent"
    assert len(small.tokenize(line)) >= len(tok.tokenize(line))
    assert small.decode(small.encode(line)) == line


def test_same_merges_as_huggingface_tokenizers_on_shakespeare():
    counts = bpe.word_counts(data.shakespeare_text("train")[:300_000], lowercase=True)
    ours = bpe.train_bpe(counts, 1500).merges
    library = bpe.library_bpe_merges(counts, 1500)
    assert len(ours) == len(library) == 1500
    first_difference = next(
        (k for k, (a, b) in enumerate(zip(ours, library, strict=True)) if a != b), None
    )
    assert first_difference is None, (
        f"merge {first_difference}: {ours[first_difference]} vs {library[first_difference]}"
    )


def test_same_merges_as_huggingface_with_many_ties():
    rng = np.random.default_rng(0)
    words = {}
    for _ in range(300):
        w = "▁" + "".join(rng.choice(list("abcd"), size=rng.integers(1, 7)))
        words[w] = words.get(w, 0) + int(rng.integers(1, 4))
    assert bpe.train_bpe(words, 200).merges == bpe.library_bpe_merges(words, 200)


def test_empty_text_is_a_clear_error():
    with pytest.raises(ValueError, match="text is empty: pass a non-empty text"):
        bpe.word_counts(" \n ")
    with pytest.raises(ValueError, match="pass a non-empty text"):
        bpe.train_bpe("", 10)
    with pytest.raises(ValueError, match="empty text"):
        bpe.train_bpe(TOY, 3).tokenize("   ")
    with pytest.raises(TypeError, match="expects a str"):
        bpe.pretokenize(["not", "text"])


def test_unknown_character_without_unk_is_a_clear_error():
    tok = bpe.train_bpe(TOY, 3, specials=())
    with pytest.raises(ValueError, match="not in the BPE alphabet.*specials including"):
        tok.encode("zebra")
