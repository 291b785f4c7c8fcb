"""The inputs of each exercise's checks, drawn from a seed.

The students' checks use fixed seeds (so the notebooks print the same thing on every run); the
grader draws a fresh seed from `secrets` for every submission, on its own side, and sends the
inputs to the sandbox, so no submission can know them in advance. Every value is a NumPy array.
"""

import numpy as np

from . import images


def _normal(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(np.float32) for shape in shapes]


def _rgb_image(seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(6, 9, 3)).astype(np.float32)


def feature_reconstruction_loss(seed):
    base, output = _normal(seed, (10, 10, 3), (10, 10, 3))
    return {"base": base, "output": output}


#: The feature-map shapes of the Gram-matrix checks: square and not square.
GRAM_SHAPES = ((10, 10, 3), (4, 5, 6))


def gram_matrix(seed):
    maps = {f"x{index}": _normal(seed + shape[1], shape)[0]
            for index, shape in enumerate(GRAM_SHAPES)}
    channels = GRAM_SHAPES[-1][-1]
    # The gradient check differentiates sum(G * weights) for the last map.
    return {**maps, "weights": _normal(seed, (channels, channels))[0]}


def style_reconstruction_loss(seed):
    base, output, smaller = _normal(seed, (10, 10, 3), (10, 10, 3), (6, 8, 3))
    return {"base": base, "output": output, "smaller": smaller}


def total_variation_loss(seed):
    (x,) = _normal(seed, (1, 10, 12, 3))
    return {"x": x, "flat": np.full((1, 5, 5, 3), 7.0, np.float32)}


def preprocess_image(seed):
    return {"image": _rgb_image(seed)}


def deprocess_image(seed):
    image = _rgb_image(seed)
    return {"image": image, "batch": images.preprocess_image(image),
            "too_bright": np.full((1, 2, 2, 3), 500.0, np.float32)}


def evaluator(seed):
    shape = (1, 3, 4, 3)
    target, start, other = _normal(seed, shape, shape, shape)
    return {"target": target, "start": start, "other": other}


def weighted_transfer_loss(seed):
    content, style, image = _normal(seed, (1, 8, 8, 3), (1, 6, 10, 3), (1, 8, 8, 3))
    return {"content": content, "style": style, "image": image}


#: Each exercise's input generator, keyed by the name of the function or class students write.
CASES = {"feature_reconstruction_loss": feature_reconstruction_loss,
         "preprocess_image": preprocess_image, "deprocess_image": deprocess_image,
         "gram_matrix": gram_matrix, "style_reconstruction_loss": style_reconstruction_loss,
         "total_variation_loss": total_variation_loss, "Evaluator": evaluator,
         "weighted_transfer_loss": weighted_transfer_loss}
