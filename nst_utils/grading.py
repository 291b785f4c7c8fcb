"""The instructor's side of the exercises: student versions (`nst assign`) and grading (`nst grade`).

The solution notebooks are the single source. An exercise is a code cell that defines one of the
functions or classes in `nst_utils.checks.CHECKS`, with its solution between nbgrader's markers::

    def gram_matrix(x):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

`make_student_version` replaces what lies between the markers by ``raise NotImplementedError()``
and records in the notebook's metadata which exercises it holds. `grade` runs each submission's
import statements and exercise cells in a fresh kernel (nbclient), in a temporary folder, with per-cell and
total time limits, and then runs the hidden checks against the functions the submission defined.
The long demonstrations of the notebooks are not re-run: grading takes seconds per notebook.
"""

import ast
import copy
import csv
import io
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

import nbformat

from .checks import CHECKS, POINTS
from .errors import NSTError
from .files import atomic_write

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SOURCE_DIR = Path(__file__).resolve().parent.parent / "notebooks"
STUDENT_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def defined_names(source):
    """Names of the functions and classes a cell's source defines at top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def exercises_in(notebook):
    """{exercise name: cell index} for the exercise cells of a notebook."""
    found = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for name in defined_names(_runnable(cell.source)):
                if name in CHECKS and (BEGIN in cell.source or name not in found):
                    found[name] = index
    return found


def make_student_version(notebook):
    """A copy of a solution notebook with every solution removed and all outputs cleared.

    The notebook's metadata (``nst``: assignment name and exercises, see `exercise_metadata`)
    is kept, so the grader knows what a submission should contain.
    """
    student = copy.deepcopy(notebook)
    student.metadata.pop("widgets", None)  # progress-bar state of the instructor's run
    exercises = exercises_in(notebook)
    for index, cell in enumerate(student.cells):
        cell.metadata.pop("execution", None)  # run timestamps of the instructor's machine
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.source = _strip_solutions(cell.source)
            cell.source = "\n".join(line for line in cell.source.split("\n")
                                    if line.strip() != _CHECK_MARK)
            names = [name for name, at in exercises.items() if at == index]
            if names:
                cell.metadata["nbgrader"] = {"grade": False, "grade_id": names[0],
                                             "locked": False, "schema_version": 3,
                                             "solution": True}
    return student


def exercise_metadata(notebook, assignment):
    """What `grade` needs to know of an assignment: its name and its exercises' points."""
    return {"assignment": assignment,
            "exercises": {name: POINTS[name] for name in exercises_in(notebook)}}


def _strip_solutions(source):
    pattern = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*$",
                         re.S | re.M)
    return pattern.sub(lambda m: "\n".join(m.group(1) + line
                                           for line in STUDENT_STUB.split("\n")), source)


