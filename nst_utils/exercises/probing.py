"""Probing: run a student's function or class on given inputs and keep what it returns.

Each exercise's ``probe`` (in its own module) is the half of a check that runs the student's code,
so it is the only half that runs inside the grader's sandbox; this module holds the tools they
share. A probe returns raw outputs, one per case: a NumPy array, `True` (done), a list of
dictionary keys, or a `Failure` saying what the student's code raised (or `NO_GRADIENT`). It
judges nothing: each exercise's ``judge`` compares the outputs with reference values, outside the
sandbox. Besides values, the losses' probes return a gradient with respect to their input,
computed by automatic differentiation (`gradient`), as the optimiser needs one.
"""

import re

import numpy as np
from keras import ops

from .. import backend


class Failure(str):
    """What went wrong in one case, in words (a raised exception, or no value to check)."""


def stand_in_extractor(batch):
    """A feature extractor with two "layers", cheap enough to check the total loss exactly."""
    return {"low": 0.5 * batch, "high": ops.square(batch[:, ::2, ::2, :]) * 0.1}


#: The raw output of `gradient` when no gradient flows from a function's result to its input.
NO_GRADIENT = Failure("no gradient")
#: The raw output of a case whose function returned None, the mark of a forgotten ``return``
#: (NumPy would turn None into nan, and the student would be told "got nan").
NO_RETURN = Failure("your function returned None: did you forget `return`?")


class ReturnedNone(Exception):
    """Raised by the probing tools where a student's function returned None; `attempt` turns it
    into `NO_RETURN`."""


def returned(value):
    """`value`, a student's function's result; `ReturnedNone` if it is None."""
    if value is None:
        raise ReturnedNone()
    return value


def gradient(fn, wrt, weights=None):
    """The gradient of sum(fn(wrt) * weights) with respect to the array `wrt`, as an array.

    Computed by the backend's automatic differentiation (`nst_utils.backend.gradient`).
    `NO_GRADIENT` when the result does not depend on `wrt` through the backend's operations
    (NumPy, ``.numpy()`` or ``float()`` cut the link); a `Failure` when `fn` raises.
    """
    def weighted_sum(x):
        y = ops.convert_to_tensor(returned(fn(x)))
        return ops.sum(y if weights is None else y * ops.cast(weights, y.dtype))

    def run():
        grad = backend.gradient(weighted_sum, wrt)
        return NO_GRADIENT if grad is None else as_array(grad)

    return attempt(run)


#: The words of every `Failure` for arrays whose shapes do not fit together.
MISMATCH = "whose shapes do not match"

#: How TensorFlow, JAX, PyTorch and NumPy word a shape mismatch, each giving the two shapes.
_MISMATCHES = [re.compile(pattern) for pattern in (
    r"Incompatible shapes: \[([\d,]*)\] vs\. \[([\d,]*)\]",
    r"Matrix size-incompatible: In\[0\]: \[([\d,]*)\], In\[1\]: \[([\d,]*)\]",
    r"[Ii]ncompatible shapes for broadcasting: (?:shapes=\[)?\(([\d, ]*),?\), \(([\d, ]*),?\)",
    r"(?:shapes|got) \(([\d, ]*),?\),? (?:and )?\(([\d, ]*),?\)",
    r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)",
)]

#: How TensorFlow and PyTorch word two dtypes that do not mix, and their NumPy names.
_DTYPES = re.compile(r"expected to be an? (\w+) tensor but is an? (\w+) tensor"
                     r"|expected scalar type (\w+) but found (\w+)")
_DTYPE_NAMES = {"double": "float64", "float": "float32", "half": "float16", "long": "int64",
                "int": "int32"}


def attempt(run):
    """`run()`, or a `Failure` describing the exception it raised (a student's bug), in words
    a student can act on: never a framework's internal names."""
    try:
        return run()
    except ReturnedNone:
        return NO_RETURN
    except NotImplementedError:
        return Failure("not implemented yet (it raises NotImplementedError)")
    except Exception as error:  # a student's bug is reported, never raised
        return Failure(_described(error))


def _described(error):
    text = str(error)
    for pattern in _MISMATCHES:
        found = pattern.search(text)
        if found:
            first, second = ("(" + ", ".join(re.findall(r"\d+", shape)) + ")"
                             for shape in found.groups())
            return f"failed: it combined arrays {MISMATCH}, {first} and {second}"
    found = _DTYPES.search(text)
    if found:
        first, second = (_DTYPE_NAMES.get(name.lower(), name.lower())
                         for name in found.groups() if name)
        return (f"failed: it combined {first} and {second} values, which this backend does not "
                "mix; convert one of them with ops.cast")
    # TensorFlow wraps its messages in the names of its graph functions and operations, and
    # puts a compiled function's stack before its error ("in user code: ... TypeError: ...").
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\].*", "", text)
    name = type(error).__name__
    inner = _USER_CODE_ERROR.findall(text) if text.startswith("in user code:") else []
    if inner:
        name, text = inner[-1]
    first = (text.strip().splitlines() or [""])[0][:200]
    if _NONE.search(text):
        return f"raised {name}: {first.rstrip('.')}. Hint: {NONE_VALUE}"
    return f"raised {name}: {first}"


#: The error inside TensorFlow's report of a compiled function: "    TypeError: message".
_USER_CODE_ERROR = re.compile(r"^\s*(\w+(?:Error|Exception)): (.*)$", re.MULTILINE)
#: How the backends word a None where a tensor was needed (a forgotten `return`, mostly).
_NONE = re.compile(r"received None|NoneType|[Oo]utput was None|value \(None\)")
#: What a student whose code passed None on, where a value was needed, is told.
NONE_VALUE = "a function returned None where a value was needed: did you forget `return`?"


def as_array(value, convert=True):
    """A returned value as a NumPy array of numbers, keeping its dtype if it is numeric.

    With `convert`, tensors of any Keras backend are converted first; without, only what
    `np.asarray` accepts (where the exercise asks for a NumPy array).
    """
    value = returned(value)
    array = np.asarray(ops.convert_to_numpy(value) if convert else value)
    return array if array.dtype.kind in "biuf" else array.astype(np.float64)


def call(fn, *args):
    """`fn(*args)` as an array, or the `Failure` it raised."""
    return attempt(lambda: as_array(fn(*args)))


def tensor(array):
    """A NumPy input as the backend's tensor."""
    return ops.convert_to_tensor(array)
