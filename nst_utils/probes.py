"""Probing: run a student's function or class on given inputs and keep what it returns.

This is the half of a check that runs the student's code, so it is the only half that runs inside
the grader's sandbox. A probe returns raw outputs, one per case: a NumPy array, `True` (done), a
list of dictionary keys, or a `Failure` saying what the student's code raised (or `NO_GRADIENT`).
It judges nothing: `nst_utils.judging` compares the outputs with reference values, outside the
sandbox. Besides values, the losses' probes return a gradient with respect to their input,
computed by automatic differentiation (`gradient`), as the optimiser needs one.
"""

import re

import numpy as np
from keras import ops

from . import backend

#: Arguments of `weighted_transfer_loss` in its checks, for the stand-in network below.
WEIGHTED_ARGS = dict(content_layer="high", style_layers=["low", "high"], content_weight=2.0,
                     style_weights=(3.0, 5.0), tv_weight=0.25)


class Failure(str):
    """What went wrong in one case, in words (a raised exception, or no value to check)."""


def stand_in_extractor(batch):
    """A feature extractor with two "layers", cheap enough to check the total loss exactly."""
    return {"low": 0.5 * batch, "high": ops.square(batch[:, ::2, ::2, :]) * 0.1}


#: The raw output of `gradient` when no gradient flows from a function's result to its input.
NO_GRADIENT = Failure("no gradient")


def gradient(fn, wrt, weights=None):
    """The gradient of sum(fn(wrt) * weights) with respect to the array `wrt`, as an array.

    Computed by the backend's automatic differentiation (`nst_utils.backend.gradient`).
    `NO_GRADIENT` when the result does not depend on `wrt` through the backend's operations
    (NumPy, ``.numpy()`` or ``float()`` cut the link); a `Failure` when `fn` raises.
    """
    def weighted_sum(x):
        y = ops.convert_to_tensor(fn(x))
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
    # TensorFlow wraps its messages in the names of its graph functions and operations.
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\].*", "", text)
    first = (text.strip().splitlines() or [""])[0]
    return f"raised {type(error).__name__}: {first[:200]}"


def as_array(value, convert=True):
    """A returned value as a NumPy array of numbers, keeping its dtype if it is numeric.

    With `convert`, tensors of any Keras backend are converted first; without, only what
    `np.asarray` accepts (where the exercise asks for a NumPy array).
    """
    array = np.asarray(ops.convert_to_numpy(value) if convert else value)
    return array if array.dtype.kind in "biuf" else array.astype(np.float64)


def _call(fn, *args):
    return attempt(lambda: as_array(fn(*args)))


def _tensor(array):
    return ops.convert_to_tensor(array)


def feature_reconstruction_loss(fn, inputs):
    base, output = _tensor(inputs["base"]), _tensor(inputs["output"])
    return {"random": _call(fn, base, output), "identical": _call(fn, base, base),
            "gradient": gradient(lambda x: fn(base, x), inputs["output"])}


def gram_matrix(fn, inputs):
    return {"x0": _call(fn, _tensor(inputs["x0"])), "x1": _call(fn, _tensor(inputs["x1"])),
            "gradient": gradient(fn, inputs["x1"], inputs["weights"])}


def style_reconstruction_loss(fn, inputs):
    base, output, smaller = (_tensor(inputs[key]) for key in ("base", "output", "smaller"))
    return {"random": _call(fn, base, output), "sizes_differ": _call(fn, base, smaller),
            "identical": _call(fn, base, base),
            "gradient": gradient(lambda x: fn(base, x), inputs["output"])}


def total_variation_loss(fn, inputs):
    return {"random": _call(fn, _tensor(inputs["x"])), "flat": _call(fn, _tensor(inputs["flat"])),
            "gradient": gradient(fn, inputs["x"])}


def preprocess_image(fn, inputs):
    return {"random": _call(fn, inputs["image"].copy())}


def deprocess_image(fn, inputs):
    height, width = inputs["image"].shape[:2]
    return {"round_trip": attempt(lambda: as_array(fn(inputs["batch"].copy(), height, width),
                                                   convert=False)),
            "too_bright": attempt(lambda: as_array(fn(inputs["too_bright"].copy(), 2, 2),
                                                   convert=False))}


