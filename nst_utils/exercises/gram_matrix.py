"""Exercise 2a: the Gram matrix G[k, k'] = sum_ij x[i, j, k] x[i, j, k'] of a feature map."""

import numpy as np

from .. import losses
from .judging import (
    FORGOT_RETURN,
    OUTSIDE_OPS,
    Mistake,
    area,
    compare,
    flat,
    gradient_verdict,
    gram,
    hints_for,
)
from .probing import call, gradient, tensor
from .random_inputs import normal
from .record import Exercise

#: The feature-map shapes of the checks: square and not square.
SHAPES = ((10, 10, 3), (4, 5, 6))


def inputs(seed):
    maps = {f"x{index}": normal(seed + shape[1], shape)[0] for index, shape in enumerate(SHAPES)}
    channels = SHAPES[-1][-1]
    # The gradient check differentiates sum(G * weights) for the last map.
    return {**maps, "weights": normal(seed, (channels, channels))[0]}


def probe(fn, inputs):
    return {"x0": call(fn, tensor(inputs["x0"])), "x1": call(fn, tensor(inputs["x1"])),
            "gradient": gradient(fn, inputs["x1"], inputs["weights"])}


def _channels_first(x):
    """x's values read as (C, H*W) by a reshape that does not move the channel axis."""
    return x.reshape(x.shape[-1], -1).astype(np.float64)


#: wrong(x) on a case's feature map.
MISTAKES = {
    "divided_by_positions": Mistake("the Gram matrix is a plain sum over positions; do not "
                                    "divide by H*W here", lambda x: gram(x) / area(x)),
    "divided_by_size": Mistake("the Gram matrix is a plain sum over positions; do not divide "
                               "by the map's size H*W*C (or anything) here",
                               lambda x: gram(x) / x.size),
    "wrong_order": Mistake("you multiplied in the wrong order: the result must be C x C",
                           lambda x: flat(x) @ flat(x).T),
    "wrong_reshape": Mistake("reshaping (H, W, C) straight to (C, H*W) mixes channels; move "
                             "the channel axis first, or reshape to (H*W, C)",
                             lambda x: _channels_first(x) @ _channels_first(x).T),
    "centred": Mistake("the Gram matrix is not a covariance: do not subtract the channels' "
                       "means", lambda x: gram(x - x.mean(axis=(0, 1)))),
    "outside_ops": OUTSIDE_OPS,
    "forgot_return": FORGOT_RETURN,
}


def judge(inputs, raw):
    verdicts = []
    for key in ("x0", "x1"):
        x = inputs[key]
        height, width, channels = x.shape
        verdicts.append((f"random {height}x{width}x{channels} feature map",
                         compare(raw[key], gram(x), hints_for(MISTAKES, x))))
    expected_gradient = gradient(losses.gram_matrix, inputs["x1"].astype(np.float64),
                                 inputs["weights"].astype(np.float64))
    return verdicts + [("a gradient flows back to x, and is right",
                        gradient_verdict(raw["gradient"], expected_gradient, verdicts[-1][1]))]


EXERCISE = Exercise(
    name="gram_matrix", points=2,
    summary=("Check G[k, k'] = sum_ij x[i, j, k] x[i, j, k'] on square and non-square maps, its "
             "gradient, and no loops."),
    inputs=inputs, probe=probe, outputs=("x0", "x1", "gradient"), judge=judge,
    mistakes=MISTAKES, answer=("losses.gram_matrix", "losses.normalized_gram"), no_loops=True)
