"""The `nst` command: `nst transfer`, `nst weights`, `nst assign`, `nst grade`.

Its entry point is `nst_command.main` (``nst`` or ``python -m nst_command``), which loads this
module so that a Ctrl-C during the slow import of TensorFlow exits without a traceback; this
module is not meant to be run on its own.
"""

import argparse
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from .errors import NSTError, command_line_names

#: What `nst transfer` paints when given no images: the demo.
DEFAULT_CONTENT = "chelsea.jpg"
DEFAULT_STYLE = "scream.jpg"


def main(argv=None):
    """Entry point of the `nst` command; returns the exit status.

    Ctrl-C (SIGINT) and SIGTERM stop a transfer and keep the best image so far; the status is
    then 128 + the signal's number (130, 143), as a shell reports a process the signal ended.
    """
    with StopSignals() as stop, command_line_names():
        try:
            parser = _parser()
            args = parser.parse_args(argv)
            if not hasattr(args, "run"):
                parser.print_help()
                return 2
            args.stop = stop
            return args.run(args) or 0
        except NSTError as error:
            if stop.signum is None:
                print(f"nst: error: {error}", file=sys.stderr)
                return 1
            print(f"nst: stopped by {stop.name}: {error}", file=sys.stderr)
        except KeyboardInterrupt:
            stop.signum = stop.signum or signal.SIGINT
            print(f"nst: stopped by {stop.name} before a result was made; nothing was saved.",
                  file=sys.stderr)
        return stop.status


class StopSignals:
    """Within this block the first SIGINT or SIGTERM raises KeyboardInterrupt, which the
    optimiser turns into an early end that keeps the best image; later signals are only
    noted, so that saving the result is not cut short. Outside the main thread (where Python
    cannot handle signals) it does nothing."""

    def __init__(self):
        self.signum = None
        self._previous = {}

    @property
    def name(self):
        """The signal's name, such as "SIGTERM"."""
        return signal.Signals(self.signum).name

    @property
    def status(self):
        """The exit status that tells a signal ended the run: 128 + its number."""
        return 128 + self.signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle)
                              for signum in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum, frame):
        if self.signum is None:
            self.signum = signum
            raise KeyboardInterrupt


