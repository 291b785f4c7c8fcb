"""What a notebook holds for the grader: its exercise cells, and the code of a cell that runs.

The solution notebooks are the single source. An exercise is a code cell that defines one of the
functions or classes of `nst_utils.exercises.EXERCISES`, with its solution between nbgrader's
markers::

    def gram_matrix(x):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION
"""

import ast
from pathlib import Path

import nbformat

from ..bundled import NOTEBOOKS_DIR
from ..exercises import EXERCISES

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SOURCE_DIR = NOTEBOOKS_DIR  # the solution notebooks that come with nst


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
            for name in defined_names(runnable(cell.source)):
                if name in EXERCISES and (BEGIN in cell.source or name not in found):
                    found[name] = index
    return found


def exercise_metadata(notebook, assignment):
    """An assignment's name and its exercises' points, as recorded in its notebooks."""
    return {"assignment": assignment,
            "exercises": {name: EXERCISES[name].points for name in exercises_in(notebook)}}


def assignments(source_dir=SOURCE_DIR):
    """{assignment name: its exercises} from the instructor's solution notebooks."""
    found = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        exercises = list(exercises_in(nbformat.read(path, as_version=4)))
        if exercises:
            found[path.stem] = exercises
    return found


def runnable(source):
    """A cell's source with its IPython magics and shell escapes, which plain parsing rejects,
    blanked out (so that line numbers stay the cell's own)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))


def imports_of(source):
    """The top-level import statements of a cell, which exercise cells may rely on."""
    try:
        tree = ast.parse(runnable(source))
    except SyntaxError:
        return ""
    return "\n".join(ast.unparse(node) for node in tree.body
                     if isinstance(node, (ast.Import, ast.ImportFrom)))


#: The tag of the solution notebooks' claim cells: hidden assertions that hold a number or a
#: description in the prose to the values the cells computed (tests/test_notebooks.py). They state
#: the answers to the notebooks' "predict first" questions, and the student versions, painted by
#: the students' own functions, are not the run they describe, so releasing drops them.
CLAIM_TAG = "claim"


def is_claim(cell):
    """Whether a cell is a claim cell (tagged `CLAIM_TAG`), which releases leave out."""
    return CLAIM_TAG in cell.get("metadata", {}).get("tags", [])