def assign(source_dir=SOURCE_DIR, out_dir=None):
    """Write the student version of every notebook with exercises; return the paths written.

    Also records each notebook's exercises in its own metadata (`exercise_metadata`).
    """
    source_dir = Path(source_dir)
    out_dir = Path(out_dir) if out_dir else source_dir / "student"
    written = []
    for path in sorted(source_dir.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if not exercises_in(notebook):
            continue
        metadata = exercise_metadata(notebook, path.stem)
        if notebook.metadata.get("nst") != metadata:
            # Solutions handed in as they are must be graded against the same exercise list.
            notebook.metadata["nst"] = metadata
            atomic_write(path, _encoded(nbformat.writes(notebook) + "\n"), overwrite=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / path.name
        atomic_write(target, _encoded(nbformat.writes(make_student_version(notebook)) + "\n"),
                     overwrite=True)
        written.append(target)
    if not written:
        raise NSTError(f"No notebook in '{source_dir}' has exercise cells ({BEGIN} markers).")
    return written


def grade(submissions, cell_timeout=60, total_timeout=300):
    """Grade notebooks; return one dict per submission (see `write_gradebook`)."""
    return [grade_one(Path(path), cell_timeout, total_timeout) for path in submissions]


def grade_one(path, cell_timeout=60, total_timeout=300):
    """Run one submission's exercise cells in a fresh kernel and score them with hidden checks.

    Never raises for a bad submission: an unreadable file, a crash, a timeout or a notebook from
    another version all end as lost points with a reason.
    """
    row = {"submission": str(path), "points": {}, "reasons": {}, "total": 0, "max": 0}
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # any unreadable file is a zero, never a crash of the grader
        row["reasons"]["notebook"] = f"cannot read the notebook: {error}"
        return row
    found = exercises_in(notebook)
    expected = _expected_exercises(notebook.metadata.get("nst", {})) or list(found)
    if not expected:
        row["reasons"]["notebook"] = "no exercise cells found; is this an nst notebook?"
        return row
    row["max"] = sum(POINTS[name] for name in expected)
    for name in expected:
        row["points"][name] = 0
        if name not in found:
            row["reasons"][name] = (f"no cell defines {name} (was the notebook saved from "
                                    "another version?)")
    present = [name for name in expected if name in found]  # the others have their reason
    results, errors = _run_hidden_checks(notebook, found, present, cell_timeout, total_timeout)
    for name in expected:
        if name in row["reasons"]:
            continue
        if name in errors and not results.get(name, {}).get("points"):
            row["reasons"][name] = errors[name]
        elif name in results:
            row["points"][name] = results[name]["points"]
            if results[name]["failures"]:
                row["reasons"][name] = results[name]["failures"][0]
        else:
            row["reasons"][name] = "the checks did not run"
    row["total"] = sum(row["points"].values())
    return row


def _expected_exercises(metadata):
    """The exercises of the submission's assignment as it is now, else as it was saved."""
    source = SOURCE_DIR / f"{metadata.get('assignment', '')}.ipynb"
    if metadata.get("assignment") and source.is_file():
        return list(exercises_in(nbformat.read(source, as_version=4)))
    return [name for name in metadata.get("exercises", {}) if name in CHECKS]


def _run_hidden_checks(notebook, found, expected, cell_timeout, total_timeout):
    """Execute imports, exercise cells and one hidden check cell per exercise.

    Returns ({exercise: {"points", "failures"}}, {exercise: reason it could not be checked}).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    token = secrets.token_hex(16)  # the submission cannot print a line the grader would trust
    cells, owners = [nbformat.v4.new_code_cell(_PREAMBLE)], [None]
    for index, cell in enumerate(notebook.cells):
        names = [name for name, at in found.items() if at == index]
        if cell.cell_type != "code":
            continue
        source = _runnable(cell.source) if names else _imports_of(cell.source)
        if source:
            cells.append(nbformat.v4.new_code_cell(source))
            owners.append(names[0] if names else None)
    for name in expected:
        cells.append(nbformat.v4.new_code_cell(_CHECK_CELL.format(token=token, name=name)))
        owners.append(name)
    runner = nbformat.v4.new_notebook(cells=cells)
    results, errors = {}, {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nst-grade-") as workdir:
        client = NotebookClient(
            runner, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
            # On timeout: interrupt the kernel and move on, even if the code ignores interrupts.
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "Timeout", "evalue": "", "traceback": []},
            resources={"metadata": {"path": workdir}})
        try:
            with client.setup_kernel(env={**os.environ, "NST_QUICK": "1", "MPLBACKEND": "Agg"}):
                for index, cell in enumerate(runner.cells):
                    remaining = total_timeout - (time.monotonic() - started)
                    if remaining < 1:
                        for name in expected:
                            errors.setdefault(name, f"not checked: the submission used up the "
                                                    f"total time limit of {total_timeout} s")
                        break
                    client.timeout = int(min(cell_timeout, remaining))
                    cell_started = time.monotonic()
                    client.execute_cell(cell, index)
                    owner = owners[index]
                    error = next((out for out in cell.outputs if out.output_type == "error"),
                                 None)
                    if owner is None:
                        continue
                    if time.monotonic() - cell_started >= client.timeout:
                        errors.setdefault(owner, f"timed out after {client.timeout} s")
                    elif error is not None:
                        errors.setdefault(owner, f"the cell raised {error.ename}: "
                                                 f"{error.evalue}"[:300])
        except DeadKernelError:
            for name in expected:
                errors.setdefault(name, "the kernel died while running the submission")
    for cell in runner.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(token):
                    results.update(json.loads(line[len(token):]))
    return results, errors


def _runnable(source):
    """A cell's source without IPython magics and shell escapes, which plain parsing rejects."""
    return "\n".join(line for line in source.split("\n")
                     if not line.lstrip().startswith(("%", "!")))


def _imports_of(source):
    """The top-level import statements of a cell, which exercise cells may rely on."""
    try:
        tree = ast.parse(_runnable(source))
    except SyntaxError:
        return ""
    return "\n".join(ast.unparse(node) for node in tree.body
                     if isinstance(node, (ast.Import, ast.ImportFrom)))


_PREAMBLE = """\
import os
import numpy as np
import tensorflow as tf
import keras
from keras import ops
"""

_CHECK_CELL = """\
import importlib as _importlib, json as _json
import nst_utils.checks as _checks
_checks = _importlib.reload(_checks)
if {name!r} in globals():
    _result = _checks.CHECKS[{name!r}](globals()[{name!r}], hidden=True, verbose=False)
    _outcome = {{"points": _result.points, "failures": _result.failures}}
else:
    _outcome = {{"points": 0, "failures": [{name!r} + " is not defined"]}}
print({token!r} + _json.dumps({{{name!r}: _outcome}}))
"""


def write_gradebook(rows, out_path, overwrite=False):
    """Write one CSV row per submission: points per exercise, total, max and reasons."""
    exercises = [name for name in CHECKS if any(name in row["points"] for row in rows)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", *exercises, "total", "max", "reasons"])
    for row in rows:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in row["reasons"].items())
        writer.writerow([row["submission"], *[row["points"].get(name, "") for name in exercises],
                         row["total"], row["max"], reasons])
    return atomic_write(out_path, _encoded(buffer.getvalue()), overwrite)


def _encoded(text):
    """A writer for `atomic_write` of UTF-8 text."""
    return lambda handle: handle.write(text.encode("utf-8"))
