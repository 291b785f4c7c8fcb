"""`nst assign` and `nst grade` on the real notebooks and on planted submissions."""

import csv

import nbformat
import pytest

from nst_utils.cli import main
from nst_utils.exercises import EXERCISES
from nst_utils.grader import notebooks, release
from nst_utils.grader.gradebook import Gradebook
from nst_utils.transfer import IMAGES_DIR

NOTEBOOKS = IMAGES_DIR.parent / "notebooks"
SOURCES = sorted(path for path in NOTEBOOKS.glob("*.ipynb")
                 if notebooks.exercises_in(nbformat.read(path, as_version=4)))


def test_every_exercise_is_in_some_notebook():
    covered = set()
    for path in SOURCES:
        covered |= set(notebooks.exercises_in(nbformat.read(path, as_version=4)))
    assert covered == set(EXERCISES)


def test_committed_student_versions_are_up_to_date():
    assert SOURCES, "no notebook with exercises found"
    for path in SOURCES:
        notebook = nbformat.read(path, as_version=4)
        assert notebook.metadata.get("nst") == notebooks.exercise_metadata(notebook, path.stem), (
            f"{path.name}'s exercise list is not recorded: run `nst assign`")
        committed = NOTEBOOKS / "student" / path.name
        assert committed.exists(), f"run `nst assign` to create {committed.name}"
        expected = nbformat.writes(release.make_student_version(notebook)) + "\n"
        assert committed.read_text() == expected, (
            f"notebooks/student/{path.name} is out of date with its source: run `nst assign`")


