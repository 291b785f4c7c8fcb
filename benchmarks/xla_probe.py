"""Per-evaluation time and first-call (compile) time, with and without XLA, at given sizes.

    .venv/bin/python benchmarks/xla_probe.py 128 256 512
"""

import sys
import time

import numpy as np

from nst_utils.images import load_image, preprocess_image
from nst_utils.models import build_vgg
from nst_utils.optimize import Evaluator
from nst_utils.transfer import STYLE_LAYERS, IMAGES_DIR, weighted_transfer_loss

LAYERS = ["block4_conv2", *STYLE_LAYERS]


def probe(size, jit, repeats=3):
    """(first call seconds, median later call seconds) of one loss+gradient evaluation."""
    content = load_image(IMAGES_DIR / "chelsea.jpg", max_size=size)
    style = load_image(IMAGES_DIR / "scream.jpg", max_size=size)
    extractor = build_vgg("vgg19", "max", LAYERS)
    loss_fn = weighted_transfer_loss(extractor, preprocess_image(content), preprocess_image(style),
                                     "block4_conv2", STYLE_LAYERS, 100, (1000, 100, 12, 1, 1), 200)
    x = preprocess_image(content)
    evaluator = Evaluator(loss_fn, x.shape, jit_compile=jit)
    flat = x.ravel().astype(np.float64)
    start = time.perf_counter()
    evaluator(flat)
    first = time.perf_counter() - start
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        evaluator(flat + i + 1)
        times.append(time.perf_counter() - start)
    return first, float(np.median(times))


if __name__ == "__main__":
    for size in map(int, sys.argv[1:] or ["128", "256", "512"]):
        for jit in (False, True):
            first, per_eval = probe(size, jit)
            print(f"size {size} jit_compile={jit!s:5}: first call {first:6.2f} s, "
                  f"then {per_eval:6.3f} s per evaluation", flush=True)
