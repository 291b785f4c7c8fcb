"""Grading (`nst grade`): one gradebook row per handed-in notebook, whatever its bytes.

`grade` takes each submission's exercise list from the solution notebooks (never from the
submission), reads the file safely (`reading`), checks the submitted syntax trees (`rules`), runs
the import statements and exercise cells in an OS sandbox (`sandbox`, `jail`, `worker`) against a
library that holds none of the graded answers (`sandbox_library`), and there probes the student's
functions on inputs drawn afresh; then it judges the raw outputs here, outside the sandbox, with
the exercises' own records (`nst_utils.exercises`). The long demonstrations of the notebooks are
not re-run.
"""

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .. import backend
from ..errors import NSTError
from ..exercises import EXERCISES, judge
from . import rules, sandbox, sandbox_library
from .notebooks import SOURCE_DIR, assignments, exercises_in, imports_of, runnable
from .reading import Unreadable, parse_notebook, read_submission
from .submissions import shown
from .wire import Malformed, clean_text, decode_value, encode_array


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
    row["max"] = sum(EXERCISES[name].points for name in exercises)
    row["total"], row["reasons"] = 0, {"notebook": clean_text(reason)}


def _grade_notebook(row, notebook, options, known, builds):
    found = exercises_in(notebook)
    expected = known.get(options.assignment) or _best_match(found, known)
    if not expected:
        row["reasons"]["notebook"] = "no exercise cells found; is this an nst notebook?"
        return
    row["max"] = sum(EXERCISES[name].points for name in expected)
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
    inputs = {name: EXERCISES[name].inputs(seeds[name]) for name in present if name not in broken}
    steps = [{"kind": "cell", "source": source, "name": f"<cell {index}>", "owners": names}
             for index, source, names in cells]
    steps += [{"kind": "probe", "exercise": name, "owners": [name],
               "module": EXERCISES[name].probe.__module__,
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
            row["points"][name] = max(0, min(EXERCISES[name].points, int(points)))
        row["reasons"][name] = clean_text(reason) if reason else None
    row["reasons"] = {name: reason for name, reason in row["reasons"].items() if reason}
    row["total"] = sum(row["points"].values())


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
        source = runnable(cell.source) if names else imports_of(cell.source)
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
            set(raw) != set(EXERCISES[step["exercise"]].outputs)):
        raise Malformed(f"the reply for {step['exercise']} does not have its outputs")
    return {key: decode_value(value) for key, value in raw.items()}


def _verdict(name, inputs, outcome, cells):
    """(points, reason) of one exercise from its probe's outputs or the error that stopped it."""
    raw, error = outcome.get("raw"), outcome.get("error")
    if raw is None or raw == "missing":
        return 0, error or (f"{name} is not defined" if raw else "the checks did not run")
    loop = rules.loop_problem(cells, name) if EXERCISES[name].no_loops else None
    try:
        result, _ = judge(name, inputs, raw, loop)
    except Exception:  # noqa: BLE001 - hostile values must cost only this exercise
        return 0, "malformed reply from the sandbox: outputs the checks cannot compare"
    if error and not result.points:
        return 0, error
    return result.points, result.failures[0] if result.failures else None


# What every submission's code may rely on. `tf` only on TensorFlow, where the student versions
# of before the backend-neutral Evaluator (nst_utils.backend) imported it in their settings cell.
_PREAMBLE = ("import os\nimport re\nimport numpy as np\nimport keras\nfrom keras import ops\n"
             + ("import tensorflow as tf\n" if backend.NAME == "tensorflow" else ""))
