"""Judging: compare a probe's raw outputs with reference values, case by case, with hints.

This half of a check never runs a student's code: each exercise's ``judge`` computes the expected
values with the library's own implementation and compares them, with the tools here, with the raw
outputs of its probe, which may come from the student's notebook (the ✓/✗ checks) or from the
grader's sandbox; it returns one (description, problem) pair per case, problem None when right.
The hints describe the usual mistakes in words, never the solution's code. Each exercise's
classic mistakes, from the course homework and the literature, are data (`Mistake`): its hint
and, where the mistake gives a wrong value, that value on a case's inputs; tests/test_checks.py
makes each mistake on purpose and checks that its hint names it.
"""

from typing import Callable, NamedTuple

import numpy as np
from keras import ops

from .probing import NO_GRADIENT, NO_RETURN, Failure


class Mistake(NamedTuple):
    """A classic mistake in one exercise: the hint that names it and, for a mistake that gives
    a wrong value, ``wrong(*case)``, that value on a case's inputs (the judge below says which
    inputs). A mistake with no `wrong` shows otherwise (an error, a count, a dtype); its
    exercise's judge gives the hint where it finds it."""

    hint: str
    wrong: Callable = None


#: The mistake every loss can make: a result computed outside keras.ops, which has the right
#: value but no gradient (found by `gradient_verdict`).
OUTSIDE_OPS = Mistake("use keras.ops functions only")
#: The mistake every function can make: no ``return`` (its probe's raw output is `NO_RETURN`,
#: which the judges report as it is).
FORGOT_RETURN = Mistake(str(NO_RETURN))
#: What a student whose loss gives the optimiser no gradient is told.
NO_GRADIENT_PROBLEM = ("no gradient flows back to the input: the result was computed outside "
                       "keras.ops (NumPy, .numpy(), np.asarray or float() cut the link), so the "
                       f"optimiser could not use it. Hint: {OUTSIDE_OPS.hint}")


def hints_for(mistakes, *case):
    """[(wrong value, hint)] of the `mistakes` that give a wrong value, on one case's inputs
    (a `wrong` that returns a list gives several values, ways of making the same mistake)."""
    pairs = []
    for mistake in mistakes.values():
        if mistake.wrong is not None:
            values = mistake.wrong(*case)
            pairs += [(value, mistake.hint)
                      for value in (values if isinstance(values, list) else [values])]
    return pairs


def compare(got, expected, hints=(), rtol=1e-4, atol=1e-6):
    """None if `got` matches `expected`; else a message with both values and a matching hint."""
    if isinstance(got, Failure):
        return str(got)
    if not isinstance(got, np.ndarray):
        return "returned no number or array"
    got = got.astype(np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return f"expected shape {expected.shape}, got {got.shape}" + _hint(got, hints)
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return None
    if expected.size == 1:
        message = f"expected {float(expected):.6g}, got {float(got):.6g}"
    else:
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), expected.shape)
        message = (f"expected {expected[worst]:.6g} at index {tuple(map(int, worst))}, "
                   f"got {got[worst]:.6g}")
    return message + _hint(got, hints)


def _hint(got, hints):
    """The first hint whose wrong answer matches `got`."""
    for wrong, hint in hints:
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-4, atol=1e-6):
            return f". Hint: {hint}"
    return ""


def gradient_verdict(got, expected, value_problem=None):
    """None if a probed gradient matches the reference's `expected`; else why not.

    A gradient is judged only once the value it belongs to is right (`value_problem` None),
    except that a gradient that does not flow at all is always reported.
    """
    if isinstance(got, Failure) and got == NO_GRADIENT:
        return NO_GRADIENT_PROBLEM
    if value_problem:
        return "not checked until the value is right"
    scale = float(np.max(np.abs(expected), initial=1.0))
    return compare(got, expected, rtol=1e-3, atol=1e-5 * scale)


def numpy_value(value):
    """A tensor or array as a float64 NumPy array."""
    return np.asarray(ops.convert_to_numpy(value), dtype=np.float64)


def flat(x):
    """A feature map (H, W, C) as (H*W, C): one row per position."""
    return x.reshape(-1, x.shape[-1]).astype(np.float64)


def gram(x):
    """The Gram matrix of a feature map (H, W, C), computed in NumPy."""
    return flat(x).T @ flat(x)


def squared_distance(base, output):
    """The sum of squared differences of two arrays, in float64."""
    return float(np.sum((output.astype(np.float64) - base) ** 2))


def area(x):
    """The number of positions H*W of a feature map (H, W, C)."""
    return x.shape[0] * x.shape[1]
