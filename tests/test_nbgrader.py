"""nbgrader 0.9 on the solution notebooks, as an instructor runs it, compared with `nst grade`.

One nbgrader course folder (in a temporary directory) holds notebooks 01-03 as assignments of
their own, with the shipped `nbgrader_course/nbgrader_config.py` and no other setting. Three
students hand in: `solution` (the solution notebooks as they are), `blank` (nbgrader's release,
untouched) and `partial` (notebook 01 partly solved).

What runs, and what it costs (quick mode): the blank and the partial submissions are executed in
full by `nbgrader autograde` (this replaces running the blank student versions top to bottom); the
solution's test cells are scored by `nbgrader autograde --no-execute` from their committed outputs,
which strict nbval (`pytest --nbval`) reproduces by executing the solution notebooks in this same
suite; `nbgrader validate` executes notebook 01's solution and its blank release.
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from nst_utils.exercises import EXERCISES
from nst_utils.grader import gradebook, grading, notebooks
from nst_utils.grader.notebooks import is_claim
from nst_utils.grader.release import COLAB_SOLUTIONS, switch_on
from nst_utils.transfer import IMAGES_DIR

pytestmark = pytest.mark.slow  # left out of `make test-fast`

ROOT = IMAGES_DIR.parent
NOTEBOOKS = ROOT / "notebooks"
CONFIG = ROOT / "nbgrader_course" / "nbgrader_config.py"
ASSIGNMENTS = [path.stem for path in sorted(NOTEBOOKS.glob("0*.ipynb"))
               if notebooks.exercises_in(nbformat.read(path, as_version=4))]
PARTIAL = "01_content_reconstruction"
# Exercise cell -> its code: preprocess_image right, deprocess_image blank, the content loss wrong.
PARTIAL_CELLS = {
    "preprocess_image":
        "import numpy as np\n\n"
        "def preprocess_image(img, dims=None):\n"
        "    img = np.asarray(img, np.float32)\n"
        "    if dims is not None:\n"
        "        img = ops.convert_to_numpy(ops.image.resize(img, tuple(dims)))\n"
        "    return img[None, :, :, ::-1] - np.array([103.939, 116.779, 123.68], np.float32)\n\n\n"
        "def deprocess_image(x, height, width):\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n",
    "feature_reconstruction_loss":
        "def feature_reconstruction_loss(base, output):\n"
        "    return ops.mean(ops.square(output - base))\n",
}


def nbgrader(course, *args):
    """Run the nbgrader command in `course` (quick mode); return its output, fail on an error."""
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH
    env = {**os.environ, "NST_QUICK": "1", "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    done = subprocess.run([os.path.join(bin_dir, "nbgrader"), *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "ERROR" not in done.stderr, done.stdout + done.stderr
    return done.stdout + done.stderr


def submit(course, student, assignment, notebook):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")
    return folder / f"{assignment}.ipynb"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course folder after generate_assignment and autograde, and `nst grade`'s rows."""
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    for assignment in ASSIGNMENTS:
        (course / "source" / assignment).mkdir(parents=True)
        shutil.copy(NOTEBOOKS / f"{assignment}.ipynb", course / "source" / assignment)
    shutil.copy(CONFIG, course)
    submitted = {}
    for assignment in ASSIGNMENTS:
        nbgrader(course, "generate_assignment", assignment)
        release = course / "release" / assignment / f"{assignment}.ipynb"
        source = nbformat.read(NOTEBOOKS / f"{assignment}.ipynb", as_version=4)
        submitted[("solution", assignment)] = submit(course, "solution", assignment, source)
        submitted[("blank", assignment)] = submit(
            course, "blank", assignment, nbformat.read(release, as_version=4))
    partial = nbformat.read(course / "release" / PARTIAL / f"{PARTIAL}.ipynb", as_version=4)
    for exercise, code in PARTIAL_CELLS.items():
        partial.cells[notebooks.exercises_in(partial)[exercise]].source = code
    submitted[("partial", PARTIAL)] = submit(course, "partial", PARTIAL, partial)
    for assignment in ASSIGNMENTS:
        nbgrader(course, "autograde", assignment, "--student=solution", "--no-execute")
        nbgrader(course, "autograde", assignment, "--student=blank")
    nbgrader(course, "autograde", PARTIAL, "--student=partial")
    nbgrader(course, "export", "--to", str(course / "nbgrader_grades.csv"))
    paths = list(submitted.values())
    out = course / "nst_grades.csv"
    book = gradebook.Gradebook(out, len(paths))
    grading.grade(paths, grading.Options(cell_timeout=30), jobs=2, on_row=book.add)
    with open(out, newline="") as handle:
        nst_rows = {row["submission"]: row for row in csv.DictReader(handle)}
    return {"dir": course, "submitted": submitted, "nst": nst_rows}


