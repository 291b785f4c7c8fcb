"""Two schedule candidates for issue 21, measured like `time_to_quality.py`'s recipes.

    nice -n 19 .venv/bin/python benchmarks/schedules.py plateau --setups homework
    nice -n 19 .venv/bin/python benchmarks/schedules.py detail --setups demo

Each is the setup's default recipe (scales 0.5 and 1, content start) with one thing changed in
the library, replaced here for the run only (nothing in `nst_utils` is edited):

* `plateau`: a loss-based rule for moving up a scale instead of a fixed count. The half-size
  stage gets up to COARSE_CAP iterations and stops as soon as its best loss has fallen by less
  than RATE per iteration on average over the last WINDOW iterations
  ((L[-WINDOW-1] - L[-1]) / L[-1] < WINDOW * RATE); the full-size stage then runs as in
  `time_to_quality.py` (until the last target). The library's `_lbfgs` is wrapped at the coarse
  scales only.
* `detail`: the upsampling between scales. The library resizes the half-size result with a
  Lanczos filter, which has no detail above the half size's frequencies, so the full-size stage
  starts from a blurred picture. Here the content image's own fine detail (the full-size
  content minus its half-size version resized back up) is added to the upsampled result, so
  the full-size stage starts from the content's edges, as the single-scale run does.

Both read the cached reference (`results_ttq/reference_<setup>_<size>.json`, made by
`time_to_quality.py`), print its table row and how many half-size iterations ran, and write the
reference and the candidate's final image side by side to
`results_ttq/<setup>_<size>_<candidate>.png`.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time_to_quality as ttq  # noqa: E402,I001

import nst_utils.optimize as optimize  # noqa: E402
import nst_utils.transfer as transfer  # noqa: E402
from nst_utils.images import load_image, preprocess_image  # noqa: E402

COARSE_CAP = 400
WINDOW = 10
RATE = 0.005  # 0.5 % per iteration


class Plateau(Exception):
    """The coarse stage's loss has levelled off: move up a scale."""


def plateau_lbfgs(library_lbfgs):
    """The library's L-BFGS loop, stopped at the first (coarse) scale once its loss levels off;
    later calls (the full size) run unchanged."""
    calls = []

    def lbfgs(evaluator, x0, iterations, on_iteration, learning_rate):
        calls.append(evaluator.shape)
        if len(calls) > 1:
            return library_lbfgs(evaluator, x0, iterations, on_iteration, learning_rate)
        losses = []

        def watched(x):
            on_iteration(x)
            losses.append(evaluator.best_loss)
            if (len(losses) > WINDOW
                    and losses[-WINDOW - 1] - losses[-1] < WINDOW * RATE * losses[-1]):
                raise Plateau
        try:
            library_lbfgs(evaluator, x0, iterations, watched, learning_rate)
        except Plateau:
            pass  # minimize() returns the evaluator's best point, as after a full budget
    return lbfgs


def detail_upsample(library_upsample, content_path):
    """The library's upsampling plus the content's detail finer than the coarse scale."""
    def upsample(batch, dims):
        up = library_upsample(batch, dims)
        full = preprocess_image(load_image(content_path, size=tuple(dims)))
        coarse = preprocess_image(load_image(content_path, size=tuple(batch.shape[1:3])))
        return up + (full - library_upsample(coarse, dims))
    return upsample


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidate", choices=["plateau", "detail"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--setups", nargs="+", choices=list(ttq.SETUPS), default=["homework"])
    args = parser.parse_args()
    library_lbfgs, library_upsample = optimize._lbfgs, transfer._upsample
    for setup in args.setups:
        content = ttq.IMAGES_DIR / ttq.SETUPS[setup][0]
        options = ttq.run_on(ttq.default_options(setup), (0.5, 1.0))
        if args.candidate == "plateau":
            options["iterations"] = [COARSE_CAP, options["iterations"][-1]]
            optimize._lbfgs = plateau_lbfgs(library_lbfgs)
        else:
            transfer._upsample = detail_upsample(library_upsample, content)
        points, picture = ttq.reference(setup, args.size, False)
        targets, times = ttq.targets_of(points)
        print(f"{setup} at {args.size} px, {args.candidate}, {options}, "
              f"load average {os.getloadavg()}", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            image, run = ttq.timed_run(setup, args.size, options, Path(folder) / "c.png",
                                       targets[-1])
        optimize._lbfgs, transfer._upsample = library_lbfgs, library_upsample
        coarse = sum(scale != 1.0 for *_, scale in run)
        print(ttq.table_row(f"{args.candidate} ({coarse} half-size iterations)", run, targets,
                            times), flush=True)
        print("reference: " + " / ".join(f"{t:.0f}" for t in times) + " CPU s; coarse stage "
              f"ended at {run[coarse - 1][0]:.0f} CPU s; load average {os.getloadavg()}",
              flush=True)
        ttq.side_by_side([picture, image],
                         ttq.RESULTS / f"{setup}_{args.size}_{args.candidate}.png")


if __name__ == "__main__":
    sys.exit(main())
