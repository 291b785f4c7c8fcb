"""Exercise 3b: the Evaluator, one evaluation of the loss and its gradient serving both of
scipy's L-BFGS calls, ``loss(x)`` and ``grads(x)``."""

import numpy as np
from keras import ops

from .. import backend
from .judging import FORGOT_RETURN, Mistake, compare
from .probing import Failure, as_array, attempt, call
from .random_inputs import normal
from .record import Exercise


def inputs(seed):
    shape = (1, 3, 4, 3)
    target, start, other = normal(seed, shape, shape, shape)
    return {"target": target, "start": start, "other": other}


def probe(evaluator_class, inputs):
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
    raw["loss"] = call(state["evaluator"].loss, start.ravel().astype(np.float64))
    raw["grads"] = attempt(lambda: as_array(state["evaluator"].grads(
        start.ravel().astype(np.float64)), convert=False))
    raw["runs"] = attempt(one_evaluation)
    fresh = attempt(fresh_point)
    raw["fresh_loss"], raw["fresh_grads"] = (fresh, fresh) if isinstance(fresh, Failure) else fresh
    return raw


#: wrong(target, x) for the Evaluator's loss {"a": sum((x - target)^2), "b": 0.5 sum(x^2)} at
#: a point x; the others are found by the judge.
MISTAKES = {
    "one_term": Mistake("add up all the loss terms in the dict",
                        lambda target, x: np.sum((x - target) ** 2)),
    "gradient_of_one_term": Mistake("take the gradient of the total loss, the sum of all the "
                                    "terms, not of one of them",
                                    lambda target, x: [(2 * (x - target)).ravel(), x.ravel()]),
    "evaluates_twice": Mistake("compute loss and gradient together in loss(x) and keep the "
                               "gradient for grads(x)"),
    "never_recomputes": Mistake("the Evaluator kept the values of an earlier point; a new x "
                                "needs a new evaluation, so compare x with the point the kept "
                                "values belong to"),
    "stale_values": Mistake("evaluate again whenever x is not the point it kept"),
    "float32": Mistake("convert the gradient to float64, which scipy's L-BFGS needs"),
    "not_flat": Mistake("flatten the gradient to a vector, as scipy's L-BFGS works on vectors"),
    "forgot_return": FORGOT_RETURN,
}


def judge(inputs, raw):
    target, start, other = inputs["target"], inputs["start"], inputs["other"]
    expected_loss = lambda x: float(np.sum((x - target) ** 2) + 0.5 * np.sum(x**2))  # noqa: E731
    expected_grads = lambda x: (2 * (x - target) + x).ravel()  # noqa: E731
    hint = {name: mistake.hint for name, mistake in MISTAKES.items()}

    def gradient_of_start(got):
        if isinstance(got, np.ndarray) and got.dtype != np.float64:
            return f"scipy needs float64 gradients, got {got.dtype}. Hint: {hint['float32']}"
        if isinstance(got, np.ndarray) and got.ndim != 1:
            return f"return a flat vector, got shape {got.shape}. Hint: {hint['not_flat']}"
        return compare(got, expected_grads(start),
                       [(value, hint["gradient_of_one_term"]) for value in
                        MISTAKES["gradient_of_one_term"].wrong(target, start)],
                       rtol=1e-3)

    def one_evaluation(runs):
        if isinstance(runs, Failure):
            return str(runs)
        if isinstance(runs, np.ndarray) and runs.shape == () and runs == 0:
            return ("loss(x) then grads(x) at a new point did not run the loss at all. Hint: "
                    + hint["never_recomputes"])
        if not isinstance(runs, np.ndarray) or runs.shape != () or runs != 1:
            return (f"loss(x) then grads(x) ran the loss {_count(runs)} times, expected once. "
                    f"Hint: {hint['evaluates_twice']}")
        return None

    earlier = f"of an earlier point: {hint['stale_values']}"
    fresh = (compare(raw["fresh_grads"], expected_grads(other + 1),
                     [(expected_grads(point), f"grads(x) returned the gradient {earlier}")
                      for point in (start, other)], rtol=1e-3)
             or compare(raw["fresh_loss"], expected_loss(other + 1),
                        [(expected_loss(point), f"loss(x) returned the loss {earlier}")
                         for point in (start, other)]))
    built = raw["build"]
    return [("Evaluator(loss_fn, shape) can be built",
             str(built) if isinstance(built, Failure) else None),
            ("loss(x) is the sum of the loss terms", compare(
                raw["loss"], expected_loss(start),
                [(MISTAKES["one_term"].wrong(target, start), hint["one_term"])])),
            ("grads(x) is the float64 gradient, flattened", gradient_of_start(raw["grads"])),
            ("one evaluation serves loss(x) and grads(x)", one_evaluation(raw["runs"])),
            ("a new point gives a new loss and gradient", fresh)]


def _count(runs):
    return int(runs.reshape(-1)[0]) if isinstance(runs, np.ndarray) and runs.size == 1 else "?"


EXERCISE = Exercise(
    name="Evaluator", points=2,
    summary=("Check an Evaluator: right loss and gradient, one evaluation per point, float64 for "
             "scipy."),
    inputs=inputs, probe=probe,
    outputs=("build", "loss", "grads", "runs", "fresh_loss", "fresh_grads"), judge=judge,
    mistakes=MISTAKES, answer=("optimize.Evaluator",))
