"""Candidates for a faster recipe that the library did not take, and how they were measured.

    nice -n 19 .venv/bin/python benchmarks/candidates.py pyramid+colour   # one candidate
    nice -n 19 .venv/bin/python benchmarks/candidates.py                  # all, one after another

Each candidate is the library's `style_transfer()` with one thing changed in its L-BFGS loop
(`nst_utils.optimize._lbfgs`, replaced here) or its loss weights, run on `time_to_quality.py`'s
"homework" setup at 256 px: content start, one scale, 100 iterations (the schedules: three
scales, then 150 full-size iterations). It prints the best full-size loss after 25, 50 and 100
full-size iterations and the CPU seconds of the process at each, to read against
`results_ttq/reference_homework_256.json` (the plain run, `plain` here).

* `pyramid`, `colour`, `pyramid+colour`: the image as a Laplacian pyramid and/or in a
  decorrelated colour space (Mordvintsev et al., "Differentiable Image Parameterizations",
  Distill 2018, https://distill.pub/2018/differentiable-parameterizations/): L-BFGS optimises z
  in x = x0 + C(sum_k upsample_k(z_k)), every level from the full size down to 4 pixels
  bilinearly upsampled, C the square root of ImageNet's colour correlation (Lucid's
  `color_correlation_svd_sqrt`, its columns divided by the largest norm); the loss is that of
  the image x, the same objective, and the gradient reaches z through the transposed maps.
* `history50`: scipy's L-BFGS-B with m=50 correction pairs instead of 10.
* `three_scales` and `three_scales_area`: scales (0.25, 0.5, 1.0) with 60 + 60 coarse
  iterations, m=50, the second with the content weight multiplied by the area ratio at the
  coarse scales (the content loss is a sum over positions, the style loss a mean, so a coarse
  scale otherwise weighs the style more than the full size does).
"""

import json
import math
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from scipy.optimize import fmin_l_bfgs_b  # noqa: E402
from time_to_quality import IMAGES_DIR, SETUPS  # noqa: E402,I001

import nst_utils.optimize as optimize  # noqa: E402
import nst_utils.transfer as transfer  # noqa: E402
from nst_utils import style_transfer  # noqa: E402
from nst_utils.images import image_size  # noqa: E402
from nst_utils.optimize import Interrupted  # noqa: E402

#: name -> (settings of the replaced loop, style_transfer options)
SINGLE = dict(init="content", scales=(1.0,), iterations=100)
THREE = dict(init="content", scales=(0.25, 0.5, 1.0), iterations=[60, 60, 150])
CANDIDATES = {
    "plain": ({}, SINGLE),
    "history50": ({"m": 50}, SINGLE),
    "colour": ({"basis": "colour"}, SINGLE),
    "pyramid": ({"basis": "pyramid"}, SINGLE),
    "pyramid+colour": ({"basis": "pyramid+colour"}, SINGLE),
    "three_scales": ({"m": 50}, THREE),
    "three_scales_area": ({"m": 50, "content_area": True}, THREE),
}
SETTINGS = {}

# Lucid's square root of ImageNet's RGB colour correlation; rows reversed for VGG's BGR order.
COLOUR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])[::-1]


def bilinear(size, small):
    """The (size, small) matrix that upsamples a length-`small` signal bilinearly."""
    matrix = np.zeros((size, small))
    for i in range(size):
        source = min(max((i + 0.5) * small / size - 0.5, 0), small - 1)
        low = int(math.floor(source))
        matrix[i, low] += 1 - (source - low)
        matrix[i, min(low + 1, small - 1)] += source - low
    return matrix


