"""Exercise 1a, first half: an RGB image as VGG's input, BGR minus the ImageNet mean, batched."""

from .. import images
from .judging import Mistake, compare, hints_for
from .probing import call
from .random_inputs import rgb_image
from .record import Exercise


def inputs(seed):
    return {"image": rgb_image(seed)}


def probe(fn, inputs):
    return {"random": call(fn, inputs["image"].copy())}


#: wrong(image) on a case's RGB image (H, W, 3).
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
}


def judge(inputs, raw):
    image = inputs["image"]
    return [("a random 6x9 RGB image",
             compare(raw["random"], images.preprocess_image(image), hints_for(MISTAKES, image)))]


EXERCISE = Exercise(
    name="preprocess_image", points=1,
    summary="Check RGB -> BGR, minus the ImageNet mean, with a batch axis.",
    inputs=inputs, probe=probe, outputs=("random",), judge=judge, mistakes=MISTAKES,
    answer=("images.preprocess_image",))
