"""`nst assign --format otter`: master notebooks that otter-grader 7's `otter assign` accepts."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nst_utils.cli import main
from nst_utils.exercises import EXERCISES
from nst_utils.grader import notebooks, release
from nst_utils.transfer import IMAGES_DIR

pytestmark = pytest.mark.slow  # left out of `make test-fast`

NOTEBOOKS = IMAGES_DIR.parent / "notebooks"
TESTED = "01_content_reconstruction"  # otter runs its tests on this one's solution (cheapest)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("otter") / "masters"
    assert main(["assign", str(NOTEBOOKS), "--format", "otter", "--out", str(out)]) == 0
    return out


def otter_assign(master, dist, *options):
    """Run `otter assign` (quick mode); return the student and autograder notebooks."""
    done = subprocess.run([str(Path(sys.executable).parent / "otter"), "assign", *options,
                           str(master), str(dist)], capture_output=True, text=True,
                          env={**os.environ, "NST_QUICK": "1"}, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return [nbformat.read(dist / part / master.name, as_version=4)
            for part in ("student", "autograder")]


def test_every_exercise_is_an_all_or_nothing_question_with_public_and_hidden_tests(export):
    questions = {}
    for path in sorted(export.glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        assert cells[0].cell_type == "raw" and cells[0].source.startswith("# ASSIGNMENT CONFIG")
        for index, cell in enumerate(cells):
            assert "nbgrader" not in cell.metadata and "### BEGIN" not in cell.source
            if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
                config = dict(line.split(": ") for line in cell.source.split("\n")[1:])
                questions[config["name"]] = config
            if cell.source == "# BEGIN TESTS":
                public, hidden = cells[index + 1], cells[index + 2]
                assert public.source.endswith("verbose=False).points")
                assert hidden.source.startswith("# HIDDEN\n") and "seed=secrets" in hidden.source
                assert cells[index + 3].source == "# END TESTS"
    auto = {name: config for name, config in questions.items() if "manual" not in config}
    assert {name: int(config["points"]) for name, config in auto.items()} == {
        name: record.points for name, record in EXERCISES.items()}
    assert all(config["all_or_nothing"] == "true" for config in auto.values())
    # notebook 03's answers graded by hand: the best transfer (the homework's part E), the own
    # style and its explanation, and the three written questions
    assert len(questions) - len(auto) == 6


def test_the_export_is_deterministic(export, tmp_path):
    again = release.assign(NOTEBOOKS, tmp_path, "otter")
    assert [path.read_text() for path in again] == [
        (export / path.name).read_text() for path in again]


def test_otter_assign_accepts_every_export_and_hides_solutions_and_hidden_tests(export, tmp_path):
    for master in sorted(export.glob("*.ipynb")):
        options = [] if master.stem == TESTED else ["--no-run-tests"]
        student, autograder = otter_assign(master, tmp_path / master.stem, *options)
        student_text = "\n".join(cell.source for cell in student.cells)
        solution = nbformat.read(NOTEBOOKS / master.name, as_version=4)
        for cell in solution.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                region = cell.source.split("BEGIN SOLUTION\n")[1].split("END SOLUTION")[0]
                longest = max(region.split("\n"), key=len).strip()
                assert longest not in student_text, (master.name, longest)
        assert "seed=secrets" not in student_text
        tests = autograder.metadata["otter"]["tests"]
        exercises = notebooks.exercises_in(solution)
        assert set(exercises) <= set(tests)
        for name in exercises:
            cases = tests[name]["suites"][0]["cases"]
            assert [case["hidden"] for case in cases] == [False, True], name
            assert f'grader.check("{name}")' in student_text
