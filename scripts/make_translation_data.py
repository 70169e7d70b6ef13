"""Rebuild ``data/de_en_sentences.tsv.xz`` and ``data/de_en_words.tsv.xz`` from the Ding
German-English dictionary, as Debian packages it (``trans-de-en`` 1.9-6, GPL-2+).

Maintainers only; the course never runs this. Each line of the dictionary pairs German and
English entries, ``German | German :: English | English``: the i-th German part translates the
i-th English part, and inside a part ``;`` separates synonyms. Many parts are example sentences.

- Sentence pairs: both sides a sentence (a capital first, ending in ``.``, ``?`` or ``!``, at
  least 4 words), the first synonym only, grammar tags (``{m}``, ``[ugs.]``) removed, entries
  with placeholders (``etw.``, ``jdn.``, ``sth.``, ``sb.``) or brackets dropped, one pair per
  German sentence (the first).
- Word entries (for the word-by-word baseline): a German single word and its English
  translation (parentheses and placeholders dropped), synonyms paired by position where both
  sides list as many; the first entry of a word wins; only words that occur in the sentence
  pairs are kept (the baseline needs no more).

Usage::

    apt-get download trans-de-en=1.9-6 && dpkg-deb -x trans-de-en_1.9-6_all.deb /tmp/ding
    python scripts/make_translation_data.py /tmp/ding/usr/share/trans/de-en
"""

from __future__ import annotations

import lzma
import re
import sys
from pathlib import Path

TAG = re.compile(r"\s*(\{[^}]*\}|\[[^\]]*\])")
PLACEHOLDER = re.compile(
    r"\b(sth|etw|jdn|jdm|jds|jd|sb|sb's|so)\.|\bsb\b|\bsomebody\b|\bjemand(en|em)?\b|\betwas\b",
    re.IGNORECASE,
)
NOT_IN_A_SENTENCE = set("()/~<>|;:=+\"\t")
PARENTHESIS = re.compile(r"\s*\([^)]*\)")
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def clean(part: str) -> str:
    """One dictionary part without its tags, white space collapsed."""
    return re.sub(r"\s+", " ", TAG.sub("", part)).strip()


def is_sentence(text: str) -> bool:
    return (
        len(text.split()) >= 4
        and text.endswith((".", "?", "!"))
        and text[0].isupper()
        and not NOT_IN_A_SENTENCE & set(text)
        and not PLACEHOLDER.search(text)
    )


def parts(line: str) -> list[tuple[str, str]]:
    """The (German, English) parts of one dictionary line; [] for comments and odd lines."""
    if line.startswith("#") or " :: " not in line:
        return []
    german, english = line.rstrip("\n").split(" :: ", 1)
    de, en = german.split(" | "), english.split(" | ")
    return list(zip(de, en, strict=True)) if len(de) == len(en) else []


def english_word(part: str) -> str:
    """An English translation without tags, parentheses, placeholders or a leading "to "."""
    text = PLACEHOLDER.sub("", PARENTHESIS.sub("", clean(part)))
    return re.sub(r"\s+", " ", text).strip().removeprefix("to ")


def word_entries(de: str, en: str) -> list[tuple[str, str]]:
    """Single German words of one part with their English translations."""
    ds = [clean(s) for s in de.split("; ")]
    es = [english_word(s) for s in en.split("; ")]
    pairs = zip(ds, es, strict=True) if len(ds) == len(es) else [(ds[0], es[0])]
    return [(d, e) for d, e in pairs if WORD.fullmatch(d) and e and "\t" not in e]


def extract(path: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    sentences: dict[str, str] = {}
    words: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            for de, en in parts(line):
                d, e = clean(de.split("; ")[0]), clean(en.split("; ")[0])
                if is_sentence(d) and is_sentence(e):
                    sentences.setdefault(d, e)
                for word, translation in word_entries(de, en):
                    words.setdefault(word, translation)
    used = {w for d in sentences for w in WORD.findall(d)}
    used |= {w.lower() for w in used}
    return list(sentences.items()), {w: t for w, t in words.items() if w in used}


def write_tsv(rows: list[tuple[str, str]], header: str, out: Path) -> None:
    payload = header + "\n" + "".join(f"{a}\t{b}\n" for a, b in rows)
    out.write_bytes(lzma.compress(payload.encode("utf-8"), preset=9))  # same input, same bytes


def main(dictionary: str, out_dir: str = "data") -> None:
    sentences, words = extract(dictionary)
    write_tsv(sentences, "german\tenglish", Path(out_dir) / "de_en_sentences.tsv.xz")
    write_tsv(sorted(words.items()), "german\tenglish", Path(out_dir) / "de_en_words.tsv.xz")
    print(f"{len(sentences):,} sentence pairs, {len(words):,} word entries -> {out_dir}/")


if __name__ == "__main__":
    main(*sys.argv[1:])
