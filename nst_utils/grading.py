"""The instructor's side of the exercises: student versions (`nst assign`) and grading (`nst grade`).

The solution notebooks are the single source. An exercise is a code cell that defines one of the
functions or classes in `nst_utils.checks.CHECKS`, with its solution between nbgrader's markers::

    def gram_matrix(x):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

`make_student_version` replaces what lies between the markers by ``raise NotImplementedError()``.
`grade` takes each submission's exercise list from the solution notebooks (never from the
submission), checks the submitted syntax trees (`nst_utils.rules`), runs the import statements and
exercise cells in an OS sandbox (`nst_utils.sandbox`) and there probes the student's functions on
inputs drawn afresh (`nst_utils.cases`, `nst_utils.probes`); then it judges the raw outputs here,
outside the sandbox (`nst_utils.judging`). The long demonstrations of the notebooks are not re-run.
"""

import ast
import copy
import csv
import io
import os
import re
import secrets
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
import threading

import nbformat

from . import backend, otter, rules, sandbox, sandbox_library
from .bundled import NOTEBOOKS_DIR
from .cases import CASES
from .checks import CHECKS, POINTS, result_of
from .errors import NSTError
from .files import atomic_write
from .submissions import shown
from .judging import NO_LOOPS, judge
from .probes import OUTPUT_KEYS
from .wire import Malformed, clean_text, decode_value, encode_array

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
#: nbgrader's delimiters, found anywhere in a line as nbgrader finds them.
REGIONS = {"solution": ("BEGIN SOLUTION", "END SOLUTION"),
           "hidden tests": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")}
SOURCE_DIR = NOTEBOOKS_DIR  # the solution notebooks that come with nst
#: nbgrader's stubs for a solution region in a code and in a markdown cell.
STUDENT_STUB, TEXT_STUB = "# YOUR CODE HERE\nraise NotImplementedError()", "YOUR ANSWER HERE"
#: An "Open in Colab" link to a solution notebook; a student version's opens the student version.
COLAB_SOLUTIONS = re.compile(r"(colab\.research\.google\.com/github/\S+?/notebooks/)"
                             r"(?=[^/\s)]+\))")


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
    """A copy of a solution notebook as nbgrader's ``generate_assignment`` releases it.

    Solution regions (in code and markdown solution cells) become nbgrader's stubs, hidden tests
    go, outputs are cleared, cells are locked as nbgrader locks them; the cells' nbgrader metadata
    stays (nbgrader adds only its checksums). Run timestamps and widget state are dropped. The
    notebook's metadata (``nst``: assignment name and exercises, see `exercise_metadata`) is kept
    for the students' tools; the grader never trusts what a submission's metadata says. Raises
    `NSTError` for a solution region outside a solution cell or one left open, which nbgrader
    refuses too.
    """
    student = copy.deepcopy(notebook)
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


def exercise_metadata(notebook, assignment):
    """An assignment's name and its exercises' points, as recorded in its notebooks."""
    return {"assignment": assignment,
            "exercises": {name: POINTS[name] for name in exercises_in(notebook)}}


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

    `target` "otter" writes otter-grader master notebooks instead (`nst_utils.otter`), by default
    into SOURCE/otter. Also records each notebook's exercises in its own metadata
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
            atomic_write(path, _encoded(nbformat.writes(notebook) + "\n"), overwrite=True)
        try:
            released = (otter.master_notebook(notebook, path.stem) if target == "otter"
                        else make_student_version(notebook))
        except NSTError as error:
            raise NSTError(f"{path}: {error}") from None
        out_dir.mkdir(parents=True, exist_ok=True)
        target_path = out_dir / path.name
        atomic_write(target_path, _encoded(nbformat.writes(released) + "\n"), overwrite=True)
        written.append(target_path)
    if not written:
        raise NSTError(f"No notebook in '{source_dir}' has exercise cells ({BEGIN} markers).")
    return written


#: What `assign` writes, and its default folder inside the source folder.
TARGETS = {"nbgrader": "student", "otter": "otter"}


def assignments(source_dir=SOURCE_DIR):
    """{assignment name: its exercises} from the instructor's solution notebooks."""
    found = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        exercises = list(exercises_in(nbformat.read(path, as_version=4)))
        if exercises:
            found[path.stem] = exercises
    return found


@dataclass
class Options:
    """How `grade` runs: time limits in seconds, sandbox or not, and the assignment if fixed."""

    cell_timeout: int = 60
    total_timeout: int = 300
    sandbox: bool = True
    assignment: str = None


def grade(submissions, options=None, jobs=1, on_row=None):
    """Grade notebooks, `jobs` at a time; return one row dict per submission, in their order.

    `on_row(index, row)` is called as each row is ready (the gradebook writes it at once). Raises
    `NSTError` before grading anything if no sandbox can be built (unless options.sandbox is
    false) or the assignment is unknown. A KeyboardInterrupt (SIGINT, SIGTERM in `nst`) kills
    the running sandboxes at once; the rows finished before it have been handed to `on_row`, the
    rows in progress are dropped, and the interrupt goes on up.
    """
    options = options or Options()
    known = assignments()
    if options.assignment is not None and options.assignment not in known:
        raise NSTError(f"Unknown --assignment '{shown(options.assignment)}'; the solution "
                       f"notebooks in '{SOURCE_DIR}' define: {', '.join(known) or 'none'}.")
    if options.sandbox:
        sandbox.check_available()
    rows = [None] * len(submissions)
    with sandbox_library.Builds() as builds:

        def one(index):
            row = grade_one(Path(submissions[index]), options, known, builds)
            if not sandbox.stopping():  # a row cut short by the stop is not a grade
                rows[index] = row
                if on_row:
                    on_row(index, row)

        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        futures = [pool.submit(one, index) for index in range(len(submissions))]
        try:
            for future in futures:
                future.result()
        except BaseException:
            sandbox.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
    return rows


def grade_one(path, options, known, builds):
    """Run one submission's exercise cells in a sandbox and judge what its functions return.

    Never raises for a submission, whatever its bytes: an unreadable or malformed file, a crash,
    a timeout, a malformed reply, a notebook from another version, or anything unforeseen that
    its content makes the grader raise, ends as this row's lost points with a one-line reason.
    """
    row = {"submission": shown(path), "points": {}, "reasons": {}, "total": 0, "max": 0,
           "sandbox": "yes" if options.sandbox else "NO (--no-sandbox)"}
    with _OWN_WORK:
        _grade_safely(row, path, options, known, builds)
    return row


#: The grader's own work on a submission (reading, rules, judging with the Keras backend) is done
#: for one submission at a time, in milliseconds; only the sandboxes run in parallel (--jobs),
#: since the backends' bindings are not all safe to call from several threads at once.
_OWN_WORK = threading.Lock()


def _grade_safely(row, path, options, known, builds):
    try:
        notebook = parse_notebook(read_submission(path))
        _grade_notebook(row, notebook, options, known, builds)
    except Unreadable as error:
        _zero(row, known.get(options.assignment, []), f"not graded: the file {error}")
    except sandbox.Stopped:
        raise
    except Exception as error:  # noqa: BLE001 - a submission's content never stops the class
        _zero(row, list(row["points"]) or known.get(options.assignment, []),
              f"not graded: the grader could not handle this notebook ({type(error).__name__}); "
              "it scores 0")


def _zero(row, exercises, reason):
    row["points"] = {name: 0 for name in exercises}
    row["max"] = sum(POINTS[name] for name in exercises)
    row["total"], row["reasons"] = 0, {"notebook": clean_text(reason)}


def _grade_notebook(row, notebook, options, known, builds):
    found = exercises_in(notebook)
    expected = known.get(options.assignment) or _best_match(found, known)
    if not expected:
        row["reasons"]["notebook"] = "no exercise cells found; is this an nst notebook?"
        return
    row["max"] = sum(POINTS[name] for name in expected)
    for name in expected:
        row["points"][name] = 0
        if name not in found:
            row["reasons"][name] = (f"no cell defines {name} (was the notebook saved from "
                                    "another version?)")
    present = [name for name in expected if name in found]  # the others have their reason
    cells = _cells_to_run(notebook, found)
    broken, blocked = rules.violations(cells, present)
    cells = [cell for position, cell in enumerate(cells) if position not in blocked]
    seeds = {name: secrets.randbits(128) for name in present}  # never leave this process
    inputs = {name: CASES[name](seeds[name]) for name in present if name not in broken}
    steps = [{"kind": "cell", "source": source, "name": f"<cell {index}>", "owners": names}
             for index, source, names in cells]
    steps += [{"kind": "probe", "exercise": name, "owners": [name],
               "inputs": {key: encode_array(value) for key, value in inputs[name].items()}}
              for name in inputs]
    _OWN_WORK.release()  # while this sandbox runs, the grader works on other submissions
    try:
        replies, problems, failure = sandbox.run_steps(
            [{key: value for key, value in step.items() if key != "owners"} for step in steps],
            options.cell_timeout, options.total_timeout, builds.folder(expected), options.sandbox)
    finally:
        _OWN_WORK.acquire()
    if 0 in problems:  # the preamble, before any of the submission's code
        failure = f"not checked: the grader's sandbox did not start ({problems[0]})"
    try:
        outcomes = _outcomes(steps, replies, problems) if not failure else {}
    except Malformed as error:
        failure = f"malformed reply from the sandbox: {error}"
    for name in present:
        if failure:  # the whole submission's zero
            reason = failure
        elif name in broken:
            reason = broken[name]
        else:
            points, reason = _verdict(name, inputs[name], outcomes.get(name, {}), cells)
            row["points"][name] = max(0, min(POINTS[name], int(points)))
        row["reasons"][name] = clean_text(reason) if reason else None
    row["reasons"] = {name: reason for name, reason in row["reasons"].items() if reason}
    row["total"] = sum(row["points"].values())


#: Submissions larger than this are not read; notebooks with more code or cells than these are
#: not parsed, which bounds the grader's own memory and time per submission (the solutions have
#: about 40 kB of code in 60 cells).
MAX_NOTEBOOK_BYTES, MAX_CODE_BYTES, MAX_CELLS = 20 << 20, 1 << 20, 5000


class Unreadable(Exception):
    """What keeps a handed-in file from being graded, in words that quote none of its content."""


def read_submission(path):
    """The bytes of a handed-in file, read once and only if it is a regular file.

    The path is not followed if it is a symbolic link (it could lead to any file the grader can
    read, or to another student's notebook) and is opened without blocking (a FIFO would wait
    for a writer for ever); at most `MAX_NOTEBOOK_BYTES` + 1 bytes are read (/dev/zero never
    ends). Raises `Unreadable`.
    """
    try:
        before = os.lstat(path)
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    if stat.S_ISLNK(before.st_mode):
        raise Unreadable("is a symbolic link, which is never followed; hand in the notebook "
                         "itself") from None
    if not stat.S_ISREG(before.st_mode):
        raise Unreadable("is not a regular file (a folder, FIFO, socket or device)")
    flags = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
             | getattr(os, "O_NOCTTY", 0))
    try:
        handle = os.open(path, flags)
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode) or (status.st_dev, status.st_ino) != (
                before.st_dev, before.st_ino):
            raise Unreadable("was replaced while it was opened")
        chunks, size = [], 0
        while size <= MAX_NOTEBOOK_BYTES:
            chunk = os.read(handle, min(1 << 20, MAX_NOTEBOOK_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    finally:
        os.close(handle)
    if size > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    return b"".join(chunks)


def parse_notebook(data):
    """The notebook in `data`, checked against nbformat's schema and the size limits before
    anything uses it. Raises `Unreadable` with the kind of problem, never the content."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("is not UTF-8 text, so not a notebook") from None
    try:
        # nbformat's own reads() would log an invalid notebook's content to the terminal.
        notebook = nbformat.reader.reads(text)
        if notebook.nbformat == 4:
            nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        raise Unreadable("does not follow the notebook format (nbformat 4): "
                         f"{_schema_problem(error)}") from None
    except RecursionError:
        raise Unreadable("nests its JSON too deeply to be a notebook") from None
    except Exception:  # noqa: BLE001 - nbformat's messages quote the content
        raise Unreadable("is not a Jupyter notebook (not JSON, or no nbformat version)") from None
    if notebook.nbformat != 4:
        raise Unreadable(f"is a notebook of format {int(notebook.nbformat)}; open it in Jupyter "
                         "and save it again (format 4)")
    if len(notebook.cells) > MAX_CELLS:
        raise Unreadable(f"has more than {MAX_CELLS} cells")
    code = sum(len(cell.source.encode("utf-8")) for cell in notebook.cells
               if cell.cell_type == "code")
    if code > MAX_CODE_BYTES:
        raise Unreadable(f"has more than {MAX_CODE_BYTES >> 20} MB of code")
    return notebook


#: The fields of nbformat 4's schema, which a reason may name (a submission's own keys, never).
SCHEMA_FIELDS = {"cells", "metadata", "nbformat", "nbformat_minor", "cell_type", "source",
                 "outputs", "execution_count", "id", "attachments", "output_type", "data", "text",
                 "name", "ename", "evalue", "traceback"}


def _schema_problem(error):
    """Where a notebook breaks the schema, in words that quote none of its content."""
    path = list(getattr(error, "absolute_path", []))
    where = (f"cell {path[1]}" if len(path) > 1 and path[0] == "cells"
             and isinstance(path[1], int) else "the notebook")
    fields = [part for part in path[2:] if part in SCHEMA_FIELDS]
    if fields:
        return f"the field {fields[-1]!r} of {where} does not fit the format"
    return f"{where} does not fit the format"


def _best_match(found, known):
    """The exercises of the assignment that shares the most exercises with a submission.

    A submission's metadata is never trusted; its cells say which assignment it is.
    """
    best = max(known.values(), key=lambda exercises: len(set(exercises) & set(found)),
               default=[])
    return best if set(best) & set(found) else []


def _cells_to_run(notebook, found):
    """[(cell index, source, exercises it defines)]: the preamble, every import statement and the
    exercise cells (without magics) of a submission, in order."""
    cells = [(-1, _PREAMBLE, [])]
    for index, cell in enumerate(notebook.cells):
        names = [name for name, at in found.items() if at == index]
        if cell.cell_type != "code":
            continue
        source = _runnable(cell.source) if names else _imports_of(cell.source)
        if source:
            cells.append((index, source, names))
    return cells


def _outcomes(steps, replies, problems):
    """{exercise: {"error": why it could not be checked, "raw": probe outputs or "missing"}}.

    Each step names its owners, the exercises that a problem of the step costs. Raises
    `Malformed` for a reply that does not fit its step.
    """
    outcomes = {}
    for index, step in enumerate(steps):
        problem, reply = problems.get(index), replies.get(index)
        if reply is not None and step["kind"] == "cell":
            problem = _cell_error(reply)
        elif reply is not None:
            outcomes.setdefault(step["exercise"], {})["raw"] = _probe_outputs(step, reply)
        for name in step["owners"] if problem else []:
            outcomes.setdefault(name, {}).setdefault("error", problem)
    return outcomes


def _cell_error(reply):
    if set(reply) != {"step", "error"} or not (reply["error"] is None
                                                or isinstance(reply["error"], str)):
        raise Malformed("a cell's reply needs exactly step and error")
    return reply["error"] and f"the cell raised {clean_text(reply['error'])}"


def _probe_outputs(step, reply):
    if set(reply) == {"step", "missing"} and reply["missing"] is True:
        return "missing"
    raw = reply.get("raw")
    if set(reply) != {"step", "raw"} or not isinstance(raw, dict) or (
            set(raw) != OUTPUT_KEYS[step["exercise"]]):
        raise Malformed(f"the reply for {step['exercise']} does not have its outputs")
    return {key: decode_value(value) for key, value in raw.items()}


def _verdict(name, inputs, outcome, cells):
    """(points, reason) of one exercise from its probe's outputs or the error that stopped it."""
    raw, error = outcome.get("raw"), outcome.get("error")
    if raw is None or raw == "missing":
        return 0, error or (f"{name} is not defined" if raw else "the checks did not run")
    loop = rules.loop_problem(cells, name) if name in NO_LOOPS else None
    try:
        result = result_of(name, judge(name, inputs, raw, loop))
    except Exception:  # noqa: BLE001 - hostile values must cost only this exercise
        return 0, "malformed reply from the sandbox: outputs the checks cannot compare"
    if error and not result.points:
        return 0, error
    return result.points, result.failures[0] if result.failures else None


def _runnable(source):
    """A cell's source with its IPython magics and shell escapes, which plain parsing rejects,
    blanked out (so that line numbers stay the cell's own)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))


def _imports_of(source):
    """The top-level import statements of a cell, which exercise cells may rely on."""
    try:
        tree = ast.parse(_runnable(source))
    except SyntaxError:
        return ""
    return "\n".join(ast.unparse(node) for node in tree.body
                     if isinstance(node, (ast.Import, ast.ImportFrom)))


# What every submission's code may rely on. `tf` only on TensorFlow, where the student versions
# of before the backend-neutral Evaluator (nst_utils.backend) imported it in their settings cell.
_PREAMBLE = ("import os\nimport re\nimport numpy as np\nimport keras\nfrom keras import ops\n"
             + ("import tensorflow as tf\n" if backend.NAME == "tensorflow" else ""))

class Gradebook:
    """The CSV gradebook: one row per submission, the whole file rewritten atomically as each row
    is ready, so a crash loses at most the rows not finished yet.

    The file is the grader's own: if another program puts a file at its path meanwhile, that file
    is left alone and the gradebook goes on in a new file next to it (`path` says which).
    """

    def __init__(self, path, count, overwrite=False):
        self.path = self._requested = Path(path)
        if self.path.exists() and not overwrite:
            raise NSTError(f"'{path}' already exists; choose another --out or pass --overwrite.")
        self.rows, self._overwrite, self._ours = [None] * count, overwrite, None
        self._lock = threading.Lock()
        self._number = 1

    def add(self, index, row):
        """Record row `index` (in the submissions' order) and rewrite the file."""
        with self._lock:
            self.rows[index] = row
            self._write()

    def _write(self):
        data = _encoded(_csv([row for row in self.rows if row is not None]))
        while True:
            mine = self._ours is not None and _identity(self.path) == self._ours
            try:
                atomic_write(self.path, data, overwrite=mine or self._overwrite)
                break
            except NSTError:  # a file appeared there that is not ours: never replace it
                self._number += 1
                base = self._requested
                self.path = base.with_name(f"{base.stem}-{self._number}{base.suffix}")
                self._ours, self._overwrite = None, False
        self._ours, self._overwrite = _identity(self.path), False


def _identity(path):
    """What tells our last write of `path` from anyone else's: the file, its size and time."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _csv(rows):
    """The gradebook's text: points per exercise, total, max, sandbox and reasons."""
    exercises = [name for name in CHECKS if any(name in row["points"] for row in rows)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", *exercises, "total", "max", "sandbox", "reasons"])
    for row in rows:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in row["reasons"].items())
        writer.writerow([_inert(row["submission"]),
                         *[row["points"].get(name, "") for name in exercises],
                         row["total"], row["max"], row["sandbox"], _inert(reasons)])
    return buffer.getvalue()


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text):
    """A gradebook cell that no spreadsheet runs as a formula: escaped (`shown`), and quoted
    with a leading apostrophe where it would start like one, as OWASP recommends."""
    text = shown(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _encoded(text):
    """A writer for `atomic_write` of UTF-8 text."""
    return lambda handle: handle.write(text.encode("utf-8"))
