"""Every chapter's checked exercises: at least three, each solution passes, each stub is
reported as not yet written, the notebook offers the stubs and the check, and the command line
says what passes in its exit status."""

import re
import subprocess
import sys

import nbformat
import pytest

from lmcourse import exercises
from lmcourse.chapters import CHAPTERS, notebook_path

IDS = list(CHAPTERS)


@pytest.mark.parametrize("cid", IDS)
def test_at_least_three_exercises_numbered_by_chapter(cid):
    found = exercises.exercises_of(cid)
    assert len(found) >= 3
    assert [e.number for e in found] == [f"{cid}.{i}" for i in range(1, len(found) + 1)]
    assert len({e.answer for e in found}) == len(found)


@pytest.mark.parametrize("cid", IDS)
def test_solutions_pass(cid):
    report = exercises.run_checks(cid, exercises.answers_file(cid, "solutions"))
    assert report.passed, str(report)


@pytest.mark.parametrize("cid", IDS)
def test_stubs_are_not_yet_written(cid):
    report = exercises.run_checks(cid, exercises.answers_file(cid))
    assert [o.status for o in report.outcomes] == [exercises.NOT_YET] * len(report.outcomes)


@pytest.mark.parametrize("cid", IDS)
def test_notebook_has_the_stubs_the_check_and_the_solutions_link(cid):
    nb = nbformat.read(notebook_path(CHAPTERS[cid]), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert f'check("{cid}", globals())' in code
    assert f"solutions/ch{cid}.py" in text
    for ex in exercises.exercises_of(cid):
        assert re.search(rf"^(def {ex.answer}\(|{ex.answer} = )", code, re.M), ex.answer
        assert ex.number in text, f"the notebook does not introduce exercise {ex.number}"


def test_a_wrong_answer_is_reported_with_what_is_wrong():
    answers = {"matmul_shape": lambda a, b: (*a[:-1], b[0])}
    outcome = exercises.run_checks("00", answers).outcomes[0]
    assert outcome.status == exercises.WRONG
    assert "expected (8, 5, 7)" in outcome.message


def test_an_answer_that_raises_is_wrong_not_a_crash():
    outcome = exercises.run_checks("0", {"dense": lambda x, w, b: x.nope}).outcomes[1]
    assert outcome.status == exercises.WRONG
    assert outcome.message.startswith("your code raised AttributeError")


def lmcourse(*args):
    return subprocess.run(
        [sys.executable, "-m", "lmcourse.cli", *args], capture_output=True, text=True
    )


def test_cli_exit_status_says_whether_all_pass(tmp_path):
    ok = lmcourse("check", "00", "--answers", str(exercises.answers_file("00", "solutions")))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "3 of 3 exercises pass" in ok.stdout
    stubs = lmcourse("check", "00")
    assert stubs.returncode == 1
    assert "[not yet]" in stubs.stdout


def test_cli_bad_input_is_one_line_naming_the_fix(tmp_path):
    missing = lmcourse("check", "00", "--answers", str(tmp_path / "none.py"))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "--answers FILE" in missing.stderr
    unknown = lmcourse("check", "42")
    assert unknown.returncode == 2 and "choose one of 00" in unknown.stderr


def test_check_answer_runs_one_exercise_by_number_or_name():
    by_number = exercises.check_answer("00", "00.3", lambda z: z)
    by_name = exercises.check_answer(0, "stable_softmax", lambda z: z)
    assert by_number.status == by_name.status == exercises.WRONG
    with pytest.raises(ValueError, match="no exercise 'softmax'"):
        exercises.check_answer("00", "softmax", lambda z: z)