def evaluator(evaluator_class, inputs):
    """Build an Evaluator on a loss that counts its own runs, then evaluate it at three points."""
    start, other = inputs["start"], inputs["other"]
    target = ops.convert_to_tensor(inputs["target"], "float32")
    calls = backend.run_counter()

    def loss_fn(image):  # counts its own runs, also inside a compiled function
        image = calls.tick(image)
        return {"a": ops.sum(ops.square(image - target)), "b": 0.5 * ops.sum(ops.square(image))}

    state = {}

    def build():
        state["evaluator"] = evaluator_class(loss_fn, start.shape)
        return True

    def one_evaluation():
        before = int(calls)
        state["evaluator"].loss(other.ravel().astype(np.float64))
        state["evaluator"].grads(other.ravel().astype(np.float64))
        return np.asarray(int(calls) - before)

    def fresh_point():
        x = (other + 1).ravel().astype(np.float64)
        loss = as_array(state["evaluator"].loss(x))
        return loss, as_array(state["evaluator"].grads(x), convert=False)

    raw = {"build": attempt(build)}
    if "evaluator" not in state:
        missing = Failure("the Evaluator could not be built")
        return {**raw, "loss": missing, "grads": missing, "runs": missing,
                "fresh_loss": missing, "fresh_grads": missing}
    raw["loss"] = _call(state["evaluator"].loss, start.ravel().astype(np.float64))
    raw["grads"] = attempt(lambda: as_array(state["evaluator"].grads(
        start.ravel().astype(np.float64)), convert=False))
    raw["runs"] = attempt(one_evaluation)
    fresh = attempt(fresh_point)
    raw["fresh_loss"], raw["fresh_grads"] = (fresh, fresh) if isinstance(fresh, Failure) else fresh
    return raw


#: The terms of the total loss, each also probed for its gradient (raw key "<term>_gradient").
TERMS = ("content", "style", "tv")


def weighted_transfer_loss(fn, inputs):
    """Build the student's loss on the stand-in network and evaluate it, and each term's
    gradient with respect to the image, at one image."""
    content, style, image = inputs["content"], inputs["style"], inputs["image"]
    loss = attempt(lambda: fn(stand_in_extractor, content, style, **WEIGHTED_ARGS))
    terms = loss if isinstance(loss, Failure) else attempt(lambda: loss(_tensor(image)))
    missing = Failure("no value to check")
    if isinstance(terms, Failure):
        return {"keys": terms, **{key: missing for key in OUTPUT_KEYS["weighted_transfer_loss"]
                                  if key != "keys"}}
    if not isinstance(terms, dict):
        terms = {}
    raw = {"keys": [str(key)[:40] for key in list(terms)[:10]]}
    for term in TERMS:
        present = term in terms
        raw[term] = attempt(lambda term=term: as_array(terms[term])) if present else missing
        raw[f"{term}_gradient"] = (gradient(lambda x, term=term: loss(x)[term], image) if present
                                   else missing)
    return raw


#: Each exercise's probe, keyed by the name of the function or class students write.
PROBES = {"feature_reconstruction_loss": feature_reconstruction_loss,
          "preprocess_image": preprocess_image, "deprocess_image": deprocess_image,
          "gram_matrix": gram_matrix, "style_reconstruction_loss": style_reconstruction_loss,
          "total_variation_loss": total_variation_loss, "Evaluator": evaluator,
          "weighted_transfer_loss": weighted_transfer_loss}

#: The keys of each probe's raw outputs: a reply with other keys is malformed.
OUTPUT_KEYS = {"feature_reconstruction_loss": {"random", "identical", "gradient"},
               "preprocess_image": {"random"}, "deprocess_image": {"round_trip", "too_bright"},
               "gram_matrix": {"x0", "x1", "gradient"},
               "style_reconstruction_loss": {"random", "sizes_differ", "identical", "gradient"},
               "total_variation_loss": {"random", "flat", "gradient"},
               "Evaluator": {"build", "loss", "grads", "runs", "fresh_loss", "fresh_grads"},
               "weighted_transfer_loss": {"keys", *TERMS, *(f"{term}_gradient" for term in TERMS)}}
