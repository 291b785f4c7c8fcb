"""Exercise 1a, second half: VGG's input back to an image, the mean added, RGB, uint8."""

import numpy as np

from .. import images
from .judging import FORGOT_RETURN, Mistake, compare, hints_for
from .probing import Failure, as_array, attempt
from .random_inputs import rgb_image
from .record import Exercise


def inputs(seed):
    image = rgb_image(seed)
    return {"image": image, "batch": images.preprocess_image(image),
            "too_bright": np.full((1, 2, 2, 3), 500.0, np.float32)}


def probe(fn, inputs):
    height, width = inputs["image"].shape[:2]
    return {"round_trip": attempt(lambda: as_array(fn(inputs["batch"].copy(), height, width),
                                                   convert=False)),
            "too_bright": attempt(lambda: as_array(fn(inputs["too_bright"].copy(), 2, 2),
                                                   convert=False))}


#: wrong(image) on the RGB image (H, W, 3) a case's batch was preprocessed from; `no_clip` and
#: `not_uint8` are found by the judge (a dtype, a wrapped-around value).
MISTAKES = {
    "bgr": Mistake("reverse the channels back to RGB", lambda image: image[:, :, ::-1]),
    "no_mean": Mistake("add the ImageNet mean back (in BGR order) before reversing the channels",
                       lambda image: [np.clip(f(image - images.VGG_MEAN_BGR[::-1]), 0, 255)
                                      for f in (np.floor, np.round)]),
    "no_clip": Mistake("clip to 0-255 before converting to uint8, which would otherwise wrap "
                       "around"),
    "not_uint8": Mistake("convert to uint8, the type of an image's pixels, after clipping"),
    "forgot_return": FORGOT_RETURN,
}


def judge(inputs, raw):
    image = inputs["image"]

    def round_trip(got):
        if isinstance(got, np.ndarray) and got.dtype != np.uint8:
            return f"expected dtype uint8, got {got.dtype}. Hint: {MISTAKES['not_uint8'].hint}"
        return compare(got, image, hints_for(MISTAKES, image))

    def clipping(got):
        problem = compare(got, np.full((2, 2, 3), 255.0))
        if problem and not isinstance(got, Failure):
            problem += f". Hint: {MISTAKES['no_clip'].hint}"
        return problem

    return [("undoes preprocessing of a random 6x9 image", round_trip(raw["round_trip"])),
            ("out-of-range values are clipped to 0-255", clipping(raw["too_bright"]))]


EXERCISE = Exercise(
    name="deprocess_image", points=1,
    summary="Check the inverse of preprocessing: add the mean, BGR -> RGB, clip, uint8.",
    inputs=inputs, probe=probe, outputs=("round_trip", "too_bright"), judge=judge,
    mistakes=MISTAKES, answer=("images.deprocess_image", "images.to_uint8"))
