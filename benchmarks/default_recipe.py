"""Is the default the fastest recipe? The old defaults against content start + coarse-to-fine.

    .venv/bin/python benchmarks/default_recipe.py            # the demo size: 384 px

For each of the two default setups (the `nst transfer` command's loss weights, and
`style_transfer()`'s homework weights) it runs, in one process, one after the other:

* "old": the setup's default before issue 13 (`nst transfer`: content start at full size, 100
  iterations; `style_transfer()`: noise start at full size, 50 iterations);
* "recipe": the benchmark's winner, content start and scales (0.5, 1.0), with a fixed number of
  half-size iterations and full-size iterations until it is at least as good (below);
* "default": the setup's default now (`nst transfer`'s options; `style_transfer()` with the
  homework's 50 iterations and the default start and scales), run to its end.

Equal quality means the same loss of the same full-size problem: the target is the old default's
final loss; the recipe runs until its (best-so-far) full-size loss is at or below it and stops
there. Reported: iterations, network evaluations (which do not depend on the machine's load),
wall-clock seconds and the process's CPU seconds since the call began (building VGG, the
targets, the half-size stage and XLA compilation included). CPU seconds are the fairer clock on a
shared machine, where the wall clock also counts other programs' time.
"""

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nst_utils import style_transfer  # noqa: E402
from nst_utils.defaults import DEFAULTS, PRESETS, WEIGHT_KEYS, loss_settings  # noqa: E402
from nst_utils.optimize import Interrupted  # noqa: E402
from nst_utils.transfer import IMAGES_DIR  # noqa: E402

#: The weights of `nst transfer` (the demo preset) and of the homework's `style_transfer()`,
#: whose defaults they were when this benchmark was written.
CLI_WEIGHTS = loss_settings("demo", WEIGHT_KEYS)
LIBRARY_WEIGHTS = loss_settings("homework", WEIGHT_KEYS)

#: (setup name, loss weights, the old default's options, the recipe's options: at most this
#: many iterations per scale; it stops at the target, the default's options now)
SETUPS = [
    ("nst transfer", CLI_WEIGHTS, dict(init="content", scales=(1.0,), iterations=100),
     dict(init="content", scales=(0.5, 1.0), iterations=[65, 150]),
     dict(init=DEFAULTS["init"], scales=DEFAULTS["scales"], iterations=DEFAULTS["iterations"])),
    ("style_transfer()", LIBRARY_WEIGHTS, dict(init="noise", scales=(1.0,), iterations=50),
     dict(init="content", scales=(0.5, 1.0), iterations=[25, 150]),
     dict(init=DEFAULTS["init"], scales=DEFAULTS["scales"],
          iterations=PRESETS["homework"]["iterations"])),
]


def timed_run(size, weights, options, out, target=None):
    """One style_transfer, stopped once a full-size loss is at or below `target`; return
    [(wall seconds, CPU seconds, evaluations, loss, scale)] per iteration."""
    points, start, cpu = [], time.perf_counter(), time.process_time()

    def record(iteration, image, rec):
        points.append((time.perf_counter() - start, time.process_time() - cpu,
                       rec["evaluations"], rec["loss"], rec["scale"]))
        if target is not None and rec["scale"] == 1.0 and rec["loss"] <= target:
            raise KeyboardInterrupt  # ends the run here, keeping this image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Interrupted)
        style_transfer(IMAGES_DIR / "chelsea.jpg", IMAGES_DIR / "scream.jpg", out,
                       max_size=size, progress=False, callback=record, **weights, **options)
    return points


def describe(points):
    """Iterations per scale, evaluations, wall and CPU seconds and loss of the last point."""
    coarse = sum(1 for point in points if point[4] != 1.0)
    wall, cpu, evaluations, loss, _ = points[-1]
    return (f"{coarse} half-size + {len(points) - coarse} full-size iterations, {evaluations} "
            f"evaluations, {wall:.1f} s wall, {cpu:.1f} s CPU, full-size loss {loss:.4g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--setup", choices=[setup[0] for setup in SETUPS],
                        help="run only this setup (default: both)")
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        for number, (name, weights, old, recipe, default) in enumerate(SETUPS):
            if args.setup not in (None, name):
                continue
            before = timed_run(args.size, weights, old, Path(folder) / f"{number}_old.png")
            target = before[-1][3]
            after = timed_run(args.size, weights, recipe, Path(folder) / f"{number}_new.png",
                              target)
            print(f"\n{name} at {args.size} px; target: the old default's final loss {target:.4g}")
            print(f"  old {old}: {describe(before)}")
            reached = after[-1][4] == 1.0 and after[-1][3] <= target
            print(f"  recipe {recipe}: {'reached the target after' if reached else 'NOT reached:'}"
                  f" {describe(after)}")
            if reached:
                print(f"  recipe / old: {after[-1][0] / before[-1][0]:.2f} wall, "
                      f"{after[-1][1] / before[-1][1]:.2f} CPU")
            now = timed_run(args.size, weights, default, Path(folder) / f"{number}_default.png")
            print(f"  default {default}: {describe(now)}")
            print(f"  default / old: {now[-1][0] / before[-1][0]:.2f} wall, "
                  f"{now[-1][1] / before[-1][1]:.2f} CPU, final loss "
                  f"{now[-1][3] / target:.2f}x the old default's")
            print(f"  load average now: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
