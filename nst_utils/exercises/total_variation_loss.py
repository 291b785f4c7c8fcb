"""Exercise 3a: the homework's total variation, the squared differences to the pixel below and
to the pixel on the right, summed over an image (1, H, W, C)."""

import numpy as np

from .. import losses
from .judging import (
    FORGOT_RETURN,
    OUTSIDE_OPS,
    Mistake,
    compare,
    gradient_verdict,
    hints_for,
    numpy_value,
)
from .probing import call, gradient, tensor
from .random_inputs import normal
from .record import Exercise


def inputs(seed):
    (x,) = normal(seed, (1, 10, 12, 3))
    return {"x": x, "flat": np.full((1, 5, 5, 3), 7.0, np.float32)}


def probe(fn, inputs):
    return {"random": call(fn, tensor(inputs["x"])), "flat": call(fn, tensor(inputs["flat"])),
            "gradient": gradient(fn, inputs["x"])}


def _differences(x):
    """(down, right) over the (H-1) x (W-1) top-left block, and over the whole image."""
    x = x.astype(np.float64)
    corner = x[:, :-1, :-1]
    return ((x[:, 1:, :-1] - corner, x[:, :-1, 1:] - corner),
            (x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]))


def _tv(x):
    (down, right), _ = _differences(x)
    return np.sum(down**2) + np.sum(right**2)


_L1 = ("square the differences instead of taking their absolute values: this total variation "
       "is the squared (L2) one, not the L1 one")
#: wrong(x) on a case's image batch (1, H, W, C).
MISTAKES = {
    "whole_image": Mistake("take both differences over the same (H-1) x (W-1) top-left block, "
                           "as the formula's sums run to H-1 and W-1",
                           lambda x: sum(np.sum(d**2) for d in _differences(x)[1])),
    "mean": Mistake("sum, do not average",
                    lambda x: _tv(x) / (x.shape[1] - 1) / (x.shape[2] - 1) / x.shape[3]),
    "absolute": Mistake(_L1, lambda x: [sum(np.sum(np.abs(d)) for d in pair)
                                        for pair in _differences(x)]),
    "one_direction": Mistake("you took the differences in one direction only: add the squared "
                             "differences to the pixel below and to the pixel on the right",
                             lambda x: [np.sum(d**2) for pair in _differences(x) for d in pair]),
    "square_root": Mistake("add the squared differences; do not take the square root of their "
                           "sum at each pixel (that is another total variation)",
                           lambda x: np.sum(np.sqrt(sum(d**2 for d in _differences(x)[0])))),
    "channel_axis": Mistake("x has shape (1, H, W, C): take the differences along axes 1 and 2 "
                            "(down and right), not along the channel axis",
                            lambda x: _tv(np.moveaxis(x, 1, 3))),
    "outside_ops": OUTSIDE_OPS,
    "forgot_return": FORGOT_RETURN,
}


def judge(inputs, raw):
    x64 = inputs["x"].astype(np.float64)
    expected = float(numpy_value(losses.total_variation_loss(x64)))
    random = compare(raw["random"], expected, hints_for(MISTAKES, x64))
    return [("random 1x10x12x3 image", random),
            ("a flat image gives 0", compare(raw["flat"], 0.0)),
            ("a gradient flows back to x, and is right",
             gradient_verdict(raw["gradient"], gradient(losses.total_variation_loss, x64),
                              random))]


EXERCISE = Exercise(
    name="total_variation_loss", points=2,
    summary="Check the homework's total variation on (1, H, W, C) images, its gradient, no loops.",
    inputs=inputs, probe=probe, outputs=("random", "flat", "gradient"), judge=judge,
    mistakes=MISTAKES, answer=("losses.total_variation_loss",), no_loops=True)
