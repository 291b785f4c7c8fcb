"""Time to quality: how many CPU seconds each recipe needs to reach the loss of a single-scale run.

    nice -n 19 .venv/bin/python benchmarks/time_to_quality.py --size 256
    nice -n 19 .venv/bin/python benchmarks/time_to_quality.py --size 384 --setups demo

The reference is the plain run: raw pixels from the content image, one scale (the full size), 500
L-BFGS iterations. Its best loss after 100, 250 and 500 iterations are the three targets. Each
recipe is a `style_transfer()` call optimising the same full-size objective (same network, layers,
weights and image size); whatever it does on the way (smaller scales, another optimiser), only
its full-size losses count, and the clock is the process's CPU seconds (`time.process_time()`,
all threads) from the call's start: building VGG, the targets, the coarse scales and compilation
are paid for. CPU seconds, not wall seconds, because this machine is shared.

Two setups, each a preset of `nst_utils.defaults.PRESETS` with the default start and scales:
"homework" (the course homework's `style_transfer()` defaults, its VGG16 weights and 50
iterations) on the astronaut and Klimt's The Kiss; "demo" (what `nst transfer` and
`style_transfer()` do with no options) on the cat and The Scream.

The reference run costs as much as all recipes together, so it is cached per setup and size in
`results_ttq/reference_<setup>_<size>.json` (its loss after every iteration, with CPU seconds)
and run again only with --rerun-reference. A recipe stops once it reaches the last target (so its
final image is the one that reached it) or at the end of its iterations. The final images are
written side by side to `results_ttq/<setup>_<size>.png`, the reference first.
"""

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from nst_utils import style_transfer  # noqa: E402  (first: it quietens TensorFlow)
from nst_utils.defaults import DEFAULTS, WEIGHT_KEYS, loss_settings  # noqa: E402
from nst_utils.images import load_image, save_image  # noqa: E402
from nst_utils.optimize import Interrupted  # noqa: E402
from nst_utils.transfer import IMAGES_DIR  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results_ttq"
TARGET_ITERATIONS = (100, 250, 500)

#: setup -> (content, style, loss weights): each setup's are those of the preset of its name;
#: both on VGG16.
SETUPS = {setup: (content, style, loss_settings(setup, WEIGHT_KEYS)) for setup, content, style
          in (("homework", "astronaut.jpg", "klimt_the_kiss.jpg"),
              ("demo", "chelsea.jpg", "scream.jpg"))}

REFERENCE = dict(init="content", scales=(1.0,), iterations=max(TARGET_ITERATIONS))


def recipe(scales, coarse=None):
    """A recipe's options beyond a setup's weights: the default start, `scales`, and as many
    iterations as the reference, so that it can go on until the last target. An int is the
    library's rule (each coarse scale until its loss levels off, at most that many iterations);
    `coarse` instead fixes the coarse scales' counts (the rule before issue 21)."""
    full = TARGET_ITERATIONS[-1]
    return dict(init=DEFAULTS["init"], scales=tuple(scales),
                iterations=full if coarse is None else [*coarse, full])


#: recipe name -> setup -> style_transfer options. Each stops at the last target.
RECIPES = {
    "default (0.5, 1)": lambda setup: recipe(DEFAULTS["scales"]),
    "three scales (0.25, 0.5, 1)": lambda setup: recipe((0.25, 0.5, 1.0)),
    "fixed split (0.5, 1), the default before": lambda setup: recipe(
        (0.5, 1.0), [{"demo": 65, "homework": 25}[setup]]),  # half of 130 and of 50
}


def timed_run(setup, size, options, out, target=None, milestones=()):
    """One style_transfer; return its image and [(CPU seconds, evaluations, loss, scale)] per
    iteration. It stops once a full-size loss is at or below `target`, and prints a line when it
    first reaches each of `milestones` (so that a run cut short still tells how far it got)."""
    content, style, weights = SETUPS[setup]
    points, cpu = [], time.process_time()
    pending = sorted(milestones, reverse=True)

    def record(iteration, image, rec):
        points.append((time.process_time() - cpu, rec["evaluations"], rec["loss"], rec["scale"]))
        full = sum(point[3] == 1.0 for point in points)
        while pending and rec["scale"] == 1.0 and rec["loss"] <= pending[0]:
            print(f"  reached {pending.pop(0):.4g} after {points[-1][0]:.0f} CPU s, "
                  f"{full} full-size iterations", flush=True)
        if target is not None and rec["scale"] == 1.0 and rec["loss"] <= target:
            raise KeyboardInterrupt  # ends the run here, keeping this image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Interrupted)
        image, _ = style_transfer(IMAGES_DIR / content, IMAGES_DIR / style, out, max_size=size,
                                  progress=False, callback=record, **weights, **options)
    return image, points


