"""Releasing the notebooks (`nst assign`): student versions as nbgrader's ``generate_assignment``
makes them, or otter-grader master notebooks (`nst_utils.grader.otter`).

Releasing is a chain of small cell transforms: solution regions become stubs, hidden tests go,
outputs are cleared, cells are locked, the claim cells go (`notebooks.is_claim`), the links to
the solutions point to the student versions, and the demonstrations' switch ``USE_MY_FUNCTIONS``
is turned on, so that the pictures a student sees are painted by the student's own functions as
soon as they are written
(`nst_utils.exercises.ExerciseFunctions`; the library's stand in for those still stubs).
"""

import copy
import re
from pathlib import Path

import nbformat

from ..errors import NSTError
from ..files import atomic_write, text_writer
from . import otter
from .notebooks import BEGIN, SOURCE_DIR, exercise_metadata, exercises_in, is_claim

#: nbgrader's delimiters, found anywhere in a line as nbgrader finds them.
REGIONS = {"solution": ("BEGIN SOLUTION", "END SOLUTION"),
           "hidden tests": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")}
#: nbgrader's stubs for a solution region in a code and in a markdown cell.
STUDENT_STUB, TEXT_STUB = "# YOUR CODE HERE\nraise NotImplementedError()", "YOUR ANSWER HERE"
#: An "Open in Colab" link to a solution notebook; a student version's opens the student version.
COLAB_SOLUTIONS = re.compile(r"(colab\.research\.google\.com/github/\S+?/notebooks/)"
                             r"(?=[^/\s)]+\))")
#: The settings cell's switch, off in the solution notebooks (their figures are the library's).
SWITCH_OFF = re.compile(r"^USE_MY_FUNCTIONS = False\b", re.MULTILINE)
SWITCH_ON = "USE_MY_FUNCTIONS = True"


def switch_on(source):
    """A code cell's source with the demonstrations' switch ``USE_MY_FUNCTIONS`` turned on."""
    return SWITCH_OFF.sub(SWITCH_ON, source)


def make_student_version(notebook):
    """A copy of a solution notebook as nbgrader's ``generate_assignment`` releases it.

    Solution regions (in code and markdown solution cells) become nbgrader's stubs, hidden tests
    go, outputs are cleared, cells are locked as nbgrader locks them; the cells' nbgrader metadata
    stays (nbgrader adds only its checksums). Unlike nbgrader, it also turns the switch
    ``USE_MY_FUNCTIONS`` on (`switch_on`) and points the "Open in Colab" links at the student
    versions, and leaves the claim cells out (`is_claim`; tests/test_nbgrader.py allows for this
    difference). Run timestamps and widget state are dropped. The
    notebook's metadata (``nst``: assignment name and exercises, see `exercise_metadata`) is kept
    for the students' tools; the grader never trusts what a submission's metadata says. Raises
    `NSTError` for a solution region outside a solution cell or one left open, which nbgrader
    refuses too.
    """
    student = copy.deepcopy(notebook)
    student.cells = [cell for cell in student.cells if not is_claim(cell)]
    student.metadata.pop("widgets", None)  # progress-bar state of the instructor's run
    for index, cell in enumerate(student.cells):
        cell.metadata.pop("execution", None)  # run timestamps of the instructor's machine
        solution = cell.metadata.get("nbgrader", {}).get("solution", False)
        stub = STUDENT_STUB if cell.cell_type == "code" else TEXT_STUB
        where = f"cell {index} ({cell.get('id', 'no id')})"
        source, replaced = _replace_region(cell.source, "solution", stub, where)
        if replaced and not solution:
            raise NSTError(f"The {where} has a solution region but no nbgrader solution "
                           "metadata; mark it as a solution cell.")
        cell.source = source if replaced or not solution else stub
        cell.source = _replace_region(cell.source, "hidden tests", None, where)[0]
        _lock(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.source = switch_on(cell.source)
        else:
            cell.source = COLAB_SOLUTIONS.sub(r"\1student/", cell.source)
    return student


def _lock(cell):
    """Jupyter's lock flags, as nbgrader's release sets them by default: answer cells cannot be
    deleted; test cells and read-only cells can be neither deleted nor edited."""
    nbgrader = cell.metadata.get("nbgrader", {})
    if nbgrader.get("solution"):
        cell.metadata["deletable"] = False
    elif nbgrader.get("grade") or nbgrader.get("locked"):
        cell.metadata["deletable"] = cell.metadata["editable"] = False


def _replace_region(source, kind, stub, where):
    """(source, whether a region was found) with each region of `kind` (see `REGIONS`) replaced by
    `stub`, indented as its first line, or removed if `stub` is None: nbgrader's own rule, so that
    both release the same text. Raises `NSTError` for a region left open."""
    begin, end = REGIONS[kind]
    lines, inside, found = [], False, False
    for line in source.split("\n"):
        if begin in line:
            inside = found = True
            indent = line[:len(line) - len(line.lstrip())]
            lines += [indent + stub_line for stub_line in (stub.split("\n") if stub else [])]
        elif end in line:
            inside = False
        elif not inside:
            lines.append(line)
    if inside:
        raise NSTError(f"The {where} opens a {kind} region that never ends; add the line "
                       f"### {end}.")
    return "\n".join(lines), found


def assign(source_dir=SOURCE_DIR, out_dir=None, target="nbgrader"):
    """Write the student version of every notebook with exercises; return the paths written.

    `target` "otter" writes otter-grader master notebooks instead (`nst_utils.grader.otter`), by
    default into SOURCE/otter. Also records each notebook's exercises in its own metadata
    (`exercise_metadata`).
    """
    source_dir = Path(source_dir)
    out_dir = Path(out_dir) if out_dir else source_dir / TARGETS[target]
    written = []
    for path in sorted(source_dir.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if not exercises_in(notebook):
            continue
        metadata = exercise_metadata(notebook, path.stem)
        if notebook.metadata.get("nst") != metadata:
            # Solutions handed in as they are must be graded against the same exercise list.
            notebook.metadata["nst"] = metadata
            atomic_write(path, text_writer(nbformat.writes(notebook) + "\n"), overwrite=True)
        try:
            released = (otter.master_notebook(notebook, path.stem) if target == "otter"
                        else make_student_version(notebook))
        except NSTError as error:
            raise NSTError(f"{path}: {error}") from None
        out_dir.mkdir(parents=True, exist_ok=True)
        target_path = out_dir / path.name
        atomic_write(target_path, text_writer(nbformat.writes(released) + "\n"), overwrite=True)
        written.append(target_path)
    if not written:
        raise NSTError(f"No notebook in '{source_dir}' has exercise cells ({BEGIN} markers).")
    return written


#: What `assign` writes, and its default folder inside the source folder.
TARGETS = {"nbgrader": "student", "otter": "otter"}