class Basis:
    """x = C(sum_k upsample_k(z_k)) and its transpose, for an image of (height, width)."""

    def __init__(self, height, width, pyramid, colour):
        levels = 0
        while pyramid and min(math.ceil(height / 2 ** (levels + 1)),
                              math.ceil(width / 2 ** (levels + 1))) >= 4:
            levels += 1
        self.maps = [(bilinear(height, math.ceil(height / 2 ** k)),
                      bilinear(width, math.ceil(width / 2 ** k))) for k in range(levels + 1)]
        self.sizes = [rows.shape[1] * columns.shape[1] * 3 for rows, columns in self.maps]
        self.colour = (COLOUR_SQRT / np.linalg.norm(COLOUR_SQRT, axis=0).max() if colour
                       else np.eye(3))

    def image(self, z):
        total, start = 0.0, 0
        for (rows, columns), size in zip(self.maps, self.sizes):
            level = z[start:start + size].reshape(rows.shape[1], columns.shape[1], 3)
            start += size
            total = total + (level if rows.shape[0] == rows.shape[1] else np.swapaxes(
                np.swapaxes(np.tensordot(rows, level, 1), 1, 2) @ columns.T, 1, 2))
        return total @ self.colour.T

    def transposed(self, gradient):
        gradient = gradient @ self.colour
        return np.concatenate([(gradient if rows.shape[0] == rows.shape[1] else np.swapaxes(
            np.swapaxes(np.tensordot(rows.T, gradient, 1), 1, 2) @ columns, 1, 2)).ravel()
            for rows, columns in self.maps])


def lbfgs(evaluator, x0, iterations, on_iteration, learning_rate):
    """The library's `_lbfgs` with SETTINGS' history size and basis (at full size only)."""
    basis = SETTINGS.get("basis") if evaluator.shape[1:3] == SETTINGS["full"] else None
    if basis is None:
        objective, x, image = evaluator, x0.ravel().astype(np.float64), lambda v: v
    else:
        change = Basis(*evaluator.shape[1:3], "pyramid" in basis, "colour" in basis)
        start = x0.astype(np.float64).reshape(evaluator.shape[1:])

        def image(z):
            return (start + change.image(z)).ravel()

        def objective(z):
            loss, gradient = evaluator(image(z))
            return loss, change.transposed(gradient.reshape(evaluator.shape[1:]))

        x = np.zeros(sum(change.sizes))
    done = 0
    while done < iterations:
        before, counter = evaluator.best_loss, {"n": 0}

        def step(xk):  # called within this pass of the loop only
            counter["n"] += 1  # noqa: B023
            on_iteration(image(xk))

        x, _, _ = fmin_l_bfgs_b(objective, x, m=SETTINGS.get("m", 10), maxiter=iterations - done,
                                maxfun=20 * (iterations - done) + 20, callback=step)
        done += counter["n"]
        if counter["n"] == 0 or not evaluator.best_loss < before:
            break


def area_weighted(library_loss):
    """weighted_transfer_loss with the content weight times the full size's area / this one's."""
    def loss(extractor, content_batch, style_batch, content_layer, style_layers,
             content_weight, *args, **kwargs):
        if SETTINGS.get("content_area"):
            height, width = SETTINGS["full"]
            content_weight *= height * width / (content_batch.shape[1] * content_batch.shape[2])
        return library_loss(extractor, content_batch, style_batch, content_layer, style_layers,
                            content_weight, *args, **kwargs)
    return loss


def run(name, size=256, setup="homework"):
    """One candidate; print its loss and CPU seconds after 25, 50 and 100 full-size iterations."""
    settings, options = CANDIDATES[name]
    content, style, weights = SETUPS[setup]
    height, width = image_size(IMAGES_DIR / content)
    factor = size / max(height, width)
    SETTINGS.clear()
    SETTINGS.update(settings, full=(round(height * factor), round(width * factor)))
    points, cpu = [], time.process_time()

    def record(iteration, image, rec):
        if rec["scale"] == 1.0:
            points.append((time.process_time() - cpu, rec["loss"]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Interrupted)
        style_transfer(IMAGES_DIR / content, IMAGES_DIR / style, f"results/candidate_{name}.png",
                       max_size=size, progress=False, callback=record, overwrite=True,
                       **weights, **options)
    print(json.dumps({name: {n: (round(points[n - 1][0]), f"{points[n - 1][1]:.4g}")
                             for n in (25, 50, 100, 150) if n <= len(points)}}), flush=True)


if __name__ == "__main__":
    optimize._lbfgs = lbfgs
    transfer.weighted_transfer_loss = area_weighted(transfer.weighted_transfer_loss)
    for candidate in sys.argv[1:] or CANDIDATES:
        run(candidate)
