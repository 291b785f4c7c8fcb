"""Exercise 1a, first half: an RGB image as VGG's input, resized to `dims` when given, BGR minus
the ImageNet mean, batched."""

import numpy as np

from .. import images
from .judging import FORGOT_RETURN, Mistake, compare, hints_for
from .probing import call
from .random_inputs import rgb_image
from .record import Exercise

#: The (height, width) the checks resize to: the 6x9 image's aspect ratio, and not square, so
#: that (width, height) gives another shape.
DIMS = (4, 6)


def inputs(seed):
    image = rgb_image(seed)
    # One colour everywhere: every way of resizing (nearest, bilinear, PIL's, Keras's) gives
    # the same pixels, so the resize is judged by its shape and its values exactly.
    uniform = np.broadcast_to(image[0, 0], image.shape).copy()
    return {"image": image, "uniform": uniform}


def probe(fn, inputs):
    return {"random": call(fn, inputs["image"].copy()),
            "resized": call(fn, inputs["uniform"].copy(), DIMS)}


#: wrong(image) on a case's RGB image (H, W, 3), after any resize; `ignored_dims` and
#: `dims_swapped` are found by the judge (the shape of the result).
MISTAKES = {
    "rgb": Mistake("VGG expects BGR: reverse the channel axis before subtracting the mean",
                   lambda image: image[None] - images.VGG_MEAN_BGR),
    "no_mean": Mistake("subtract the ImageNet mean (in BGR order)",
                       lambda image: image[None, :, :, ::-1]),
    "no_batch_axis": Mistake("add a batch axis: the result must have shape (1, H, W, 3)",
                             lambda image: images.preprocess_image(image)[0]),
    "mean_in_rgb_order": Mistake("the mean is in BGR order: reverse the channels first, then "
                                 "subtract it",
                                 lambda image: (image - images.VGG_MEAN_BGR)[None, :, :, ::-1]),
    "scaled": Mistake("VGG's weights expect values in 0-255: do not divide by 255",
                      lambda image: images.preprocess_image(image / 255.0)),
    "ignored_dims": Mistake("resize the image to dims = (height, width) when dims is given: "
                            "the result must have shape (1, height, width, 3)"),
    "dims_swapped": Mistake("dims is (height, width), but PIL's Image.resize and cv2.resize "
                            "take (width, height): swap them"),
    "forgot_return": FORGOT_RETURN,
}


def judge(inputs, raw):
    image, uniform = inputs["image"], inputs["uniform"]
    resized = np.broadcast_to(uniform[0, 0], DIMS + (3,))
    wrong_sizes = [(images.preprocess_image(uniform), MISTAKES["ignored_dims"].hint),
                   (images.preprocess_image(resized.transpose(1, 0, 2)),
                    MISTAKES["dims_swapped"].hint)]
    return [("a random 6x9 RGB image",
             compare(raw["random"], images.preprocess_image(image), hints_for(MISTAKES, image))),
            (f"a 6x9 image of one colour resized to dims={DIMS}",
             compare(raw["resized"], images.preprocess_image(uniform, DIMS),
                     wrong_sizes + hints_for(MISTAKES, resized), atol=1e-3))]


EXERCISE = Exercise(
    name="preprocess_image", points=1,
    summary=("Check the resize to dims, RGB -> BGR, minus the ImageNet mean, with a batch "
             "axis."),
    inputs=inputs, probe=probe, outputs=("random", "resized"), judge=judge, mistakes=MISTAKES,
    answer=("images.preprocess_image",))
