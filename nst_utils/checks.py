"""Immediate feedback on the notebook exercises: ✓ or ✗, expected against got, and a hint.

Each ``check_*`` function takes the student's function (or class), runs it on fixed random inputs
and on edge cases (`nst_utils.cases`, `nst_utils.probes`), compares its values and, for the
losses, its gradient with the library's reference implementation (`nst_utils.judging`), applies
the no-loop rule where the exercise has one (`nst_utils.rules.loop_verdict`), prints one line per
case and returns a `CheckResult`. A wrong, unfinished or crashing answer is reported, never
raised.

The instructor's grader (`nst_utils.grading`) uses the same cases, probes and judges, but draws
fresh inputs, probes in a sandbox and judges outside it.
"""

import ast
import inspect
import textwrap
from dataclasses import dataclass, field

from .cases import CASES
from .judging import NO_LOOPS, judge
from .probes import PROBES
from .rules import loop_verdict

#: Points per exercise, keyed by the name of the function or class the student writes.
POINTS = {"feature_reconstruction_loss": 1, "preprocess_image": 1, "deprocess_image": 1,
          "gram_matrix": 2, "style_reconstruction_loss": 2, "total_variation_loss": 2,
          "Evaluator": 2, "weighted_transfer_loss": 2}

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
        return POINTS[self.exercise] if self.passed else 0

    def __bool__(self):
        return self.passed


def result_of(exercise, verdicts):
    """The `CheckResult` of a list of (description, problem) verdicts from `judging.judge`."""
    failures = [f"{description}: {problem}" for description, problem in verdicts if problem]
    return CheckResult(exercise, failures, len(verdicts))


def run_check(exercise, fn, seed=STUDENT_SEED, verbose=True):
    """Probe and judge `fn` in this process; print one line per case and a summary."""
    inputs = CASES[exercise](seed)
    raw = PROBES[exercise](fn, inputs)
    verdicts = judge(exercise, inputs, raw, _loop_problem(fn) if exercise in NO_LOOPS else None)
    result = result_of(exercise, verdicts)
    if verbose:
        for description, problem in verdicts:
            print(("✗ " if problem else "✓ ") + description + (f" — {problem}" if problem else ""))
        print(f"{exercise}: {result.cases - len(result.failures)}/{result.cases} checks passed, "
              f"{result.points}/{POINTS[exercise]} points")
    return result


def _loop_problem(fn):
    """The no-loop rule's verdict (`rules.loop_verdict`) on `fn`'s source, with the line
    numbers of its cell (in Jupyter) or file; None where the source cannot be read."""
    try:
        lines, first_line = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None  # no source to read (e.g. defined in a compiled module): nothing to judge
    definition = tree.body[0] if tree.body else tree
    return loop_verdict(definition, [line.rstrip("\n") for line in lines], max(first_line, 1))


def check_feature_reconstruction_loss(fn, seed=STUDENT_SEED, verbose=True):
    """Check the content loss J_C = sum (output - base)^2 and its gradient."""
    return run_check("feature_reconstruction_loss", fn, seed, verbose)


def check_gram_matrix(fn, seed=STUDENT_SEED, verbose=True):
    """Check G[k, k'] = sum_ij x[i, j, k] x[i, j, k'] on square and non-square maps, its
    gradient, and no loops."""
    return run_check("gram_matrix", fn, seed, verbose)


def check_style_reconstruction_loss(fn, seed=STUDENT_SEED, verbose=True):
    """Check J_S = 1 / (4 (HW)^2) sum (G_base - G_output)^2, also for maps of different sizes,
    its gradient, and no loops."""
    return run_check("style_reconstruction_loss", fn, seed, verbose)


def check_total_variation_loss(fn, seed=STUDENT_SEED, verbose=True):
    """Check the homework's total variation on (1, H, W, C) images, its gradient, no loops."""
    return run_check("total_variation_loss", fn, seed, verbose)


def check_preprocess_image(fn, seed=STUDENT_SEED, verbose=True):
    """Check RGB -> BGR, minus the ImageNet mean, with a batch axis."""
    return run_check("preprocess_image", fn, seed, verbose)


def check_deprocess_image(fn, seed=STUDENT_SEED, verbose=True):
    """Check the inverse of preprocessing: add the mean, BGR -> RGB, clip, uint8."""
    return run_check("deprocess_image", fn, seed, verbose)


def check_evaluator(evaluator_class, seed=STUDENT_SEED, verbose=True):
    """Check an Evaluator: right loss and gradient, one evaluation per point, float64 for scipy."""
    return run_check("Evaluator", evaluator_class, seed, verbose)


def check_weighted_transfer_loss(fn, seed=STUDENT_SEED, verbose=True):
    """Check the three weighted terms and their gradients against the library on a small
    stand-in network."""
    return run_check("weighted_transfer_loss", fn, seed, verbose)


#: Each exercise's check.
CHECKS = {"feature_reconstruction_loss": check_feature_reconstruction_loss,
          "preprocess_image": check_preprocess_image, "deprocess_image": check_deprocess_image,
          "gram_matrix": check_gram_matrix,
          "style_reconstruction_loss": check_style_reconstruction_loss,
          "total_variation_loss": check_total_variation_loss, "Evaluator": check_evaluator,
          "weighted_transfer_loss": check_weighted_transfer_loss}
