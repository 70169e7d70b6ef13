"""The course's diagrams: drawn by chapters/figures/make_figures.py, up to date, and used.

The SVGs are committed; `make_figures.py --check` redraws each one in memory and compares it
byte for byte with the file. Chapters link them from Markdown as `![...](figures/NAME.svg)`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

from lmcourse.chapters import CHAPTERS_DIR

FIGURES_DIR = CHAPTERS_DIR / "figures"
SCRIPT = FIGURES_DIR / "make_figures.py"
REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"
FIGURE_LINK = re.compile(r"figures/([A-Za-z0-9_.-]+\.svg)")
CHAPTERS_WITH_FIGURES = ("04", "05", "06", "07", "08")


def drawn_figures() -> list[str]:
    """The names in the script's FIGURES table, read without importing matplotlib's pyplot."""
    spec = importlib.util.spec_from_file_location("make_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return [f"{name}.svg" for name in module.FIGURES]


def markdown(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def pinned_matplotlib() -> str | None:
    match = re.search(r"^matplotlib==(\S+)", REQUIREMENTS.read_text(), flags=re.MULTILINE)
    return match.group(1) if match else None


def test_every_figure_the_script_draws_is_committed_and_up_to_date():
    names = drawn_figures()
    assert len(names) >= 8
    missing = [name for name in names if not (FIGURES_DIR / name).exists()]
    assert not missing, f"run python chapters/figures/make_figures.py; missing: {missing}"
    pinned = pinned_matplotlib()
    if pinned and matplotlib.__version__ != pinned:
        pytest.skip(f"SVG bytes are compared under the pinned matplotlib {pinned} only")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_svg_in_the_folder_is_drawn_by_the_script():
    orphans = {p.name for p in FIGURES_DIR.glob("*.svg")} - set(drawn_figures())
    assert not orphans, f"SVGs no code draws: {sorted(orphans)}"


@pytest.mark.parametrize("notebook", sorted(CHAPTERS_DIR.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_figure_a_chapter_links_exists(notebook):
    missing = sorted(
        set(FIGURE_LINK.findall(markdown(notebook))) - {p.name for p in FIGURES_DIR.glob("*.svg")}
    )
    assert not missing, f"{notebook.name} links figures that do not exist: {missing}"


@pytest.mark.parametrize("number", CHAPTERS_WITH_FIGURES)
def test_chapter_shows_at_least_one_diagram(number):
    (notebook,) = CHAPTERS_DIR.glob(f"{number}_*.ipynb")
    assert FIGURE_LINK.search(markdown(notebook)), f"{notebook.name} links no figures/NAME.svg"
