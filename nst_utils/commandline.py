"""The `nst` command's arguments: parsed, and checked, without loading Keras.

Loading Keras and TensorFlow takes seconds, which a typo or `--help` should not wait for. This
module imports only the standard library and nst_utils' light modules (`defaults`, `errors`,
`bundled`, `grader.submissions`); `check` uses `preflight` (NumPy and Pillow) for everything
`style_transfer()` checks before its first model run. `nst_command` runs `check` before the
package's `__init__` (which imports Keras), and `nst_utils.cli` runs the command itself.
"""

import argparse
import functools
from pathlib import Path

from .bundled import IMAGES_DIR
from .defaults import DEFAULTS, NAMES
from .errors import NSTError
from .grader.submissions import submissions_in

#: What `nst transfer` paints when given no images: the demo.
DEFAULT_CONTENT = "chelsea.jpg"
DEFAULT_STYLE = "scream.jpg"
#: Where results go when no output is named.
RESULTS = Path("results")


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake answered in one line that points to --help."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'.\n")


class _Formatter(argparse.HelpFormatter):
    """Every option that has a default shows it, lists written as they are typed."""

    def _get_help_string(self, action):
        default = action.default
        if (action.help is None or default is None or default is False
                or default == argparse.SUPPRESS or not action.option_strings):
            return action.help
        if isinstance(default, (list, tuple)):
            default = " ".join(f"{value:g}" if isinstance(value, float) else str(value)
                               for value in default)
        elif isinstance(default, float):
            default = f"{default:g}"
        return f"{action.help} (default: {default})"


def parse(argv=None):
    """`argv` (default: the command line's) parsed: the arguments, or None with the help printed
    when no command was given. A usage mistake exits with status 2 and one line naming the
    (sub)command's --help."""
    nst = parser()
    args, unknown = nst.parse_known_args(argv)
    command = getattr(args, "command", None)
    if unknown:  # argparse would blame the top-level parser, whose --help does not list them
        (nst.commands.choices[command] if command else nst).error(
            f"unrecognized arguments: {' '.join(unknown)}")
    if command is None:
        nst.print_help()
    return None if command is None else args


def parser():
    """The `nst` command's argument parser."""
    nst = _Parser(prog="nst", formatter_class=_Formatter,
                  description="Neural style transfer (Gatys et al. 2016) with Keras 3.")
    commands = nst.commands = nst.add_subparsers(title="commands")
    _transfer_parser(commands)
    commands.add_parser("weights", help="fetch VGG16 and VGG19 ImageNet weights",
                        formatter_class=_Formatter).set_defaults(command="weights")

    assign = commands.add_parser(
        "assign", help="write the student versions of the notebooks", formatter_class=_Formatter,
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
                        help="nbgrader: the student versions, as nbgrader releases them; "
                             "otter: master notebooks for `otter assign`")
    assign.set_defaults(command="assign")

    grade = commands.add_parser(
        "grade", help="grade submitted notebooks into a CSV gradebook", formatter_class=_Formatter,
        description="Run each submission's exercise cells in its own OS sandbox (no network, "
                    "no files of yours, resource limits), probe its functions on fresh random "
                    "inputs, judge the results outside the sandbox, and write one CSV row per "
                    "submission as soon as it is graded.")
    grade.add_argument("submissions", nargs="+",
                       help="submitted .ipynb files, or folders: every .ipynb file below them")
    grade.add_argument("--out", default="grades.csv", help="gradebook")
    grade.add_argument("--assignment", help="grade every submission as this solution notebook "
                                            "(its name without .ipynb); default: the one whose "
                                            "exercises the submission defines")
    grade.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell")
    grade.add_argument("--total-timeout", type=int, default=300,
                       help="seconds per submission")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run submissions without the OS sandbox (only for code you trust; "
                            "recorded in the gradebook)")
    grade.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    grade.set_defaults(command="grade")
    return nst


