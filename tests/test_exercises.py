"""USE_MY_FUNCTIONS: the notebooks' demonstrations run with the student's own functions."""

import ast

import nbformat
import numpy as np
import pytest
from keras import ops

import nst_utils as nst
from nst_utils import NSTError, losses, style_transfer
from nst_utils.exercises import ExerciseFunctions, references
from nst_utils.grader import rules
from nst_utils.transfer import IMAGES_DIR

CONTENT, STYLE = IMAGES_DIR / "chelsea.jpg", IMAGES_DIR / "scream.jpg"
TINY = dict(max_size=40, iterations=3, progress=False, init="content", seed=0,
            content_weight=3e-2, tv_weight=1.0, style_weights=(1e3, 1e2, 10, 1, 1))


def test_the_switch_picks_the_students_functions_when_they_are_used():
    namespace = {}
    off, on = ExerciseFunctions(namespace, False), ExerciseFunctions(namespace, True)
    assert on.gram_matrix is losses.gram_matrix and dict(on) == {}  # nothing written yet

    def gram_matrix(x):  # defined after the settings cell, as in a notebook
        return losses.gram_matrix(x)

    namespace["gram_matrix"] = gram_matrix
    assert on.gram_matrix is gram_matrix and dict(on) == {"gram_matrix": gram_matrix}
    assert off.gram_matrix is losses.gram_matrix and dict(off) == {}
    assert repr(on) == "your gram_matrix; the library's others"
    assert set(references()) >= {"Evaluator", "weighted_transfer_loss", "total_variation_loss"}
    with pytest.raises(AttributeError, match="no exercise is called 'gram'"):
        _ = on.gram


@pytest.fixture(scope="module")
def library_result(tmp_path_factory):
    return style_transfer(CONTENT, STYLE, tmp_path_factory.mktemp("library") / "out", **TINY)


def test_with_the_switch_off_the_transfer_is_the_librarys(tmp_path, library_result):
    def total_variation_loss(x):
        raise AssertionError("the library's is used")

    off = ExerciseFunctions({"total_variation_loss": total_variation_loss}, False)
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "out", functions=off, **TINY)
    np.testing.assert_array_equal(image, library_result[0])
    assert history[-1]["loss"] == library_result[1][-1]["loss"]


def test_a_wrong_own_loss_changes_the_transfer(tmp_path, library_result):
    calls = []

    def total_variation_loss(x):  # passes no check: 10^9 times too strong
        calls.append(1)
        return 1e9 * losses.total_variation_loss(x)

    on = ExerciseFunctions({"total_variation_loss": total_variation_loss}, True)
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "out", functions=on, **TINY)
    assert calls  # traced into the compiled loss
    assert history[0]["tv"] > 1e8 * library_result[1][0]["tv"]
    # The over-weighted smoothness flattens the picture: far less detail than the library's.
    detail = [np.abs(np.diff(picture.astype(float), axis=1)).mean()
              for picture in (image, library_result[0])]
    assert detail[0] < 0.8 * detail[1]


class CountingEvaluator:
    """A student's Evaluator, as notebook 3 asks for it, counting its evaluations."""

    evaluations = 0

    def __init__(self, loss_fn, shape):
        self.loss_fn, self.shape, self._x = loss_fn, tuple(shape), None

    def loss(self, x):
        if self._x is None or not np.array_equal(x, self._x):
            total, grads = nst.backend.value_and_grad(
                lambda image: ops.sum(ops.stack(list(self.loss_fn(image).values()))))(
                    np.reshape(x, self.shape))
            self._x, self._loss = np.array(x), float(total)
            self._grads = ops.convert_to_numpy(grads).ravel().astype(np.float64)
            CountingEvaluator.evaluations += 1
        return self._loss

    def grads(self, x):
        self.loss(x)
        return self._grads


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_an_own_evaluator_and_total_loss_drive_the_transfer(tmp_path, library_result,
                                                            optimizer):
    built = []

    def weighted_transfer_loss(extractor, content_batch, style_batch, content_layer,
                               style_layers, content_weight, style_weights, tv_weight):
        built.append(content_layer)
        return references()["weighted_transfer_loss"](
            extractor, content_batch, style_batch, content_layer, style_layers,
            content_weight, style_weights, tv_weight)

    CountingEvaluator.evaluations = 0
    on = ExerciseFunctions({"Evaluator": CountingEvaluator,
                            "weighted_transfer_loss": weighted_transfer_loss}, True)
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "out", functions=on,
                                    optimizer=optimizer, **TINY)
    assert built == ["block4_conv2"] and CountingEvaluator.evaluations == (
        history[-1]["evaluations"])
    assert history[-1]["loss"] < history[0]["loss"]
    if optimizer == "lbfgs":  # the same loss and gradients: the library's result, up to float32
        assert history[-1]["loss"] == pytest.approx(library_result[1][-1]["loss"], rel=1e-3)


def test_an_own_total_loss_is_refused_where_it_cannot_serve(tmp_path):
    on = ExerciseFunctions({"weighted_transfer_loss": lambda *args: None}, True)
    with pytest.raises(NSTError, match="takes one style and no masks"):
        style_transfer(CONTENT, [STYLE, STYLE], tmp_path / "out", functions=on, **TINY)


def test_the_switchs_table_of_answers_is_off_limits_to_submissions():
    cell = ("from nst_utils.exercises import references\n"
            "def gram_matrix(x):\n"
            "    return references()['gram_matrix'](x)\n")
    broken, _ = rules.violations([(-1, "import numpy as np", []), (4, cell, ["gram_matrix"])],
                                 ["gram_matrix"])
    assert broken == {"gram_matrix": "uses nst_utils.exercises, the grader's own code"}


