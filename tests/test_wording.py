"""The course speaks to a learner: what a learner reads never talks about how the project is
run. Chapters, READMEs, docs, exercises, solutions and the package's docstrings and comments
are searched for the words of the project's own workflow; measured run histories belong in
benchmarks/README.md, which is not searched."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each pattern is a phrase that only makes sense inside the project's workflow.
INTERNAL = [
    r"\bissues?\b",  # work items ("the issue asks ..."); a learner's problem is a "problem"
    r"\bthis session\b",
    r"\bseed posts?\b",
    r"\bthe seeds'",
    r"\bclosing note\b",
    r"\b(?:the|our|course's|project's) targets?\s*(?:[≤<>≥]|of \d|was|is \d)",
    r"\bto this project\b",
    r"\brun-by-run\b",
]
PATTERN = re.compile("|".join(INTERNAL), re.IGNORECASE)


def learner_files() -> list[Path]:
    globs = ["chapters/*.ipynb", "chapters/*.py", "chapters/figures/*.py", "README*.md"]
    globs += ["docs/*.md", "lmcourse/**/*.py", "exercises/*.py", "solutions/*.py"]
    return sorted(p for g in globs for p in ROOT.glob(g))


def text_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n".join("".join(c["source"]) for c in cells)
    return path.read_text()


@pytest.mark.parametrize("path", learner_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_project_internal_words(path):
    text = text_of(path)
    hits = [text[max(0, m.start() - 40) : m.end() + 40] for m in PATTERN.finditer(text)]
    assert not hits, f"{path.name} talks about the project, not the lesson: {hits}"


def test_the_search_finds_what_it_should():
    assert PATTERN.search("as the issue asks") and PATTERN.search("the course's target of 1.55")
    assert not PATTERN.search("the target of every position is the next token")
