"""docs/glossary.md: the course's English–Chinese glossary, and the Chinese README.

The glossary is one Markdown table, `English | 中文 | Definition | Chapter`. Bold in a chapter's
Markdown means "a term introduced here", so every *term-like* bold span of every chapter must
be in the glossary. Term-like: the text inside `**...**` that does not end in `.`, `?`, `!` or
`:` (a paragraph lead-in), contains no digit and no `$`, does not start with `(`, has at most
six words and is not a code span. Pure emphasis belongs in *italics*.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
README = ROOT / "README.md"
README_ZH = ROOT / "README.zh-CN.md"
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
HEADER = ["English", "中文", "Definition", "Chapter"]
MIN_TERMS = 150
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.DOTALL | re.MULTILINE)
ARTICLES = ("the ", "a ", "an ")


# --- parsing -------------------------------------------------------------------------------


def split_row(line):
    """`| a | b |` -> ["a", "b"] (a `\\|` inside a cell is a literal bar)."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [cell.replace("\\|", "|").strip() for cell in cells]


def glossary_rows(text):
    """The rows of the first table whose header is HEADER, as lists of cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if split_row(line) == HEADER)
    rows = []
    for line in lines[start + 2 :]:  # skip the header and the |---| line
        if not line.lstrip().startswith("|"):
            break
        rows.append(split_row(line))
    return rows


@pytest.fixture(scope="module")
def rows():
    return glossary_rows(GLOSSARY.read_text(encoding="utf-8"))


# --- normalisation -------------------------------------------------------------------------


def normalise(text):
    """Case-folded, dashes unified, white space collapsed, a leading article dropped."""
    text = " ".join(text.replace("–", "-").replace("—", "-").replace("’", "'").split())
    text = text.casefold()
    for article in ARTICLES:
        if text.startswith(article):
            text = text[len(article) :]
    return text


def singular_forms(text):
    """The text, and the text without a plural `s` or `es`."""
    forms = {text}
    if text.endswith("es"):
        forms.add(text[:-2])
    if text.endswith("s"):
        forms.add(text[:-1])
    return forms


def expand_abbreviation(variant):
    """`out-of-vocabulary (OOV) rate` -> itself, `out-of-vocabulary rate` and `OOV rate`."""
    found = re.fullmatch(r"(.*?)\s*\(([^)]*)\)\s*(.*)", variant)
    if not found:
        return {variant}
    head, abbreviation, tail = found.groups()
    return {variant, f"{head} {tail}".strip(), f"{abbreviation} {tail}".strip()}


def entry_names(english):
    """Every name a glossary English entry answers to, normalised (variants split on " / ")."""
    names = set()
    for variant in english.split(" / "):
        for name in expand_abbreviation(variant.strip()):
            names |= singular_forms(normalise(name))
    return names


def known_names(rows):
    return set().union(*(entry_names(row[0]) for row in rows))


def in_glossary(span, names):
    return bool(singular_forms(normalise(span)) & names)


# --- bold spans ----------------------------------------------------------------------------


def is_term_like(span):
    """The rule of the module docstring, for the stripped text inside `**...**`."""
    if not span or span[-1] in ".?!:" or span.startswith("("):
        return False
    if re.search(r"[\d$]", span) or len(span.split()) > 6:
        return False
    return not (span.startswith("`") and span.endswith("`"))


def bold_spans(markdown):
    """The stripped texts of the `**...**` spans outside fenced code blocks."""
    prose = FENCE.sub("", markdown)
    return [" ".join(found.group(1).split()) for found in BOLD.finditer(prose)]


def notebook_terms(path):
    notebook = nbformat.read(path, as_version=4)
    spans = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            spans += [span for span in bold_spans(cell.source) if is_term_like(span)]
    return list(dict.fromkeys(spans))


# --- the glossary --------------------------------------------------------------------------


def test_glossary_has_enough_complete_rows(rows):
    assert len(rows) >= MIN_TERMS, f"{len(rows)} terms, want >= {MIN_TERMS}"
    incomplete = [row for row in rows if len(row) != 4 or not all(row)]
    assert not incomplete, f"rows without four non-empty fields: {incomplete[:5]}"


def test_glossary_fields(rows):
    no_chinese = [row[0] for row in rows if not CJK.search(row[1])]
    assert not no_chinese, f"中文 field without CJK characters: {no_chinese}"
    bad_chapter = [(row[0], row[3]) for row in rows if not re.fullmatch(r"0\d|1[0-2]", row[3])]
    assert not bad_chapter, f"Chapter must be a two-digit id 00-12: {bad_chapter}"


def test_glossary_terms_unique_and_sorted(rows):
    english = [normalise(row[0]) for row in rows]
    duplicates = sorted({term for term in english if english.count(term) > 1})
    assert not duplicates, f"duplicate English terms: {duplicates}"
    order = [row[0].casefold() for row in rows]
    assert order == sorted(order), "rows must be sorted alphabetically (case-insensitive)"


def test_normalisation_examples():
    names = entry_names("out-of-vocabulary (OOV) rate") | entry_names("gate / gating")
    for span in ["OOV rate", "Out-of-vocabulary rate", "gates", "Gating"]:
        assert in_glossary(span, names), span
    assert not in_glossary("same", names)
    assert in_glossary("The polarity gap", entry_names("polarity gap"))
    assert in_glossary("Jelinek—Mercer", entry_names("Jelinek–Mercer"))
    assert not is_term_like("Clip or not.") and not is_term_like("1.555")
    assert not is_term_like("(a) a Python generator") and not is_term_like("`keras_hub`")
    assert bold_spans("a **frozen\n   backbone** b") == ["frozen backbone"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_bold_terms_are_in_glossary(path, rows):
    names = known_names(rows)
    missing = [span for span in notebook_terms(path) if not in_glossary(span, names)]
    assert not missing, (
        f"{path.name}: bold spans missing from docs/glossary.md (add the term, or write pure "
        f"emphasis in *italics*): {missing}"
    )


# --- the READMEs ---------------------------------------------------------------------------


def code_blocks(markdown):
    """[(heading of the `##` section, [lines of the fenced block])] in document order."""
    blocks, heading, block = [], "", None
    for line in markdown.splitlines():
        if block is not None:
            if line.startswith("```"):
                blocks.append((heading, block))
                block = None
            else:
                block.append(line.strip())
        elif line.startswith("```"):
            block = []
        elif line.startswith("## "):
            heading = line[3:].strip()
    return blocks


def readme_commands():
    """README.md's install line(s) and test command, read from its code blocks."""
    blocks = code_blocks(README.read_text(encoding="utf-8"))
    install = [line for _, lines in blocks for line in lines if "pip install -r" in line]
    test = [line for heading, lines in blocks if heading == "Test" for line in lines if line]
    assert install and test, "README.md: no install line or no code block under '## Test'"
    return install, test


def test_readme_links_translation_and_glossary():
    readme = README.read_text(encoding="utf-8")
    assert "](README.zh-CN.md)" in readme and "](docs/glossary.md)" in readme
    chinese = README_ZH.read_text(encoding="utf-8")
    assert "](README.md)" in chinese and "](docs/glossary.md)" in chinese
    assert len(CJK.findall(chinese)) > 1000, "README.zh-CN.md should be written in Chinese"


def test_readme_zh_has_the_same_install_and_test_commands():
    install, test = readme_commands()
    blocks = code_blocks(README_ZH.read_text(encoding="utf-8"))
    chinese_lines = {line for _, lines in blocks for line in lines}
    missing = [line for line in install + test if line not in chinese_lines]
    assert not missing, f"README.zh-CN.md lacks README.md's commands: {missing}"
