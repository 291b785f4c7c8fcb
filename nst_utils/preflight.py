"""What `style_transfer()` checks before any work, so that a mistake costs seconds, not a run.

Numbers (weights, counts, rates, sizes), the kinds of the image arguments (paths or arrays), and
every output: the final image, the snapshots and the animation must be creatable where they are
asked for, must not replace an existing file without `overwrite`, and never one of the transfer's
own inputs. Messages name options as the user wrote them (`nst_utils.errors.option`).
"""

import math
import numbers
import os
from pathlib import Path

import numpy as np

from .animation import animation_path
from .errors import NSTError, option
from .files import check_writable
from .images import image_array

#: File name endings `style_transfer` writes as they are; any other name gets ".png" added.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
INIT_NAMES = ("noise", "content", "style")


def check_weight(keyword, value):
    """A loss weight as a float, or NSTError: it must be a finite number >= 0."""
    number = check_number(keyword, value)
    if number < 0:
        raise NSTError(f"{option(keyword)} must not be negative, got {value}.")
    return number


def check_weights(keyword, values, count, per):
    """`count` loss weights (one per `per`) as floats, each a finite number >= 0."""
    values = [values] if np.ndim(values) == 0 else list(values)
    if len(values) != count:
        raise NSTError(f"Got {len(values)} {option(keyword)} for {count} {per}; give one "
                       f"weight per {per.rstrip('s')}.")
    return [check_weight(keyword, value) for value in values]


def check_positive(keyword, value, optional=True):
    """A finite number > 0 as a float (None passes when `optional`), or NSTError."""
    if value is None and optional:
        return None
    number = check_number(keyword, value)
    if number <= 0:
        raise NSTError(f"{option(keyword)} must be more than 0, got {value}.")
    return number


def check_count(keyword, value, minimum=1, optional=False):
    """A whole number >= `minimum` as an int (None passes when `optional`), or NSTError."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NSTError(f"{option(keyword)} must be a whole number, got {value!r}.")
    if value < minimum:
        raise NSTError(f"{option(keyword)} must be at least {minimum}, got {value}.")
    return int(value)


def check_choice(keyword, value, choices):
    """`value` if it is one of `choices`, else NSTError listing them."""
    if value not in choices:
        raise NSTError(f"Unknown {option(keyword)} {value!r}; choose one of "
                       f"{', '.join(map(repr, choices))}.")
    return value


def check_number(keyword, value):
    """`value` as a finite float, or NSTError naming `keyword`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise NSTError(f"{option(keyword)} must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise NSTError(f"{option(keyword)} must be a finite number, got {value}.")
    return float(value)


def is_path(value):
    """Whether an image argument is a file path (else it should be an array)."""
    return isinstance(value, (str, os.PathLike))


def check_image(keyword, value):
    """An image argument: a path is returned as it is, an array is checked (`image_array`)."""
    if is_path(value):
        return value
    if not isinstance(value, np.ndarray):
        raise NSTError(f"{option(keyword)} must be an image path or an image array (H, W, 3), "
                       f"got {type(value).__name__}.")
    image_array(value)
    return value


def image_list(keyword, value):
    """One image (a path, or a 2-D or 3-D array) or a list of them, as a checked list."""
    return [check_image(keyword, item) for item in as_list(keyword, value)]


def as_list(keyword, value):
    """One image or mask (a path or an array: never a list of its rows) or a list of them, as
    a list."""
    if is_path(value) or isinstance(value, np.ndarray):
        return [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise NSTError(f"{option(keyword)} must be an image path or array, or a list of them; "
                       f"got {value!r:.60}.")
    return list(value)


def check_init(init):
    """`init`: one of INIT_NAMES, an existing image path, or an image array."""
    if isinstance(init, str) and init in INIT_NAMES:
        return init
    if is_path(init) and not Path(init).exists():
        raise NSTError(f"{option('init')} must be 'noise', 'content', 'style' or an image path; "
                       f"got '{init}'.")
    return check_image("init", init)


def output_paths(output_img_path):
    """The final image's path (".png" added when the name has no image extension) and a
    function giving the n-th snapshot's path."""
    output = Path(output_img_path)
    if output.suffix.lower() in IMAGE_SUFFIXES:
        final, stem = output, output.with_suffix("")
    else:
        final, stem = Path(f"{output}.png"), output
    return final, lambda n: Path(f"{stem}_at_iteration_{n}.png")


def planned_outputs(output_img_path, save_every, iterations, animation):
    """(final path, snapshot path function, every path the run will write)."""
    final, snapshot = output_paths(output_img_path)
    planned = [final] + [snapshot(n) for n in range(1, iterations + 1)
                         if save_every and n % save_every == 0]
    if animation is not None:
        planned.append(animation_path(animation))
    return final, snapshot, planned


def check_outputs(planned, inputs, overwrite):
    """Refuse, before any work, outputs that would replace an input (even with `overwrite`),
    that exist (without it), or that cannot be written where they are asked for.

    Args:
        planned: the paths the run will write.
        inputs: {role: path or array} of the run's images ("content image", "mask 1", ...).
    """
    for path in planned:
        for role, source in inputs.items():
            if is_path(source) and _same_file(path, source):
                raise NSTError(f"The output '{path}' is the {role}; nst never writes over its "
                               "inputs. Choose another output name.")
    existing = [str(path) for path in planned if path.exists() and not path.is_dir()]
    if existing and not overwrite:
        raise NSTError(f"Output already exists: {', '.join(existing[:3])}. Choose another output "
                       f"name, or pass {option('overwrite', True)}.")
    probed = set()
    for path in planned:  # one probe per folder: the snapshots share the result's
        if path.is_dir() or path.parent not in probed:
            check_writable(path, overwrite)
            probed.add(path.parent)


def _same_file(output, source):
    """Whether the output path names the input file (the same path, or a link to it)."""
    output, source = Path(output), Path(source)
    if output.exists() and source.exists():
        return os.path.samefile(output, source)
    return output.resolve() == source.resolve()