def _parser():
    from .transfer import STYLE_LAYERS

    parser = argparse.ArgumentParser(
        prog="nst", description="Neural style transfer (Gatys et al. 2016) with Keras 3.")
    commands = parser.add_subparsers(title="commands")

    transfer = commands.add_parser(
        "transfer", help="paint a content image in the style of another",
        description="Paint CONTENT in the style of STYLE. With no images, paints the bundled "
                    f"{DEFAULT_CONTENT} in the style of {DEFAULT_STYLE} (the demo).")
    transfer.add_argument("content", nargs="?", help="content image (a photo)")
    transfer.add_argument("style", nargs="?", help="style image (a painting)")
    transfer.add_argument("-o", "--output", help="output image; default: a new file in results/")
    transfer.add_argument("--max-size", type=int, default=384,
                          help="longest side of the output in pixels (default: 384)")
    transfer.add_argument("--iterations", type=int, default=130,
                          help="optimizer iterations, split equally between the scales "
                               "(default: 130)")
    transfer.add_argument("--convnet", choices=["vgg16", "vgg19"], default="vgg16")
    transfer.add_argument("--pooling", choices=["max", "avg"], default="max")
    transfer.add_argument("--init", default="content",
                          help="'noise', 'content', 'style' or an image path (default: content)")
    transfer.add_argument("--optimizer", choices=["lbfgs", "lbfgs-restarts", "adam", "gd"],
                          default="lbfgs")
    transfer.add_argument("--learning-rate", type=float, help="step size for adam and gd")
    transfer.add_argument("--seed", type=int, default=0, help="seed of the noise (default: 0)")
    transfer.add_argument("--content-weight", type=float, default=100.0)
    transfer.add_argument("--style-weights", type=float, nargs="+",
                          default=[1000.0, 100.0, 12.0, 1.0, 1.0],
                          help="one weight per style layer")
    transfer.add_argument("--tv-weight", type=float, default=200.0)
    transfer.add_argument("--content-layer", default="block4_conv2")
    transfer.add_argument("--style-layers", nargs="+", default=STYLE_LAYERS)
    transfer.add_argument("--save-every", type=int, help="also save every N iterations")
    transfer.add_argument("--animation", metavar="GIF",
                          help="also write the optimisation as an animated GIF")
    transfer.add_argument("--animation-every", type=int, default=10, metavar="N",
                          help="iterations between two frames of the animation (default: 10)")
    transfer.add_argument("--weights", help="a weights file to use instead of ImageNet's")
    transfer.add_argument("--overwrite", action="store_true",
                          help="replace the output file if it exists")
    # The default is the fastest recipe at equal quality: benchmarks/default_recipe.py
    transfer.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0],
                          help="coarse-to-fine fractions of the size, ending with 1; the "
                               "iterations are split equally between them (default: 0.5 1)")
    transfer.add_argument("--memory-limit", type=float, metavar="GB",
                          help="memory the run may use (default: what is available now)")
    beyond = transfer.add_argument_group("beyond Gatys 2016 (Gatys et al. 2017)")
    beyond.add_argument("--style", nargs="+", dest="styles", metavar="STYLE",
                        help="one or more style images, instead of the positional STYLE")
    beyond.add_argument("--style-blend", type=float, nargs="+", metavar="WEIGHT",
                        help="one weight per style, normalised to sum 1 (default: equal)")
    beyond.add_argument("--style-masks", nargs="+", metavar="MASK",
                        help="one mask image per style, white where that style goes")
    beyond.add_argument("--style-scale", type=float, default=1.0,
                        help="style size as a multiple of the content's (default: 1); smaller "
                             "gives smaller brush strokes")
    beyond.add_argument("--preserve-color", choices=["luminance", "histogram"],
                        help="keep the content's colours: transfer on luminance only, or match "
                             "the style's colour histogram to the content first")
    beyond.add_argument("--adaptive-weights", action="store_true",
                        help="divide each loss term by its magnitude; the weights become "
                             "relative importances")
    beyond.add_argument("--init-noise", type=float, default=0.0,
                        help="share of noise mixed into the start, 0-1 (default: 0)")
    transfer.set_defaults(run=_transfer)

    weights = commands.add_parser("weights", help="fetch VGG16 and VGG19 ImageNet weights")
    weights.set_defaults(run=_weights)

    assign = commands.add_parser(
        "assign", help="write the student versions of the notebooks",
        description="Replace every solution (between ### BEGIN SOLUTION and ### END SOLUTION) "
                    "with `raise NotImplementedError()`, clear the outputs, and write the "
                    "results to OUT (replacing earlier student versions there).")
    assign.add_argument("source", nargs="?",
                        help="folder of solution notebooks (default: the notebooks that come "
                             "with nst)")
    assign.add_argument("-o", "--out", help="output folder (default: SOURCE/student, or "
                                            "SOURCE/otter with --format otter; without SOURCE, "
                                            "notebooks/student or notebooks/otter here)")
    assign.add_argument("--format", choices=["nbgrader", "otter"], default="nbgrader",
                        help="nbgrader: the student versions, as nbgrader releases them "
                             "(default); otter: master notebooks for `otter assign`")
    assign.set_defaults(run=_assign)

    grade = commands.add_parser(
        "grade", help="grade submitted notebooks into a CSV gradebook",
        description="Run each submission's exercise cells in its own OS sandbox (no network, "
                    "no files of yours, resource limits), probe its functions on fresh random "
                    "inputs, judge the results outside the sandbox, and write one CSV row per "
                    "submission as soon as it is graded.")
    grade.add_argument("submissions", nargs="+",
                       help="submitted .ipynb files, or folders: every .ipynb file below them")
    grade.add_argument("--out", default="grades.csv", help="gradebook (default: grades.csv)")
    grade.add_argument("--assignment", help="grade every submission as this solution notebook "
                                            "(its name without .ipynb); default: the one whose "
                                            "exercises the submission defines")
    grade.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell")
    grade.add_argument("--total-timeout", type=int, default=300,
                       help="seconds per submission")
    grade.add_argument("--jobs", type=int, default=1,
                       help="submissions graded in parallel (default: 1)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run submissions without the OS sandbox (only for code you trust; "
                            "recorded in the gradebook)")
    grade.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    grade.set_defaults(run=_grade)
    return parser