def notebook_function(notebook, name, namespace):
    """Define the function `name` of a committed notebook's cells in `namespace`."""
    cells = nbformat.read(IMAGES_DIR.parent / "notebooks" / notebook, as_version=4).cells
    for cell in cells:
        if cell.cell_type == "code" and f"def {name}(" in cell.source:
            tree = ast.parse(cell.source)
            node = next(n for n in tree.body if getattr(n, "name", None) == name)
            exec(compile(ast.Module([node], []), notebook, "exec"), namespace)  # noqa: S102
            return namespace[name]
    raise AssertionError(f"no cell of {notebook} defines {name}")


def test_notebook_1s_reconstruction_runs_the_students_content_loss():
    calls = []

    def feature_reconstruction_loss(base, output):  # wrong: the absolute differences
        calls.append(1)
        return ops.sum(ops.abs(output - base))

    namespace = {"nst": nst, "ITERATIONS": 2,
                 "feature_reconstruction_loss": feature_reconstruction_loss}
    photo = nst.load_image(CONTENT, max_size=32)
    results = {}
    for mine in (False, True):
        namespace["use"] = ExerciseFunctions(namespace, mine)
        reconstruct = notebook_function("01_content_reconstruction.ipynb", "reconstruct",
                                        namespace)
        results[mine] = reconstruct(photo, "block2_conv2")
    assert calls  # only the run with the switch on called it
    first_losses = [history[0]["loss"] for _, history in results.values()]
    assert first_losses[1] < first_losses[0] / 100  # a sum of |d|, not of d^2
    assert not np.array_equal(results[False][0], results[True][0])


def test_notebook_2s_synthesis_runs_the_students_style_loss():
    calls = []

    def style_reconstruction_loss(base, output):
        calls.append(1)
        return 2 * losses.style_reconstruction_loss(base, output)

    namespace = {"nst": nst, "ITERATIONS": 2, "CONVNET": "vgg16", "POOLING": "avg",
                 "style_reconstruction_loss": style_reconstruction_loss}
    texture = nst.load_image(STYLE, size=(32, 32))
    first_losses = []
    for mine in (False, True):
        namespace["use"] = ExerciseFunctions(namespace, mine)
        synthesize = notebook_function("02_style_reconstruction.ipynb", "synthesize", namespace)
        first_losses.append(synthesize(texture, ["block1_conv1", "block2_conv1"])[1][0]["loss"])
    assert calls and first_losses[1] == pytest.approx(2 * first_losses[0], rel=1e-2)


def test_the_checks_old_module_name_still_serves_released_notebooks():
    """Student versions released before the exercises became a package import their checks
    from nst_utils.checks."""
    from nst_utils import checks, exercises

    assert checks.check_gram_matrix is exercises.check_gram_matrix
    assert checks.POINTS == {name: record.points for name, record in exercises.EXERCISES.items()}
    assert checks.POINTS["gram_matrix"] == 2 and sum(checks.POINTS.values()) == 13


def test_a_stub_is_replaced_by_the_librarys_with_one_line(capsys):
    def gram_matrix(x):  # nbgrader's stub, as a student version has it
        # YOUR CODE HERE
        raise NotImplementedError()

    class Evaluator(references()["Evaluator"]):  # written but for one method
        def grads(self, x):
            raise NotImplementedError()

    def total_variation_loss(x):
        return losses.total_variation_loss(x)

    namespace = {"gram_matrix": gram_matrix, "Evaluator": Evaluator,
                 "total_variation_loss": total_variation_loss}
    on = ExerciseFunctions(namespace, True)
    assert on.gram_matrix is losses.gram_matrix and on.Evaluator is references()["Evaluator"]
    assert dict(on) == {"total_variation_loss": total_variation_loss}
    on.gram_matrix, dict(on)  # noqa: B018 - said once, however often it is used
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"USE_MY_FUNCTIONS: the library's {name} is used until yours is written (it "
                     "still raises NotImplementedError)" for name in ("gram_matrix", "Evaluator")]
    assert ExerciseFunctions(namespace, False).gram_matrix is losses.gram_matrix
    assert capsys.readouterr().out == ""  # the switch off: nothing to say


NOTEBOOKS = IMAGES_DIR.parent / "notebooks"


@pytest.mark.parametrize("name", ["01_content_reconstruction", "02_style_reconstruction",
                                  "03_style_transfer"])
def test_the_student_versions_use_the_students_functions(name, capsys):
    """The student versions turn USE_MY_FUNCTIONS on (the solutions keep it off, their figures
    are the library's); their blank exercise cells are stubs, replaced by the library's."""
    switch = "\nUSE_MY_FUNCTIONS = {}\nuse = ExerciseFunctions(globals(), USE_MY_FUNCTIONS)\n"
    solution = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    student = nbformat.read(NOTEBOOKS / "student" / f"{name}.ipynb", as_version=4)
    assert switch.format(False) in solution.cells[3].source
    assert switch.format(True) in student.cells[3].source
    namespace = {"np": np, "ops": ops, "nst": nst}
    for cell in student.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            exec(cell.source, namespace)  # noqa: S102 - the released stubs
    own = [name for name in references() if name in namespace]
    assert own and dict(ExerciseFunctions(namespace, True)) == {}
    out = capsys.readouterr().out
    assert all(f"the library's {name} is used until yours is written" in out for name in own)
