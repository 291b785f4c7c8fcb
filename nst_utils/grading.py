"""The instructor's side of the exercises: student versions (`nst assign`) and grading (`nst grade`).

The solution notebooks are the single source. An exercise is a code cell that defines one of the
functions or classes in `nst_utils.checks.CHECKS`, with its solution between nbgrader's markers::

    def gram_matrix(x):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

`make_student_version` replaces what lies between the markers by ``raise NotImplementedError()``
and records in the notebook's metadata which exercises it holds. `grade` runs each submission's
import and exercise cells in a fresh kernel (nbclient), in a temporary folder, with per-cell and
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

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
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
    """A copy of a solution notebook with every solution removed and all outputs cleared."""
    student = copy.deepcopy(notebook)
    exercises = exercises_in(notebook)
    for index, cell in enumerate(student.cells):
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
    student.metadata["nst"] = {"exercises": {name: POINTS[name] for name in exercises}}
    return student


def _strip_solutions(source):
    pattern = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*$",
                         re.S | re.M)
    return pattern.sub(lambda m: "\n".join(m.group(1) + line
                                           for line in STUDENT_STUB.split("\n")), source)


def assign(source_dir="notebooks", out_dir=None):
    """Write the student version of every notebook with exercises; return the paths written."""
    source_dir = Path(source_dir)
    out_dir = Path(out_dir) if out_dir else source_dir / "student"
    written = []
    for path in sorted(source_dir.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if not exercises_in(notebook):
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / path.name
        _write_atomically(target, nbformat.writes(make_student_version(notebook)) + "\n")
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
    expected = notebook.metadata.get("nst", {}).get("exercises")
    found = exercises_in(notebook)
    if not expected:
        expected = {name: POINTS[name] for name in found}
        if not expected:
            row["reasons"]["notebook"] = "no exercise cells found; is this an nst notebook?"
            return row
    row["max"] = sum(POINTS[name] for name in expected)
    for name in expected:
        row["points"][name] = 0
        if name not in found:
            row["reasons"][name] = (f"no cell defines {name} (was the notebook saved from "
                                    "another version?)")
    results, errors = _run_hidden_checks(notebook, found, list(expected), cell_timeout,
                                         total_timeout)
    for name in expected:
        if name in row["reasons"]:
            continue
        if name in errors:
            row["reasons"][name] = errors[name]
        elif name in results:
            row["points"][name] = results[name]["points"]
            if results[name]["failures"]:
                row["reasons"][name] = results[name]["failures"][0]
        else:
            row["reasons"][name] = errors.get("checks", "the checks did not run")
    row["total"] = sum(row["points"].values())
    return row


def _run_hidden_checks(notebook, found, expected, cell_timeout, total_timeout):
    """Execute imports, exercise cells and the hidden checks; return (results, errors)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    token = secrets.token_hex(16)  # the submission cannot print a line the grader would trust
    cells = [nbformat.v4.new_code_cell(_PREAMBLE)]
    owners = [None]
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        names = [name for name, at in found.items() if at == index]
        if names or _only_imports(cell.source):
            cells.append(nbformat.v4.new_code_cell(_runnable(cell.source)))
            owners.append(names[0] if names else None)
    cells.append(nbformat.v4.new_code_cell(_CHECK_CELL.format(token=token, names=expected)))
    owners.append("checks")
    runner = nbformat.v4.new_notebook(cells=cells)
    errors, results = {}, {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nst-grade-") as workdir:
        client = NotebookClient(runner, timeout=cell_timeout, allow_errors=True,
                                kernel_name="python3", resources={"metadata": {"path": workdir}},
                                env={**os.environ, "NST_QUICK": "1", "MPLBACKEND": "Agg"})
        try:
            with client.setup_kernel():
                for index, cell in enumerate(runner.cells):
                    remaining = total_timeout - (time.monotonic() - started)
                    if remaining <= 0:
                        raise CellTimeoutError("total time limit reached")
                    client.timeout = max(1, int(min(cell_timeout, remaining)))
                    client.execute_cell(cell, index)
                    error = next((out for out in cell.outputs if out.output_type == "error"),
                                 None)
                    if error is not None and owners[index] is not None:
                        errors[owners[index]] = (f"the cell raised {error.ename}: "
                                                 f"{error.evalue}"[:300])
        except (CellTimeoutError, TimeoutError) as error:
            owner = owners[index] or "checks"
            reason = (f"timed out (limit {cell_timeout} s per cell, {total_timeout} s in all)"
                      if "total" not in str(error) else
                      f"timed out (total limit {total_timeout} s)")
            errors.setdefault(owner, reason)
            errors.setdefault("checks", reason)
        except DeadKernelError:
            errors.setdefault("checks", "the kernel died while running the submission")
    for output in runner.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith(token):
                results = json.loads(line[len(token):])
    return results, errors


def _runnable(source):
    """A cell's source without IPython magics and shell escapes, which plain parsing rejects."""
    return "\n".join(line for line in source.split("\n")
                     if not line.lstrip().startswith(("%", "!")))


def _only_imports(source):
    try:
        tree = ast.parse(_runnable(source))
    except SyntaxError:
        return False
    return bool(tree.body) and all(isinstance(node, (ast.Import, ast.ImportFrom))
                                   for node in tree.body)


_PREAMBLE = """\
import os
import numpy as np
import tensorflow as tf
import keras
from keras import ops
"""

_CHECK_CELL = """\
import importlib, json
import nst_utils.checks as _checks
_checks = importlib.reload(_checks)
_results = {{}}
for _name in {names!r}:
    _fn = globals().get(_name)
    if _fn is None:
        _results[_name] = {{"points": 0, "failures": [f"{{_name}} is not defined"]}}
        continue
    _result = _checks.CHECKS[_name](_fn, hidden=True, verbose=False)
    _results[_name] = {{"points": _result.points, "failures": _result.failures}}
print({token!r} + json.dumps(_results))
"""


def write_gradebook(rows, out_path, overwrite=False):
    """Write one CSV row per submission: points per exercise, total, max and reasons."""
    out_path = Path(out_path)
    if out_path.exists() and not overwrite:
        raise NSTError(f"'{out_path}' already exists; choose another name or pass --overwrite.")
    exercises = [name for name in CHECKS if any(name in row["points"] for row in rows)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", *exercises, "total", "max", "reasons"])
    for row in rows:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in row["reasons"].items())
        writer.writerow([row["submission"], *[row["points"].get(name, "") for name in exercises],
                         row["total"], row["max"], reasons])
    _write_atomically(out_path, buffer.getvalue())
    return out_path


def _write_atomically(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)

