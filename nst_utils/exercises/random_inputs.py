"""The exercises' inputs, drawn from a seed.

The students' checks use a fixed seed (so the notebooks print the same thing on every run); the
grader draws a fresh seed from `secrets` for every submission, on its own side, and sends the
inputs to the sandbox, so no submission can know them in advance. Every value is a NumPy array.
"""

import numpy as np


def normal(seed, *shapes):
    """Standard normal float32 arrays of the given shapes, one generator for all."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(np.float32) for shape in shapes]


def rgb_image(seed):
    """A random (6, 9, 3) RGB image with values 0-255, as float32."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(6, 9, 3)).astype(np.float32)
