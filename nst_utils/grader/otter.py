"""`nst assign --format otter`: the solution notebooks as otter-grader master notebooks.

otter-grader's ``otter assign`` (format v1) reads raw cells that open and close blocks: an
``# ASSIGNMENT CONFIG`` cell, then per question ``# BEGIN QUESTION`` (its name and points as YAML),
``# BEGIN SOLUTION`` ... ``# END SOLUTION`` around the answer cells, ``# BEGIN TESTS`` ... ``# END
TESTS`` around test cells (doctests: the code and its expected output), ``# END QUESTION``. Inside
an answer cell, the region to blank out lies between ``# BEGIN SOLUTION`` and ``# END SOLUTION``
comment lines, which is why nbgrader's ``### BEGIN SOLUTION`` lines are rewritten.

Each exercise becomes a question worth its record's points, all or nothing as in `nst grade`: a
public test (the student's check on its fixed inputs, expected to give full points) and a hidden
one (the same check on inputs drawn afresh). The student-facing check stays after the question, so
students still see ✓ and ✗ with hints. nbgrader's manually graded cells become manual questions.
"""

import copy
import re

import nbformat

from ..exercises import EXERCISES
from .notebooks import exercises_in, is_claim

_CHECK_CALL = re.compile(r"^result = check_(\w+)\((\w+)\)$", re.M)
_NBGRADER_REGION = re.compile(r"^(\s*)#*\s*(BEGIN|END) SOLUTION\s*$", re.M)


def master_notebook(notebook, assignment):
    """An otter-assign master notebook (v1 format) from an nbgrader solution notebook."""
    owners = {}
    for name, index in exercises_in(notebook).items():
        owners.setdefault(index, []).append(name)
    config = f"# ASSIGNMENT CONFIG\nname: {assignment}\nexport_cell: false\n"
    cells = [_raw(config)]
    opened = None  # the question that the last answer cell opened
    for index, cell in enumerate(notebook.cells):
        if is_claim(cell):  # the solution notebook's claim cells are not released
            continue
        cell = _without_outputs(cell)
        meta = cell.metadata.pop("nbgrader", {})
        if index in owners:
            first = owners[index][0]
            cells += [_raw(f"# BEGIN QUESTION\nname: {first}\npoints: {EXERCISES[first].points}\n"
                           "all_or_nothing: true"),
                      _raw("# BEGIN SOLUTION"), _otter_regions(cell), _raw("# END SOLUTION")]
            opened = first
        elif _CHECK_CALL.search(cell.source) and meta.get("grade"):
            check, function = _CHECK_CALL.search(cell.source).groups()
            exercise = next(name for name in EXERCISES if name.lower() == check.lower())
            if exercise != opened:  # the second exercise of a shared answer cell
                cells.append(_raw(f"# BEGIN QUESTION\nname: {exercise}\n"
                                  f"points: {EXERCISES[exercise].points}\nall_or_nothing: true"))
            cells += [*_tests(check, function, EXERCISES[exercise].points), _raw("# END QUESTION")]
            cell.source = _CHECK_CALL.search(cell.source).group(0)
            cells.append(cell)
        elif meta.get("grade") and meta.get("solution"):  # graded by hand
            cells += _manual_question(meta["grade_id"], meta["points"], cell)
        else:
            cells.append(cell)
    for number, cell in enumerate(cells):
        cell.setdefault("id", f"otter-{number}")  # the same export from the same notebook
    master = copy.deepcopy(notebook)
    master.cells = cells
    master.metadata.pop("widgets", None)
    return master


def _raw(source):
    return _cell("raw", source)


def _cell(cell_type, source):
    """A new cell without an id yet (`master_notebook` numbers them)."""
    return nbformat.from_dict({"cell_type": cell_type, "metadata": {}, "source": source})


def _without_outputs(cell):
    cell = copy.deepcopy(cell)
    cell.metadata.pop("execution", None)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def _otter_regions(cell):
    """The cell with nbgrader's solution delimiters as otter's ``# BEGIN/END SOLUTION``."""
    cell.source = _NBGRADER_REGION.sub(r"\1# \2 SOLUTION", cell.source)
    return cell


def _tests(check, function, points):
    """The tests block of an exercise: its public check, and the check on fresh inputs."""
    public = f"check_{check}({function}, verbose=False).points"
    hidden = (f"# HIDDEN\nimport secrets\n"
              f"check_{check}({function}, seed=secrets.randbits(64), verbose=False).points")
    tests = []
    for source in (public, hidden):
        test = _cell("code", source)
        test.execution_count = None
        # otter takes a doctest's expected output from the cell's output: full points
        test.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": str(points)},
                                               execution_count=None)]
        tests.append(test)
    return [_raw("# BEGIN TESTS"), *tests, _raw("# END TESTS")]


def _manual_question(name, points, cell):
    """A question graded by hand: the prompt stays, the model answer is the solution."""
    question = _raw(f"# BEGIN QUESTION\nname: {name}\npoints: {points}\nmanual: true")
    if cell.cell_type == "code":
        return [question, _raw("# BEGIN SOLUTION"), _otter_regions(cell),
                _raw("# END SOLUTION"), _raw("# END QUESTION")]
    prompt, _, rest = cell.source.partition("### BEGIN SOLUTION")
    answer = rest.partition("### END SOLUTION")[0].strip()
    cells = [question]
    if prompt.strip():
        cells += [_raw("# BEGIN PROMPT"), _cell("markdown", prompt.strip()),
                  _raw("# END PROMPT")]
    return cells + [_raw("# BEGIN SOLUTION"), _cell("markdown", answer),
                    _raw("# END SOLUTION"), _raw("# END QUESTION")]
