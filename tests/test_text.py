"""lmcourse.text: the word tokenizer and the vocabulary."""

import numpy as np
import pytest

from lmcourse import data
from lmcourse.text import UNK, Vocabulary, detokenize, word_tokenize


def test_word_tokenize_words_punctuation_and_elisions():
    tokens = word_tokenize("To be, or NOT to be: 'tis the question--isn't it?")
    assert tokens == [
        "to", "be", ",", "or", "not", "to", "be", ":", "'tis", "the", "question", "--",
        "isn't", "it", "?",
    ]  # fmt: skip


def test_word_tokenize_newlines():
    text = "Line one,\nline two.\n\n\n\nNEXT SPEAKER.\n"
    assert word_tokenize(text) == [
        "line", "one", ",", "\n", "line", "two", ".", "\n", "\n", "next", "speaker", ".", "\n",
    ]  # fmt: skip
    assert "\n" not in word_tokenize(text, newlines=False)


@pytest.mark.parametrize("text", ["", "   \n\n  \t"])
def test_word_tokenize_rejects_empty_text(text):
    with pytest.raises(ValueError, match="no words"):
        word_tokenize(text)


def test_word_tokenize_rejects_non_text():
    with pytest.raises(TypeError, match="expects a str"):
        word_tokenize(["a", "list"])


def test_detokenize_round_trips_shakespeare():
    text = data.shakespeare_text("validation")[:20_000]
    tokens = word_tokenize(text)
    assert word_tokenize(detokenize(tokens)) == tokens
    assert detokenize(["o", "romeo", ",", "romeo", "!", "\n", "wherefore"]) == (
        "o romeo, romeo!\nwherefore"
    )


def test_vocabulary_from_tokens_orders_by_count_and_drops_rare():
    tokens = "b a b c b a d".split()
    vocab = Vocabulary.from_tokens(tokens, min_count=2)
    assert vocab.tokens == [UNK, "b", "a"]
    assert len(vocab) == 3
    assert vocab.counts == {UNK: 0, "b": 3, "a": 2}
    assert "a" in vocab and "c" not in vocab
    assert vocab.unk_id == 0


def test_vocabulary_round_trip_and_unknown_words():
    tokens = word_tokenize("the cat sat on the mat. the dog sat.")
    vocab = Vocabulary.from_tokens(tokens)
    ids = vocab.encode(tokens)
    assert ids.dtype == np.int64 and ids.shape == (len(tokens),)
    assert vocab.decode(ids) == tokens
    assert vocab.decode(vocab.encode(["the", "unicorn", "sat"])) == ["the", UNK, "sat"]
    assert vocab.token_to_id("unicorn") == vocab.unk_id


def test_vocabulary_max_size_keeps_most_frequent():
    vocab = Vocabulary.from_tokens(list("aaaabbbccd"), max_size=3)
    assert vocab.tokens == [UNK, "a", "b"]


def test_vocabulary_works_on_characters():
    vocab = Vocabulary.from_tokens("hello world")
    assert "".join(vocab.decode(vocab.encode("hello"))) == "hello"
    assert len(vocab) == 1 + len(set("hello world"))


def test_vocabulary_errors():
    with pytest.raises(ValueError, match="empty token list"):
        Vocabulary.from_tokens([])
    with pytest.raises(ValueError, match="min_count must be an int >= 1"):
        Vocabulary.from_tokens(["a"], min_count=0)
    with pytest.raises(ValueError, match="no token occurs 5 or more times"):
        Vocabulary.from_tokens(["a", "b"], min_count=5)
    with pytest.raises(ValueError, match="appears twice"):
        Vocabulary(["a", "b", "a"])
    with pytest.raises(ValueError, match="at least one token"):
        Vocabulary([], specials=(), unk=None)
    with pytest.raises(ValueError, match="must be one of the special tokens"):
        Vocabulary(["a"], specials=(), unk="<unk>")
    vocab = Vocabulary(["a"], specials=(), unk=None)
    with pytest.raises(KeyError, match="not in the vocabulary"):
        vocab.encode(["z"])
    with pytest.raises(IndexError, match="out of range"):
        vocab.decode([1])
