"""Exercise 2b: the style loss J_S = 1/4 sum (G_base / (HW)_base - G_output / (HW)_output)^2."""

import numpy as np
from keras import ops

from .. import losses
from .judging import (
    FORGOT_RETURN,
    OUTSIDE_OPS,
    Mistake,
    area,
    compare,
    gradient_verdict,
    gram,
    hints_for,
    numpy_value,
    squared_distance,
)
from .probing import call, gradient, tensor
from .random_inputs import normal
from .record import Exercise

#: The channels of the checks' feature maps: not 3, so that dividing by the maps' own C^2 (the
#: paper's normalisation) and by 3^2 (Keras's example, which hard-codes an RGB image's channels)
#: give different values; not 1 or 2, where one of them would equal the right value (see
#: tests/test_checks.py, which checks that every mistake gives its own value on these shapes).
CHANNELS = 4


def inputs(seed):
    base, output, smaller = normal(seed, (10, 10, CHANNELS), (10, 10, CHANNELS),
                                   (6, 8, CHANNELS))
    return {"base": base, "output": output, "smaller": smaller}


def probe(fn, inputs):
    base, output, smaller = (tensor(inputs[key]) for key in ("base", "output", "smaller"))
    return {"random": call(fn, base, output), "sizes_differ": call(fn, base, smaller),
            "identical": call(fn, base, base),
            "gradient": gradient(lambda x: fn(base, x), inputs["output"])}


def _style_loss(base, output):
    return float(numpy_value(losses.style_reconstruction_loss(base.astype(np.float64),
                                                              output.astype(np.float64))))


def _plain_style(base, output):
    """The sum of squared differences of the two maps' Gram matrices, not normalised."""
    return np.sum((gram(base) - gram(output)) ** 2)


_COURSE = ("the course's loss, as the homework's part C, is 1/(4 (H*W)^2) times the sum: no "
           "channel count")
#: wrong(base, output) on a case's style and generated feature maps (of different sizes in one
#: case). On the checks' shapes (C = 4 channels, H*W = 100 and 48 positions) each gives its own
#: value: with C = 3 `paper` and `channels_3` would coincide, with C = 2 `paper_no_quarter`
#: would be right, and with H*W = 4 `divided_once` would equal `no_quarter`.
MISTAKES = {
    "unnormalised": Mistake("normalise the Gram matrices, each by its own map's H*W (for maps "
                            "of equal size: divide the sum by (H*W) squared); without it the "
                            "loss is (H*W)^2 times too large",
                            lambda b, o: [_plain_style(b, o) / 4, _plain_style(b, o)]),
    "no_quarter": Mistake("you left out the factor 1/4", lambda b, o: _style_loss(b, o) * 4),
    "divided_once": Mistake("divide by (H*W) squared, not by H*W",
                            lambda b, o: _plain_style(b, o) / (4 * area(b))),
    "style_size_only": Mistake("normalise each Gram matrix by its own map's H*W before "
                               "subtracting: the two maps differ in size",
                               lambda b, o: _plain_style(b, o) / (4 * area(b) ** 2)),
    "paper": Mistake("you divided by C^2 too: the paper's 1/(4 N^2 M^2), N = C channels (or a "
                     f"mean over the C*C Gram entries); {_COURSE}",
                     lambda b, o: _style_loss(b, o) / b.shape[-1] ** 2),
    "channels_3": Mistake("you divided by 3^2 = 9, an RGB image's channels (Keras's example "
                          "hard-codes channels = 3); these maps have C channels, and "
                          f"{_COURSE}",
                          lambda b, o: _style_loss(b, o) / 9),
    "paper_no_quarter": Mistake("you divided by C^2 (the paper's N^2, or a mean over the C*C "
                                f"Gram entries) and left out the 1/4: {_COURSE}",
                                lambda b, o: _style_loss(b, o) * 4 / b.shape[-1] ** 2),
    "mean_unnormalised": Mistake("a mean over the C*C entries is not the normalisation: sum "
                                 "the squared differences and divide each Gram matrix by its "
                                 "own map's H*W",
                                 lambda b, o: _plain_style(b, o) / (4 * b.shape[-1] ** 2)),
    "feature_maps": Mistake("compare the two maps' Gram matrices, not the maps themselves: "
                            "the style loss must not depend on where features are",
                            lambda b, o: (squared_distance(b, o) / (4 * area(b) ** 2)
                                          if b.shape == o.shape else np.nan)),
    "forgot_return": FORGOT_RETURN,
    "outside_ops": OUTSIDE_OPS,
}


def judge(inputs, raw):
    base, output, smaller = inputs["base"], inputs["output"], inputs["smaller"]
    verdicts = []
    for description, key, b, o in [(f"random {_shape(base)} maps", "random", base, output),
                                   (f"style map {_shape(base)}, output {_shape(smaller)} (sizes "
                                    "differ)", "sizes_differ", base, smaller)]:
        verdicts.append((description, compare(raw[key], _style_loss(b, o),
                                              hints_for(MISTAKES, b, o), rtol=1e-3)))
    verdicts.append(("identical maps give 0", compare(raw["identical"], 0.0, atol=1e-4)))
    expected_gradient = gradient(
        lambda x: losses.style_reconstruction_loss(ops.convert_to_tensor(base, "float64"), x),
        output.astype(np.float64))
    return verdicts + [("a gradient flows back to output, and is right",
                        gradient_verdict(raw["gradient"], expected_gradient, verdicts[0][1]))]


def _shape(x):
    return "x".join(map(str, x.shape))


EXERCISE = Exercise(
    name="style_reconstruction_loss", points=2,
    summary=("Check J_S = 1 / (4 (HW)^2) sum (G_base - G_output)^2, also for maps of different "
             "sizes, its gradient, and no loops."),
    inputs=inputs, probe=probe, outputs=("random", "sizes_differ", "identical", "gradient"),
    judge=judge, mistakes=MISTAKES,
    answer=("losses.style_reconstruction_loss", "losses.style_loss_to_target",
            "losses.normalized_gram"),
    no_loops=True)