def _transfer(args):
    from .optimize import Interrupted
    from .preflight import check_positive, output_paths
    from .transfer import IMAGES_DIR, style_transfer

    if args.style and args.styles:
        raise NSTError("Give the style either as the second positional argument or with "
                       "--style, not both.")
    styles = [Path(path) for path in args.styles or ([args.style] if args.style else [])]
    if (args.content is None) != (not styles):
        raise NSTError("Give both a content and a style image, or neither for the demo.")
    content = Path(args.content) if args.content else IMAGES_DIR / DEFAULT_CONTENT
    styles = styles or [IMAGES_DIR / DEFAULT_STYLE]
    output = Path(args.output) if args.output else _new_result_path(content, styles)
    check_positive("memory_limit", args.memory_limit)  # in GB here, bytes in style_transfer
    style = styles if len(styles) > 1 else styles[0]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Interrupted)  # said below, in one line
        _, history = style_transfer(
            content, style, output, convnet=args.convnet, content_weight=args.content_weight,
            style_weights=args.style_weights, tv_weight=args.tv_weight,
            content_layer=args.content_layer, style_layers=args.style_layers,
            iterations=args.iterations, init=args.init, seed=args.seed,
            optimizer=args.optimizer, max_size=args.max_size, pooling=args.pooling,
            save_every=args.save_every, overwrite=args.overwrite,
            learning_rate=args.learning_rate, weights=args.weights or "imagenet",
            scales=args.scales,
            memory_limit=None if args.memory_limit is None else args.memory_limit * 1e9,
            preserve_color=args.preserve_color, style_blend=args.style_blend,
            style_scale=args.style_scale, style_masks=args.style_masks,
            adaptive_weights=args.adaptive_weights, init_noise=args.init_noise,
            animation=args.animation, animation_every=args.animation_every)
    last = history[-1]
    saved = output_paths(output)[0]
    if args.stop.signum is not None:
        print(f"nst: stopped by {args.stop.name} after {last['iteration']} of "
              f"{args.iterations} iterations; the best image so far is saved in {saved}.",
              file=sys.stderr)
        return args.stop.status
    terms = ", ".join(f"{name} {value:.3g}" for name, value in last.items()
                      if name not in ("iteration", "evaluations", "seconds", "scale"))
    print(f"Saved {saved} after {last['iteration']} iterations, {last['evaluations']} "
          f"evaluations, {time.perf_counter() - started:.0f} s in all ({terms}).")
    return 0


def _new_result_path(content, styles):
    """results/<content>_in_the_style_of_<style>[_and_<style>...].png, numbered so nothing is
    overwritten."""
    stem = f"{Path(content).stem}_in_the_style_of_{'_and_'.join(Path(s).stem for s in styles)}"
    candidate = Path("results") / f"{stem}.png"
    number = 1
    while candidate.exists():
        number += 1
        candidate = Path("results") / f"{stem}_{number}.png"
    return candidate


def _weights(args):
    from .weights import fetch_all

    for convnet, path in fetch_all().items():
        print(f"{convnet}: {path}")


def _assign(args):
    from .grading import SOURCE_DIR, TARGETS, assign

    # Without SOURCE the output goes to the current folder, never into an installed package.
    out = args.out or (None if args.source else Path("notebooks") / TARGETS[args.format])
    for path in assign(args.source or SOURCE_DIR, out, args.format):
        print(f"wrote {path}")


def _grade(args):
    from .grading import Gradebook, Options, grade, shown, submissions_in

    for name in ("cell_timeout", "total_timeout", "jobs"):
        if getattr(args, name) < 1:
            raise NSTError(f"--{name.replace('_', '-')} must be at least 1, got "
                           f"{getattr(args, name)}.")
    submissions = submissions_in(args.submissions)
    gradebook = Gradebook(args.out, len(submissions), overwrite=args.overwrite)

    def on_row(index, row):
        gradebook.add(index, row)
        print(f"{row['submission']}: {row['total']}/{row['max']}", flush=True)

    try:
        grade(submissions, Options(args.cell_timeout, args.total_timeout, not args.no_sandbox,
                                   args.assignment), args.jobs, on_row)
    except KeyboardInterrupt:
        graded = sum(row is not None for row in gradebook.rows)
        print(f"nst: stopped by {args.stop.name}: {graded} of {len(submissions)} submissions "
              f"graded, in {shown(gradebook.path) if graded else 'no gradebook'}.",
              file=sys.stderr)
        return args.stop.status
    if gradebook.path != Path(args.out):
        print(f"'{shown(args.out)}' was replaced by another program while grading; it was left "
              "alone.")
    print(f"wrote {shown(gradebook.path)}")
