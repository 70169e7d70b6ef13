"""Every chapter notebook follows the course's conventions (fast checks, no kernel)."""

import json
from pathlib import Path

import papermill
import pytest

from lmcourse import cli
from lmcourse.chapters import CHAPTERS, get_chapter
from lmcourse.paths import CHAPTERS_DIR

NOTEBOOKS = sorted(CHAPTERS_DIR.glob("*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_registry_and_notebooks_match():
    assert {p.stem for p in NOTEBOOKS} == {c.slug for c in CHAPTERS.values()}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stripped(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name} has outputs: run `nbstripout {path}` (pre-commit does it for you)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_parameters_cell_matches_the_registry(path):
    nb = load(path)
    chapter = get_chapter(path.stem)
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "parameters" in first_code["metadata"].get("tags", []), (
        "tag the first code cell 'parameters'"
    )
    declared = cli.notebook_parameters(path)
    assert list(declared) == list(chapter.all_params), (
        "parameters cell and lmcourse.chapters disagree"
    )
    assert declared["profile"] == "None" and declared["seed"] == "42"
    for name, spec in chapter.params.items():
        if spec.profile_driven:
            assert declared[name] == "None", f"{name} must default to None (the profile's value)"
    # our fast parser agrees with papermill's own
    inspected = papermill.inspect_notebook(str(path))
    assert {k: v["default"] for k, v in inspected.items()} == declared


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_shape_objectives_start_results_exercises(path):
    nb = load(path)
    chapter = get_chapter(path.stem)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    text = ["".join(c["source"]) for c in nb["cells"]]
    assert "Objectives" in text[0], "open with the chapter's objectives"
    code = [t for t, c in zip(text, nb["cells"], strict=True) if c["cell_type"] == "code"]
    start = code[2]  # after the parameters cell and the Colab set-up cell
    assert f'start_chapter("{chapter.id}"' in start
    for name in chapter.all_params:
        assert f"{name}={name}" in start, f"pass {name} to start_chapter"
    exercises = next(i for i, t in enumerate(text) if t.startswith("## Exercises"))
    assert "Summary" in "".join(text[exercises - 3 : exercises]), "a summary before the exercises"
    before = [
        t for t, c in zip(text[:exercises], nb["cells"], strict=False) if c["cell_type"] == "code"
    ]
    assert before[-1].strip() == "results.show()", "show the recorded results before the exercises"
    after = "".join(text[exercises:])
    assert "### Check yourself" in after and f'check("{chapter.id}", globals())' in after
