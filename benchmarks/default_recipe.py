"""Is the default the fastest recipe? Today's defaults against content start + coarse-to-fine.

    .venv/bin/python benchmarks/default_recipe.py            # the demo: 384 px, both loss setups

For each of the two default setups (the `nst transfer` command's loss weights, and
`style_transfer()`'s homework weights) it runs, in one process, one after the other:

* "default": the setup as it was (`nst transfer`: content start at full size, 100 iterations;
  `style_transfer()`: noise start at full size, 50 iterations);
* "recipe": the benchmark's winner, content start and scales (0.5, 1.0), with enough full-size
  iterations to pass the default's final loss.

Equal quality means the same loss of the same full-size problem: the target is the default's
final loss; for the recipe we report the first full-size iteration whose (best-so-far) loss is at
or below it, with the wall-clock seconds since the call began (building VGG, the targets, the
half-size stage and XLA compilation included) and the network evaluations, which do not depend on
the machine's load.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nst_utils import style_transfer  # noqa: E402
from nst_utils.transfer import IMAGES_DIR  # noqa: E402

CLI_WEIGHTS = dict(content_weight=100.0, style_weights=(1000.0, 100.0, 12.0, 1.0, 1.0),
                   tv_weight=200.0)
LIBRARY_WEIGHTS = dict(content_weight=3e-2, style_weights=(20000, 500, 12, 1, 1), tv_weight=5e-2)

#: (setup name, loss weights, the old default's options, the recipe's options)
SETUPS = [
    ("nst transfer", CLI_WEIGHTS, dict(init="content", scales=(1.0,), iterations=100),
     dict(init="content", scales=(0.5, 1.0), iterations=[50, 120])),
    ("style_transfer()", LIBRARY_WEIGHTS, dict(init="noise", scales=(1.0,), iterations=50),
     dict(init="content", scales=(0.5, 1.0), iterations=[50, 120])),
]


def timed_run(size, weights, options, out):
    """One style_transfer; return [(seconds since the call, evaluations, loss, scale)]."""
    points, start = [], time.perf_counter()

    def record(iteration, image, rec):
        points.append((time.perf_counter() - start, rec["evaluations"], rec["loss"],
                       rec["scale"]))

    style_transfer(IMAGES_DIR / "chelsea.jpg", IMAGES_DIR / "scream.jpg", out, max_size=size,
                   progress=False, callback=record, **weights, **options)
    return points


def first_at_or_below(points, target):
    """(full-size iteration, seconds, evaluations) of the first full-size point <= target."""
    full = [point for point in points if point[3] == 1.0]
    for index, (seconds, evaluations, loss, _) in enumerate(full, 1):
        if loss <= target:
            return index, seconds, evaluations
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=384)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        for number, (name, weights, default, recipe) in enumerate(SETUPS):
            old = timed_run(args.size, weights, default, Path(folder) / f"{number}_default.png")
            new = timed_run(args.size, weights, recipe, Path(folder) / f"{number}_recipe.png")
            target = old[-1][2]
            print(f"\n{name} at {args.size} px, target (the default's final loss) {target:.4g}")
            print(f"  default {default}: {len(old)} iterations, {old[-1][1]} evaluations, "
                  f"{old[-1][0]:.1f} s")
            reached = first_at_or_below(new, target)
            coarse = sum(1 for point in new if point[3] != 1.0)
            if reached is None:
                print(f"  recipe {recipe}: not reached; final full-size loss {new[-1][2]:.4g}")
                continue
            iteration, seconds, evaluations = reached
            print(f"  recipe {recipe}: reached after {coarse} half-size + {iteration} full-size "
                  f"iterations, {evaluations} evaluations, {seconds:.1f} s "
                  f"({old[-1][0] / seconds:.2f}x faster); its loss then {new[coarse + iteration - 1][2]:.4g}, "
                  f"after all {len(new) - coarse} full-size iterations {new[-1][2]:.4g} "
                  f"({new[-1][0]:.1f} s)")
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
