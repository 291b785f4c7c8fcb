"""Exercise 1b: the content loss J_C = sum (output - base)^2 over a layer's feature maps."""

import numpy as np
from keras import ops

from .. import losses
from .judging import (
    FORGOT_RETURN,
    OUTSIDE_OPS,
    Mistake,
    compare,
    gradient_verdict,
    hints_for,
    squared_distance,
)
from .probing import call, gradient, tensor
from .random_inputs import normal
from .record import Exercise


def inputs(seed):
    base, output = normal(seed, (10, 10, 3), (10, 10, 3))
    return {"base": base, "output": output}


def probe(fn, inputs):
    base, output = tensor(inputs["base"]), tensor(inputs["output"])
    return {"random": call(fn, base, output), "identical": call(fn, base, base),
            "gradient": gradient(lambda x: fn(base, x), inputs["output"])}


#: wrong(base, output) on a case's feature maps.
MISTAKES = {
    "mean": Mistake("take the sum over all elements, not the mean",
                    lambda b, o: squared_distance(b, o) / b.size),
    "half": Mistake("the course's content loss has no factor 1/2",
                    lambda b, o: squared_distance(b, o) / 2),
    "square_root": Mistake("square the differences and sum them; do not take a square root",
                           lambda b, o: np.sqrt(squared_distance(b, o))),
    "absolute": Mistake("square the differences instead of taking their absolute value",
                        lambda b, o: np.sum(np.abs(o.astype(np.float64) - b))),
    "not_squared": Mistake("square each difference before summing: unsquared, the positive and "
                           "negative differences cancel out",
                           lambda b, o: [np.sum(o.astype(np.float64) - b),
                                         np.sum(b.astype(np.float64) - o)]),
    "outside_ops": OUTSIDE_OPS,
    "forgot_return": FORGOT_RETURN,
}


def judge(inputs, raw):
    base, output = inputs["base"], inputs["output"]
    random = compare(raw["random"], squared_distance(base, output),
                     hints_for(MISTAKES, base, output))
    expected_gradient = gradient(
        lambda x: losses.feature_reconstruction_loss(ops.convert_to_tensor(base, "float64"), x),
        output.astype(np.float64))
    return [("random 10x10x3 feature maps", random),
            ("identical maps give 0", compare(raw["identical"], 0.0)),
            ("a gradient flows back to output, and is right",
             gradient_verdict(raw["gradient"], expected_gradient, random))]


EXERCISE = Exercise(
    name="feature_reconstruction_loss", points=1,
    summary="Check the content loss J_C = sum (output - base)^2 and its gradient.",
    inputs=inputs, probe=probe, outputs=("random", "identical", "gradient"), judge=judge,
    mistakes=MISTAKES, answer=("losses.feature_reconstruction_loss",))