def _transfer_parser(commands):
    transfer = commands.add_parser(
        "transfer", help="paint a content image in the style of another",
        formatter_class=_Formatter,
        description="Paint CONTENT in the style of STYLE. With no images, paints the bundled "
                    f"{DEFAULT_CONTENT} in the style of {DEFAULT_STYLE} (the demo). The "
                    "defaults below are style_transfer()'s in Python too (nst_utils.defaults."
                    "DEFAULTS: the demo preset).")
    add = transfer.add_argument
    add("content", nargs="?", help="content image (a photo)")
    add("style", nargs="?", help="style image (a painting)")
    add("-o", "--output",
        help="output image (.png is added to a name without an image extension); a folder: a "
             "new file in it named after the images; default: a new file in results/")
    add("--max-size", type=int, default=DEFAULTS["max_size"],
        help="longest side of the output in pixels")
    add("--iterations", type=int, default=DEFAULTS["iterations"],
        help="optimizer iterations at full size, and at most as many at each coarse scale, "
             "which ends sooner once its loss levels off")
    add("--convnet", choices=NAMES["convnet"], default=DEFAULTS["convnet"], help="the network")
    add("--pooling", choices=NAMES["pooling"], default=DEFAULTS["pooling"],
        help="VGG's pooling: max, or avg as the paper suggests")
    add("--init", default=DEFAULTS["init"],
        help=f"where the optimisation starts: {', '.join(NAMES['init'])} or an image path")
    add("--optimizer", choices=NAMES["optimizer"], default=DEFAULTS["optimizer"],
        help="lbfgs-restarts: the homework's restarts of 20 evaluations")
    add("--learning-rate", type=float, help="step size for adam and gd")
    add("--seed", type=int, default=DEFAULTS["seed"], help="seed of the noise")
    add("--content-weight", type=float, default=DEFAULTS["content_weight"],
        help="weight of the content loss")
    add("--style-weights", type=float, nargs="+", metavar="WEIGHT",
        default=list(DEFAULTS["style_weights"]), help="one weight per style layer")
    add("--tv-weight", type=float, default=DEFAULTS["tv_weight"],
        help="weight of the total variation loss")
    add("--content-layer", default=DEFAULTS["content_layer"], help="layer matched for content")
    add("--style-layers", nargs="+", metavar="LAYER", default=DEFAULTS["style_layers"],
        help="layers matched for style")
    add("--save-every", type=int, metavar="N", help="also save every N iterations")
    add("--animation", metavar="GIF", help="also write the optimisation as an animated GIF")
    add("--animation-every", type=int, default=DEFAULTS["animation_every"], metavar="N",
        help="iterations between two frames of the animation")
    add("--weights", default="imagenet", help="ImageNet's, or a weights file to use instead")
    add("--overwrite", action="store_true", help="replace the output file if it exists")
    # The default is the fastest recipe at equal quality: benchmarks/default_recipe.py
    add("--scales", type=float, nargs="+", metavar="FRACTION", default=list(DEFAULTS["scales"]),
        help="coarse-to-fine fractions of the size, ending with 1; see --iterations")
    add("--memory-limit", type=float, metavar="GB",
        help="memory the run may use (default: what is available now)")
    beyond = transfer.add_argument_group("beyond Gatys 2016 (Gatys et al. 2017)")
    beyond.add_argument("--style", nargs="+", dest="styles", metavar="STYLE",
                        help="one or more style images, instead of the positional STYLE")
    beyond.add_argument("--style-blend", type=float, nargs="+", metavar="WEIGHT",
                        help="one weight per style, normalised to sum 1 (default: equal)")
    beyond.add_argument("--style-masks", nargs="+", metavar="MASK",
                        help="one mask image per style, white where that style goes")
    beyond.add_argument("--style-scale", type=float, default=DEFAULTS["style_scale"],
                        help="style size as a multiple of the content's; smaller gives "
                             "smaller brush strokes")
    beyond.add_argument("--preserve-color", choices=NAMES["preserve_color"],
                        help="keep the content's colours: transfer on luminance only, or match "
                             "the style's colour histogram to the content first")
    beyond.add_argument("--adaptive-weights", action="store_true",
                        help="divide each loss term by its magnitude; the weights become "
                             "relative importances")
    beyond.add_argument("--init-noise", type=float, default=DEFAULTS["init_noise"],
                        help="share of noise mixed into the start, 0-1")
    transfer.set_defaults(command="transfer")


def transfer_call(args):
    """The `style_transfer()` call `nst transfer` makes: (content, style, output, keywords)."""
    if args.style and args.styles:
        raise NSTError("Give the style either as the second positional argument or with "
                       "--style, not both.")
    styles = [Path(path) for path in args.styles or ([args.style] if args.style else [])]
    if (args.content is None) != (not styles):
        raise NSTError("Give both a content and a style image, or neither for the demo.")
    content = Path(args.content) if args.content else IMAGES_DIR / DEFAULT_CONTENT
    styles = styles or [IMAGES_DIR / DEFAULT_STYLE]
    if args.output is None:
        output = new_result_path(RESULTS, content, styles)
    elif Path(args.output).is_dir():  # as cp does: a new file inside the folder
        output = new_result_path(Path(args.output), content, styles)
    else:
        output = Path(args.output)
    keywords = {name: getattr(args, name) for name in transfer_keywords()}
    keywords["memory_limit"] = _bytes(args.memory_limit)  # typed in GB
    return content, styles if len(styles) > 1 else styles[0], output, keywords


@functools.cache
def transfer_keywords():
    """The `nst transfer` options that are `style_transfer()` keywords of the same name
    (``--max-size`` is ``max_size``): every option but --help, --output and --style, which
    name the images; read once from the parser."""
    transfer = parser().commands.choices["transfer"]
    return tuple(action.dest for action in transfer._actions
                 if action.option_strings and action.dest not in ("help", "output", "styles"))


def _bytes(gigabytes):
    """--memory-limit in bytes, as style_transfer() takes it, checked in the GB typed."""
    from .preflight import check_positive

    limit = check_positive("memory_limit", gigabytes)
    return None if limit is None else limit * 1e9


def new_result_path(folder, content, styles):
    """folder/<content>_in_the_style_of_<style>[_and_<style>...].png, numbered so nothing is
    overwritten."""
    stem = f"{Path(content).stem}_in_the_style_of_{'_and_'.join(Path(s).stem for s in styles)}"
    candidate = folder / f"{stem}.png"
    number = 1
    while candidate.exists():
        number += 1
        candidate = folder / f"{stem}_{number}.png"
    return candidate


def check(args):
    """Raise NSTError for any mistake in `args` that needs no model run to find."""
    if args.command == "transfer":
        from .preflight import plan_transfer

        content, style, output, keywords = transfer_call(args)
        plan_transfer(content, style, output, **keywords)
    elif args.command == "grade":
        for name in ("cell_timeout", "total_timeout", "jobs"):
            if getattr(args, name) < 1:
                raise NSTError(f"--{name.replace('_', '-')} must be at least 1, got "
                               f"{getattr(args, name)}.")
        submissions_in(args.submissions)