def reference(setup, size, rerun):
    """The single-scale run's points and image, from the cache or run now (and cached)."""
    cache = RESULTS / f"reference_{setup}_{size}.json"
    picture = RESULTS / f"reference_{setup}_{size}.png"
    if cache.exists() and picture.exists() and not rerun:
        return json.loads(cache.read_text())["points"], load_image(picture)
    start = time.time()
    image, points = timed_run(setup, size, REFERENCE, picture.with_suffix(".tmp.png"))
    RESULTS.mkdir(exist_ok=True)
    save_image(picture, image, overwrite=True)
    picture.with_suffix(".tmp.png").unlink()
    cache.write_text(json.dumps({"setup": setup, "size": size, "options": str(REFERENCE),
                                 "wall_seconds": time.time() - start,
                                 "load_average_at_end": os.getloadavg(),
                                 "points": points}) + "\n")
    return points, image


def reached(points, target):
    """CPU seconds and full-size iterations at the first full-size point at or below target."""
    full = 0
    for cpu, _, loss, scale in points:
        full += scale == 1.0
        if scale == 1.0 and loss <= target:
            return cpu, full
    return None, full


def targets_of(points):
    """The reference's best loss and its CPU seconds after each of TARGET_ITERATIONS (L-BFGS may
    stop before 500 iterations when it can improve no further: then its last point)."""
    ends = [points[min(n, len(points)) - 1] for n in TARGET_ITERATIONS]
    return [loss for _, _, loss, _ in ends], [cpu for cpu, *_ in ends]


def table_row(label, run, targets, times):
    """A recipe's row of the table: CPU seconds to each target, full-size iterations to the last
    and the ratio of its CPU seconds there to the reference's."""
    hits = [reached(run, target) for target in targets]
    last, full = hits[-1]
    return (f"| {label} | " + " / ".join("-" if cpu is None else f"{cpu:.0f}" for cpu, _ in hits)
            + f" | {full if last is not None else f'not reached in {full}'} | "
            + ("-" if last is None else f"{last / times[-1]:.2f}") + " |")


def side_by_side(images, path):
    """The images in one row, 8 pixels apart, on white."""
    height = max(image.shape[0] for image in images)
    row = np.full((height, sum(image.shape[1] + 8 for image in images) - 8, 3), 255, np.uint8)
    left = 0
    for image in images:
        row[:image.shape[0], left:left + image.shape[1]] = image
        left += image.shape[1] + 8
    save_image(path, row, overwrite=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    parser.add_argument("--rerun-reference", action="store_true")
    parser.add_argument("--reference-only", action="store_true")
    args = parser.parse_args()
    for setup in args.setups:
        print(f"{setup} at {args.size} px, load average {os.getloadavg()}", flush=True)
        points, picture = reference(setup, args.size, args.rerun_reference)
        targets, times = targets_of(points)
        print("| recipe | CPU s to the loss of " + " / ".join(map(str, TARGET_ITERATIONS))
              + " single-scale iterations | full-size iterations to the last | ratio at "
              f"{TARGET_ITERATIONS[-1]} |\n| --- | --- | --- | --- |")
        print(f"| single scale, {TARGET_ITERATIONS[-1]} iterations (reference) | "
              + " / ".join(f"{t:.0f}" for t in times) + f" | {TARGET_ITERATIONS[-1]} | 1 |",
              flush=True)
        if args.reference_only:
            continue
        images = [picture]
        with tempfile.TemporaryDirectory() as folder:
            for number, name in enumerate(args.recipes):
                print(f"  {name}: {RECIPES[name](setup)}", flush=True)
                image, run = timed_run(setup, args.size, RECIPES[name](setup),
                                       Path(folder) / f"{number}.png", targets[-1],
                                       milestones=targets)
                images.append(image)
                print(table_row(name, run, targets, times), flush=True)
        side_by_side(images, RESULTS / f"{setup}_{args.size}.png")
        print(f"targets (best loss after {TARGET_ITERATIONS}): "
              + ", ".join(f"{t:.4g}" for t in targets) + f"; load average {os.getloadavg()}\n",
              flush=True)


if __name__ == "__main__":
    main()
