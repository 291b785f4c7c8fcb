"""The exercises of the notebooks, one module and one `Exercise` record each, and their checks.

Immediate feedback for students: each ``check_*`` function takes the student's function (or
class), probes it on fixed random inputs and on edge cases, judges its values and, for the
losses, its gradient against the library's reference implementation, applies the no-loop rule
where the exercise has one (`loops`), prints one line per case and returns a `CheckResult`. A
wrong, unfinished or crashing answer is reported, never raised.

The instructor's grader (`nst_utils.grader`) reads the same records, but draws fresh inputs,
probes in a sandbox and judges outside it. Adding an exercise: write its module (see
`gram_matrix` for the pattern, `record.Exercise` for the fields) and add it to
`index.MODULES`.
"""

import ast
import inspect
import textwrap
from dataclasses import dataclass, field

from .functions import ExerciseFunctions
from .index import EXERCISES, references
from .loops import loop_verdict

#: The seed of the inputs students see in their notebooks.
STUDENT_SEED = 1


@dataclass
class CheckResult:
    """The outcome of one exercise's checks."""

    exercise: str
    failures: list = field(default_factory=list)
    cases: int = 0

    @property
    def passed(self):
        return self.cases > 0 and not self.failures

    @property
    def points(self):
        return EXERCISES[self.exercise].points if self.passed else 0

    def __bool__(self):
        return self.passed


def judge(exercise, inputs, raw, loop_problem=None):
    """The `CheckResult` of one exercise's raw outputs: its judge's verdicts, and the no-loop
    rule's for the exercises that have one (`loop_problem`: the rule's verdict on the student's
    source, None for no loop; the caller reads the source)."""
    record = EXERCISES[exercise]
    verdicts = record.judge(inputs, raw)
    if record.no_loops:
        verdicts.append(("no loops", loop_problem))
    failures = [f"{description}: {problem}" for description, problem in verdicts if problem]
    return CheckResult(exercise, failures, len(verdicts)), verdicts


def run_check(exercise, fn, seed=STUDENT_SEED, verbose=True):
    """Probe and judge `fn` in this process; print one line per case and a summary."""
    record = EXERCISES[exercise]
    inputs = record.inputs(seed)
    raw = record.probe(fn, inputs)
    result, verdicts = judge(exercise, inputs, raw,
                             _loop_problem(fn) if record.no_loops else None)
    if verbose:
        for description, problem in verdicts:
            print(("✗ " if problem else "✓ ") + description + (f" — {problem}" if problem else ""))
        print(f"{exercise}: {result.cases - len(result.failures)}/{result.cases} checks passed, "
              f"{result.points}/{record.points} points")
    return result


def _loop_problem(fn):
    """The no-loop rule's verdict (`loops.loop_verdict`) on `fn`'s source, with the line
    numbers of its cell (in Jupyter) or file; None where the source cannot be read."""
    try:
        lines, first_line = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None  # no source to read (e.g. defined in a compiled module): nothing to judge
    definition = tree.body[0] if tree.body else tree
    return loop_verdict(definition, [line.rstrip("\n") for line in lines], max(first_line, 1))


def _check_function(record):
    """The student's ``check_<name>`` function of one exercise."""
    def check(fn, seed=STUDENT_SEED, verbose=True):
        return run_check(record.name, fn, seed, verbose)

    check.__name__ = check.__qualname__ = record.check_name
    check.__doc__ = record.summary
    return check


#: Each exercise's check, keyed like `EXERCISES`; each is also this module's ``check_<name>``.
CHECKS = {name: _check_function(record) for name, record in EXERCISES.items()}
globals().update({check.__name__: check for check in CHECKS.values()})

__all__ = ["EXERCISES", "CHECKS", "CheckResult", "ExerciseFunctions", "STUDENT_SEED", "judge",
           "references", "run_check", *(check.__name__ for check in CHECKS.values())]