def test_assign_writes_student_versions(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for path in SOURCES:
        (source / path.name).write_text(path.read_text())
    written = release.assign(source, tmp_path / "student")
    assert [p.name for p in written] == [p.name for p in SOURCES]
    for path in written:
        assert path.read_text() == (NOTEBOOKS / "student" / path.name).read_text()


def test_student_versions_hide_every_solution():
    for path in SOURCES:
        student = (NOTEBOOKS / "student" / path.name).read_text()
        assert notebooks.BEGIN not in student and "raise NotImplementedError()" in student
        notebook = nbformat.read(NOTEBOOKS / "student" / path.name, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells)
        assert set(notebook.metadata["nst"]["exercises"]) == set(
            notebooks.exercises_in(nbformat.read(path, as_version=4)))


def planted(source, replacements, tmp_path, name):
    """A copy of solution notebook `source` with some exercise cells replaced."""
    notebook = nbformat.read(source, as_version=4)
    for exercise, code in replacements.items():
        notebook.cells[notebooks.exercises_in(notebook)[exercise]].source = code
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


# Answers in NumPy, with the right values but no gradient, and answers that unpack shapes.
NUMPY_CONTENT = """import numpy as np
def feature_reconstruction_loss(base, output):
    return np.sum((np.asarray(output) - np.asarray(base)) ** 2)
"""
NUMPY_GRAM = """def gram_matrix(x):
    features = np.asarray(x).reshape(-1, x.shape[-1])
    return features.T @ features
"""
UNPACKING_GRAM = """def gram_matrix(x):
    H, W, C = [int(j) for j in x.shape]
    features = ops.reshape(x, (H * W, C))
    return ops.matmul(ops.transpose(features), features)
"""
NUMPY_STYLE = """def style_reconstruction_loss(base, output):
    def normalized(x):
        features = ops.convert_to_numpy(x).reshape(-1, x.shape[-1])
        return features.T @ features / (x.shape[0] * x.shape[1])
    return 0.25 * np.sum((normalized(base) - normalized(output)) ** 2)
"""
UNPACKING_STYLE = """def style_reconstruction_loss(base, output):
    Hb, Wb, C = [int(j) for j in base.shape]
    Ho, Wo, _ = [int(j) for j in output.shape]
    return 0.25 * ops.sum(ops.square(gram_matrix(base) / (Hb * Wb)
                                     - gram_matrix(output) / (Ho * Wo)))
"""
NUMPY_TV = """def total_variation_loss(x):
    x = np.asarray(x)
    corner = x[:, :-1, :-1]
    return float(np.sum((x[:, 1:, :-1] - corner) ** 2 + (x[:, :-1, 1:] - corner) ** 2))
"""
FLOAT_TERMS = """def weighted_transfer_loss(extractor, content_batch, style_batch, content_layer,
                           style_layers, content_weight, style_weights, tv_weight):
    losses = nst.losses
    content_target = extractor(content_batch)[content_layer][0]
    style_features = extractor(style_batch)
    targets = [losses.normalized_gram(style_features[layer][0]) for layer in style_layers]
    def loss(image):
        features = extractor(image)
        content = losses.feature_reconstruction_loss(content_target, features[content_layer][0])
        style = sum(w / len(style_layers) * losses.style_loss_to_target(t, features[layer][0])
                    for w, t, layer in zip(style_weights, targets, style_layers))
        return {"content": float(content_weight * content), "style": float(style),
                "tv": float(tv_weight * losses.total_variation_loss(image))}
    return loss
"""
HOMEWORK_TV = """def total_variation_loss(x):
    \"\"\"The course homework's part D, with K replaced by ops.\"\"\"
    I, H, W, C = [int(j) for j in x.shape]
    a = ops.square(x[:, :H-1, :W-1, :] - x[:, 1:, :W-1, :])
    b = ops.square(x[:, :H-1, :W-1, :] - x[:, :H-1, 1:, :])

    return ops.sum(a+b)
"""
CACHING_EVALUATOR = """from nst_utils.backend import value_and_grad


class Evaluator:
    def __init__(self, loss_fn, shape):
        self.loss_fn, self.shape, self._loss = loss_fn, tuple(shape), None

    def loss(self, x):
        if self._loss is None:  # computed once, never again
            total, grads = value_and_grad(
                lambda image: ops.sum(ops.stack(list(self.loss_fn(image).values()))))(
                    np.reshape(x, self.shape))
            self._loss = float(total)
            self._grads = ops.convert_to_numpy(grads).ravel().astype(np.float64)
        return self._loss

    def grads(self, x):
        return self._grads
"""


def source_with(exercise):
    return next(p for p in SOURCES
                if exercise in notebooks.exercises_in(nbformat.read(p, as_version=4)))


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    content, style = source_with("feature_reconstruction_loss"), source_with("gram_matrix")
    buggy_content = planted(content, {
        "feature_reconstruction_loss":
            "def feature_reconstruction_loss(base, output):\n"
            "    return ops.mean(ops.square(output - base))\n",
        "deprocess_image":  # shares its cell with preprocess_image, which stays right
            "import numpy as np\n"
            "def preprocess_image(img, dims=None):\n"
            "    img = np.asarray(img, np.float32)\n"
            "    if dims is not None:\n"
            "        img = ops.convert_to_numpy(ops.image.resize(img, tuple(dims)))\n"
            "    return img[None, :, :, ::-1] - [103.939, 116.779, 123.68]\n"
            "def deprocess_image(x, height, width):\n    while True:\n        pass\n",
    }, tmp, "buggy_content.ipynb")
    buggy_style = planted(style, {
        "gram_matrix":
            "def gram_matrix(x):\n"
            "    return ops.stack([ops.sum(x * x[:, :, k:k + 1], axis=(0, 1))\n"
            "                      for k in range(x.shape[-1])])\n",
        "style_reconstruction_loss":
            "def style_reconstruction_loss(base, output):\n    return 0.0\n"
            "raise RuntimeError('student bug')\n",
    }, tmp, "buggy_style.ipynb")
    other_version = planted(content, {"preprocess_image": "x = 1\n"}, tmp, "old_version.ipynb")
    transfer = source_with("total_variation_loss")
    numpy_answers = [
        planted(content, {"feature_reconstruction_loss": NUMPY_CONTENT}, tmp, "numpy_01.ipynb"),
        planted(style, {"gram_matrix": NUMPY_GRAM}, tmp, "numpy_gram.ipynb"),
        planted(style, {"gram_matrix": UNPACKING_GRAM, "style_reconstruction_loss": NUMPY_STYLE},
                tmp, "numpy_style.ipynb"),
        planted(transfer, {"total_variation_loss": NUMPY_TV,
                           "weighted_transfer_loss": FLOAT_TERMS}, tmp, "numpy_03.ipynb")]
    homework = [planted(style, {"gram_matrix": UNPACKING_GRAM,
                                "style_reconstruction_loss": UNPACKING_STYLE}, tmp,
                        "unpacking_02.ipynb"),
                planted(transfer, {"total_variation_loss": HOMEWORK_TV,
                                   "Evaluator": CACHING_EVALUATOR}, tmp, "homework_03.ipynb")]
    garbage = tmp / "garbage.ipynb"
    garbage.write_text("{not json")
    submissions = [*SOURCES, *[NOTEBOOKS / "student" / p.name for p in SOURCES], buggy_content,
                   buggy_style, other_version, garbage, *numpy_answers, *homework]
    out = tmp / "grades.csv"
    assert main(["grade", *map(str, submissions), "--out", str(out), "--cell-timeout", "20",
                 "--jobs", "2"]) == 0
    with open(out, newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    return {"rows": rows, "sources": SOURCES, "buggy_content": str(buggy_content),
            "buggy_style": str(buggy_style), "other": str(other_version), "garbage": str(garbage),
            "numpy": [str(path) for path in numpy_answers],
            "homework": [str(path) for path in homework], "out": out}


@pytest.mark.slow
def test_solutions_get_full_marks(gradebook):
    for path in gradebook["sources"]:
        row = gradebook["rows"][str(path)]
        assert row["total"] == row["max"] and int(row["max"]) > 0, row["reasons"]


@pytest.mark.slow
def test_blank_student_versions_get_zero_without_crashing(gradebook):
    for path in gradebook["sources"]:
        row = gradebook["rows"][str(NOTEBOOKS / "student" / path.name)]
        assert row["total"] == "0" and "not implemented yet" in row["reasons"]


@pytest.mark.slow
def test_planted_bugs_lose_exactly_their_points_with_reasons(gradebook):
    content = gradebook["rows"][gradebook["buggy_content"]]
    assert content["feature_reconstruction_loss"] == "0" and content["deprocess_image"] == "0"
    assert content["preprocess_image"] == "1"
    assert int(content["total"]) == int(content["max"]) - 2
    assert "not the mean" in content["reasons"] and "timed out" in content["reasons"]
    style = gradebook["rows"][gradebook["buggy_style"]]
    assert style["gram_matrix"] == "0"
    assert "uses a loop on line 3 (for k in range(x.shape[-1])]))" in style["reasons"]
    assert style["style_reconstruction_loss"] == "0"
    assert "RuntimeError: student bug" in style["reasons"]


@pytest.mark.slow
def test_answers_without_gradient_lose_their_points_and_shape_unpacking_is_fine(gradebook):
    rows = [gradebook["rows"][path] for path in gradebook["numpy"]]
    # A NumPy gram_matrix also cuts the gradient of the style loss, which calls it.
    lost = [("feature_reconstruction_loss",), ("gram_matrix", "style_reconstruction_loss"),
            ("style_reconstruction_loss",), ("total_variation_loss", "weighted_transfer_loss")]
    for row, names in zip(rows, lost):
        for name in names:
            assert row[name] == "0", (name, row)
            assert f"{name}: a gradient flows back to" in row["reasons"], row["reasons"]
        assert row["reasons"].count("no gradient flows back to the input") == len(names)
        assert int(row["total"]) == int(row["max"]) - sum(EXERCISES[name].points for name in names)
    assert rows[2]["gram_matrix"] == "2"  # UNPACKING_GRAM
    assert "the weighted content term" not in rows[3]["reasons"]  # right values, no gradient


@pytest.mark.slow
def test_the_homework_total_variation_scores_and_a_caching_evaluator_is_told_why(gradebook):
    unpacking, row = (gradebook["rows"][path] for path in gradebook["homework"])
    assert (unpacking["total"], unpacking["max"], unpacking["reasons"]) == ("4", "4", "")
    assert row["total_variation_loss"] == "2" and row["weighted_transfer_loss"] == "2"
    assert row["Evaluator"] == "0" and "did not run the loss at all" in row["reasons"]
    assert "total_variation_loss" not in row["reasons"]


@pytest.mark.slow
def test_another_version_and_unreadable_files_are_graded_not_fatal(gradebook):
    other = gradebook["rows"][gradebook["other"]]
    assert other["preprocess_image"] == "0" and "another version" in other["reasons"]
    assert other["feature_reconstruction_loss"] == "1"
    garbage = gradebook["rows"][gradebook["garbage"]]
    assert garbage["total"] == "0" and garbage["reasons"] == (
        "notebook: not graded: the file is not a Jupyter notebook (not JSON, or no nbformat "
        "version)")


@pytest.mark.slow
def test_the_gradebook_is_never_overwritten_silently(gradebook, capsys):
    before = gradebook["out"].read_text()
    assert main(["grade", str(gradebook["sources"][0]), "--out", str(gradebook["out"])]) == 1
    assert "already exists" in capsys.readouterr().err
    assert gradebook["out"].read_text() == before


@pytest.mark.slow
def test_no_sandbox_and_assignment_are_honoured_and_recorded(tmp_path):
    out = tmp_path / "grades.csv"
    style, content = source_with("gram_matrix"), source_with("feature_reconstruction_loss")
    assert main(["grade", str(style), str(content), "--out", str(out), "--no-sandbox",
                 "--assignment", style.stem]) == 0
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["sandbox"] for row in rows] == ["NO (--no-sandbox)"] * 2
    assert (rows[0]["total"], rows[0]["max"]) == ("4", "4")
    assert (rows[1]["total"], rows[1]["max"]) == ("0", "4")
    assert "no cell defines gram_matrix" in rows[1]["reasons"]


def test_an_unknown_assignment_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "grades.csv"
    assert main(["grade", str(SOURCES[0]), "--out", str(out), "--assignment", "nope"]) == 1
    error = capsys.readouterr().err
    assert "Unknown --assignment 'nope'" in error and SOURCES[0].stem in error
    assert error.count("\n") == 1 and not out.exists()


def test_grading_refuses_where_no_sandbox_can_be_built(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool, script in (("unshare", "echo 'unshare: unshare failed: Operation not permitted' >&2"
                                     "; exit 1"), ("setpriv", 'shift 2; exec "$@"')):
        (fake / tool).write_text(f"#!/bin/sh\n{script}\n")
        (fake / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    out = tmp_path / "grades.csv"
    assert main(["grade", str(SOURCES[0]), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Operation not permitted" in error
    assert "unprivileged_userns_clone=1" in error and "--no-sandbox" in error
    assert not out.exists()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["grade", str(SOURCES[0]), "--out", str(out)]) == 1
    assert "`unshare` is not installed" in capsys.readouterr().err


def test_the_gradebook_keeps_every_row_when_a_file_appears_at_its_path(tmp_path):
    out = tmp_path / "grades.csv"
    row = {"submission": "a.ipynb", "points": {"gram_matrix": 2}, "reasons": {}, "total": 2,
           "max": 4, "sandbox": "yes"}
    book = Gradebook(out, 3)
    book.add(1, row)
    assert out.read_text().splitlines()[1].startswith("a.ipynb,2,2,4,yes")
    out.write_text("someone else's file")  # a file appears at --out while grading
    book.add(0, {**row, "submission": "b.ipynb"})
    book.add(2, {**row, "submission": "c.ipynb"})
    assert out.read_text() == "someone else's file" and book.path == tmp_path / "grades-2.csv"
    assert [line.split(",")[0] for line in book.path.read_text().splitlines()] == [
        "submission", "b.ipynb", "a.ipynb", "c.ipynb"]


def test_student_versions_follow_nbgrader_rules_for_regions_and_locks():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nModel answer.\n### END SOLUTION",
                                      metadata={"nbgrader": {"solution": True, "grade": True}}),
        nbformat.v4.new_markdown_cell("Anything", metadata={"nbgrader": {"solution": True}}),
        nbformat.v4.new_code_cell(
            "x = f()\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nx",
            metadata={"nbgrader": {"grade": True, "locked": True}}),
    ])
    student = release.make_student_version(notebook)
    assert [cell.source for cell in student.cells] == [
        "Why?\n\nYOUR ANSWER HERE", "YOUR ANSWER HERE", "x = f()\nx"]
    assert student.cells[0].metadata["deletable"] is False
    assert student.cells[2].metadata["editable"] is student.cells[2].metadata["deletable"] is False


@pytest.mark.parametrize("cell, message", [
    (nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n"
                               "    ### END SOLUTION"),
     "has a solution region but no nbgrader solution metadata"),
    (nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1",
                               metadata={"nbgrader": {"solution": True}}),
     "opens a solution region that never ends; add the line ### END SOLUTION"),
])
def test_assign_refuses_what_nbgrader_refuses_in_one_line(tmp_path, capsys, cell, message):
    source = planted(SOURCES[0], {}, tmp_path, SOURCES[0].name)
    notebook = nbformat.read(source, as_version=4)
    notebook.cells.append(cell)
    nbformat.write(notebook, source)
    assert main(["assign", str(tmp_path), "--out", str(tmp_path / "out")]) != 0
    error = capsys.readouterr().err.strip()
    assert message in error and str(source) in error and "\n" not in error, error
