"""Schedule candidates for issue 21, measured like `time_to_quality.py`'s recipes.

    nice -n 19 .venv/bin/python benchmarks/schedules.py detail --setups demo
    nice -n 19 .venv/bin/python benchmarks/schedules.py rate --rate 0.002 --setups homework

Each is the setup's default recipe with one thing changed in the library, replaced here for the
run only (nothing in `nst_utils` is edited):

* `detail`: the upsampling between scales. The library resizes the half-size result with a
  Lanczos filter, which has no detail above the half size's frequencies, so the full-size stage
  starts from a blurred picture. Here the content image's own fine detail (the full-size
  content minus its half-size version resized back up) is added to the upsampled result, so
  the full-size stage starts from the content's edges, as the single-scale run does.
* `rate`: the level-off rule's rate (`optimize.LEVEL_OFF_RATE`, 0.5 % per iteration over the
  last 10): a lower rate keeps the half-size stage going longer, a higher one ends it sooner.

(A third candidate measured here, `plateau`, the loss-based rule for leaving a coarse scale,
won and is now the library's: `optimize.levelled_off`.)

It reads the cached reference (`results_ttq/reference_<setup>_<size>.json`, made by
`time_to_quality.py`), prints its table row and how many half-size iterations ran, and writes the
reference and the candidate's final image side by side to
`results_ttq/<setup>_<size>_<candidate>.png` (`..._rate_<rate>.png` for a rate).
"""

import argparse
import functools
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time_to_quality as ttq  # noqa: E402,I001

import nst_utils.optimize as optimize  # noqa: E402
import nst_utils.transfer as transfer  # noqa: E402
from nst_utils.images import load_image, preprocess_image  # noqa: E402


def detail_upsample(library_upsample, content_path):
    """The library's upsampling plus the content's detail finer than the coarse scale."""
    def upsample(batch, dims):
        up = library_upsample(batch, dims)
        full = preprocess_image(load_image(content_path, size=tuple(dims)))
        coarse = preprocess_image(load_image(content_path, size=tuple(batch.shape[1:3])))
        return up + (full - library_upsample(coarse, dims))
    return upsample


def replace(candidate, setup, rate):
    """Put the candidate's change in place for `setup`; return the undo and the run's label."""
    if candidate == "detail":
        library_upsample = transfer._upsample
        transfer._upsample = detail_upsample(library_upsample,
                                             ttq.IMAGES_DIR / ttq.SETUPS[setup][0])
        return lambda: setattr(transfer, "_upsample", library_upsample), "detail"
    library_rule = optimize.levelled_off
    optimize.levelled_off = functools.partial(library_rule, rate=rate)
    return lambda: setattr(optimize, "levelled_off", library_rule), f"rate {rate:g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidate", choices=["detail", "rate"])
    parser.add_argument("--rate", type=float, default=optimize.LEVEL_OFF_RATE)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--setups", nargs="+", choices=list(ttq.SETUPS), default=["homework"])
    args = parser.parse_args()
    for setup in args.setups:
        options = ttq.RECIPES["default (0.5, 1)"](setup)
        points, picture = ttq.reference(setup, args.size, False)
        targets, times = ttq.targets_of(points)
        print(f"{setup} at {args.size} px, {args.candidate}, {options}, "
              f"load average {os.getloadavg()}", flush=True)
        undo, label = replace(args.candidate, setup, args.rate)
        try:
            with tempfile.TemporaryDirectory() as folder:
                image, run = ttq.timed_run(setup, args.size, options, Path(folder) / "c.png",
                                           targets[-1])
        finally:
            undo()
        coarse = sum(scale != 1.0 for *_, scale in run)
        print(ttq.table_row(f"{label} ({coarse} half-size iterations)", run, targets, times),
              flush=True)
        print("reference: " + " / ".join(f"{t:.0f}" for t in times) + " CPU s; coarse stage "
              f"ended at {run[coarse - 1][0]:.0f} CPU s; load average {os.getloadavg()}",
              flush=True)
        name = f"{setup}_{args.size}_{label.replace(' ', '_')}.png"
        ttq.side_by_side([picture, image], ttq.RESULTS / name)


if __name__ == "__main__":
    sys.exit(main())