def auto_points(course, student, assignment):
    """{exercise: points} that nbgrader's autograder gave the test cells of a submission."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        notebook = book.find_submission_notebook(assignment, assignment, student)
        return {grade.name.removeprefix("check_"): grade.auto_score for grade in notebook.grades
                if grade.name.startswith("check_")}


def test_the_solution_gets_every_point_and_the_blank_none(course):
    solution = {name: points for assignment in ASSIGNMENTS
                for name, points in auto_points(course["dir"], "solution", assignment).items()}
    blank = {name: points for assignment in ASSIGNMENTS
             for name, points in auto_points(course["dir"], "blank", assignment).items()}
    assert solution == {name: float(record.points) for name, record in EXERCISES.items()}
    assert sum(solution.values()) == 13
    assert blank == {name: 0.0 for name in EXERCISES}


def test_nbgrader_and_nst_grade_agree_exercise_by_exercise(course):
    compared = 0
    for (student, assignment), path in course["submitted"].items():
        row = course["nst"][str(path)]
        nbgrader_points = auto_points(course["dir"], student, assignment)
        assert {name: int(points) for name, points in nbgrader_points.items()} == {
            name: int(row[name]) for name in nbgrader_points}, (student, assignment, row)
        compared += 1
    partial = auto_points(course["dir"], "partial", PARTIAL)
    assert partial == {"preprocess_image": 1.0, "deprocess_image": 0.0,
                       "feature_reconstruction_loss": 0.0}
    assert compared == 2 * len(ASSIGNMENTS) + 1


def test_the_blank_release_runs_top_to_bottom_and_says_what_is_missing(course):
    for assignment in ASSIGNMENTS:
        notebook = nbformat.read(course["dir"] / "autograded" / "blank" / assignment /
                                 f"{assignment}.ipynb", as_version=4)
        outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
        assert not [output for output in outputs if output.output_type == "error"], assignment
        text = "".join(output.get("text", "") for output in outputs)
        assert "✗" in text and "not implemented yet" in text, assignment


def test_the_gradebook_export_has_the_auto_points(course):
    with open(course["dir"] / "nbgrader_grades.csv", newline="") as handle:
        rows = {(row["student_id"], row["assignment"]): float(row["score"])
                for row in csv.DictReader(handle)}
    assert rows[("partial", PARTIAL)] == 1.0
    assert all(rows[("blank", assignment)] == 0.0 for assignment in ASSIGNMENTS)
    # The solution's hand-graded answers wait for the instructor: only auto points so far.
    assert sum(rows[("solution", assignment)] for assignment in ASSIGNMENTS) == 13.0


def test_nst_assign_writes_what_nbgrader_releases(course):
    for assignment in ASSIGNMENTS:
        release = nbformat.read(course["dir"] / "release" / assignment / f"{assignment}.ipynb",
                                as_version=4)
        ours = nbformat.read(NOTEBOOKS / "student" / f"{assignment}.ipynb", as_version=4)
        assert release.metadata == ours.metadata and "widgets" not in ours.metadata
        # Both leave out the claim cells (nbgrader_config.py removes them by their tag).
        assert not any(is_claim(cell) for cell in release.cells), assignment
        assert len(release.cells) == len(ours.cells), assignment
        for theirs, mine in zip(release.cells, ours.cells):
            theirs = nbformat.from_dict(dict(theirs))
            for key in ("checksum", "cell_type"):  # nbgrader's own metadata
                theirs.metadata.get("nbgrader", {}).pop(key, None)
            if theirs.cell_type == "markdown":  # nst assign points the Colab badge at itself
                theirs.source = COLAB_SOLUTIONS.sub(r"\1student/", theirs.source)
            else:  # and turns USE_MY_FUNCTIONS on, so students see their own functions' pictures
                theirs.source = switch_on(theirs.source)
            assert theirs == mine, (assignment, mine.get("id"))
            assert "execution" not in mine.metadata and "NBVAL" not in mine.source


def test_validate_passes_the_solution_and_fails_the_blank_release(course):
    solution = nbgrader(course["dir"], "validate", str(NOTEBOOKS / f"{PARTIAL}.ipynb"))
    assert "Success! Your notebook passes all the tests." in solution, solution
    blank = nbgrader(course["dir"], "validate",
                     str(course["dir"] / "release" / PARTIAL / f"{PARTIAL}.ipynb"))
    assert "VALIDATION FAILED ON 3 CELL(S)!" in blank, blank
