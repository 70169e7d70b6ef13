"""The German-English pairs: checksummed, split by hash, read with one clear error per bad line."""

import lzma

import pytest

from lmcourse import data, translation_data


def test_pairs_split_80_10_10_without_overlap():
    splits = {s: translation_data.sentence_pairs(s) for s in ("train", "validation", "test")}
    assert sum(map(len, splits.values())) == len(translation_data.sentence_pairs("all")) == 14_645
    assert 0.75 < len(splits["train"]) / 14_645 < 0.85
    german = [{p.german for p in pairs} for pairs in splits.values()]
    assert not (german[0] & german[1] or german[0] & german[2] or german[1] & german[2])
    for p in splits["test"][:200]:
        assert p.german.endswith((".", "?", "!")) and len(p.english.split()) >= 4


def test_word_by_word_uses_the_dictionary_and_keeps_unknown_words():
    d = translation_data.word_dictionary()
    assert len(d) == 10_337 and d["Abend"] == "evening"
    out = translation_data.word_by_word("Der Abend, xyzzy!", {"der": "the", "Abend": "evening"})
    assert out == "the evening, xyzzy!"


def test_a_bad_line_is_named_with_its_number(tmp_path):
    path = tmp_path / "pairs.tsv.xz"
    path.write_bytes(lzma.compress(b"german\tenglish\nEin Satz.\tA sentence.\nkein Tab hier\n"))
    with pytest.raises(data.DataError, match=r"pairs.tsv.xz:3: expected 'german<TAB>english'"):
        translation_data.read_pairs(path)
    plain = tmp_path / "pairs.tsv"
    plain.write_text("de\ten\n")
    with pytest.raises(data.DataError, match=r"pairs.tsv:1: the first line must be the header"):
        translation_data.read_pairs(plain)


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split='dev'"):
        translation_data.sentence_pairs("dev")
