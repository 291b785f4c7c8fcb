"""What `style_transfer()` checks before any work, so that a mistake costs seconds, not a run.

Numbers (weights, counts, rates, sizes), the kinds of the image arguments (paths or arrays), the
images' sizes (read from their headers), the memory needed, and every output: the final image,
the snapshots and the animation must be creatable where they are asked for, must not replace an
existing file without `overwrite`, and never one of the transfer's own inputs. Messages name
options as the user wrote them (`nst_utils.errors.option`).

`plan_transfer` does all of it without Keras (NumPy and Pillow only), so that the `nst` command
answers a mistake before it loads TensorFlow.
"""

import math
import numbers
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .animation import animation_path
from .color import check_preserve_color
from .defaults import INIT_NAMES, TRANSFER, check_name
from .errors import NSTError, option
from .files import check_writable
from .images import image_array, image_size
from .memory import check_memory, truncated_table
from .regions import check_mask_count

#: File name endings `style_transfer` writes as they are; any other name gets ".png" added.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

#: style_scale: the style image's longest side as a multiple of the content's, at most this far
#: from 1 (smaller styles lose all structure at the deep layers, larger ones cost memory).
STYLE_SCALE_RANGE = (0.1, 4.0)

#: With jit_compile="auto", XLA is used from this many pixels on: measured on 2 CPU cores with
#: VGG19 (benchmarks/README.md), XLA is 1.5x faster per evaluation at 256x170 pixels but no
#: faster at 128x85, where its few seconds of compilation are not repaid.
XLA_MIN_PIXELS = 200 * 200


def plan_transfer(base_img_path, style_img_path, output_img_path, convnet, content_weight,
                  style_weights, tv_weight, content_layer, style_layers, iterations, *, init,
                  seed, optimizer, max_size, pooling, save_every, overwrite, learning_rate,
                  scales, memory_limit, preserve_color, style_blend, style_scale, style_masks,
                  init_noise, animation, animation_every, weights="imagenet",
                  jit_compile=TRANSFER["jit_compile"], adaptive_weights=False, callback=None,
                  progress=True, functions=None):
    """Check `style_transfer()`'s arguments (the same names) and return what it will do.

    `adaptive_weights`, `callback` and `progress` need no check. Raises NSTError for the first
    mistake. Returns a namespace of the checked values:
    content_layer, style_layers, layers, content_weight, style_weights, tv_weight, styles,
    masks, blend, functions, learning_rate, save_every, scales and per_scale (the scales the
    images are large enough for, and the iterations at each: a budget that a coarse scale may
    leave early when `level_off`, else an exact count), level_off, final_path, snapshot (the
    n-th snapshot's path), and the result's height and width.
    """
    style_layers = list(style_layers)
    style_weights = check_weights("style_weights", style_weights, len(style_layers),
                                  "style layers")
    content_weight = check_weight("content_weight", content_weight)
    tv_weight = check_weight("tv_weight", tv_weight)
    if not any([content_weight, tv_weight, *style_weights]):
        raise NSTError(f"{option('content_weight')}, {option('style_weights')} and "
                       f"{option('tv_weight')} are all 0, so nothing would change the starting "
                       "image; give at least one of them a positive value.")
    styles = image_list("style_img_path", style_img_path)
    masks = None if style_masks is None else as_list("style_masks", style_masks)
    if masks is not None:
        check_mask_count(masks, len(styles))
    inputs = {"content image": check_image("base_img_path", base_img_path),
              **{f"style image {n}": style for n, style in enumerate(styles, 1)},
              **{f"mask {n}": mask for n, mask in enumerate(masks or [], 1)},
              "init image": check_init(init)}
    blend = _blend_weights(style_blend, len(styles))
    functions = _check_functions(functions, len(styles), masks)
    _check_beyond_options(preserve_color, style_scale, init_noise)
    check_name("optimizer", optimizer)
    check_name("pooling", pooling)
    learning_rate = check_positive("learning_rate", learning_rate)
    memory_limit = check_positive("memory_limit", memory_limit)
    check_count("seed", seed, minimum=0)
    save_every = check_count("save_every", save_every, optional=True)
    max_size = check_count("max_size", max_size, optional=True)
    check_count("animation_every", animation_every)
    if weights not in ("imagenet", None) and not Path(weights).is_file():
        raise NSTError(f"{option('weights')} '{weights}' is not a file; give a Keras weights "
                       f"file for {convnet}, or leave it out for ImageNet's.")
    scales, per_scale = scale_plan(scales, iterations)
    # The rule was measured with L-BFGS only: other optimisers run every coarse budget in full
    level_off = optimizer == "lbfgs" and not isinstance(iterations, (list, tuple))
    final_path, snapshot, planned = planned_outputs(output_img_path, save_every, sum(per_scale),
                                                    animation)
    check_outputs(planned, inputs, overwrite)

    layers = [content_layer, *style_layers]
    truncated_table(convnet, layers)  # unknown layers: refused here, before reading images
    content_size = image_size(base_img_path)
    style_sizes = [image_size(style) for style in styles]
    for mask in masks or []:
        if is_path(mask):
            image_size(mask)  # a mask file that is missing or not an image: said now
    # Every image as given, then as the network will see it (max_size and style_scale shrink).
    for name, size in [("content", content_size), *[("style", size) for size in style_sizes]]:
        _check_large_enough(name, size, layers)
    height, width = _result_dims(content_size, max_size)
    _check_large_enough("content", (height, width), layers, resized=True)
    for style_size in style_sizes:
        _check_large_enough("style", style_dims(style_size, (height, width), style_scale),
                            layers, resized=True, hint=style_scale != 1.0)
    scales, per_scale = _fitting_scales(
        scales, per_scale, lambda dims: [dims] + [style_dims(size, dims, style_scale)
                                                  for size in style_sizes],
        (height, width), layers, carry=not level_off)
    check_memory(height, width, convnet, layers, memory_limit,
                 xla=use_xla(jit_compile, (height, width)))
    return SimpleNamespace(
        content_layer=content_layer, style_layers=style_layers, layers=layers,
        content_weight=content_weight, style_weights=style_weights, tv_weight=tv_weight,
        styles=styles, masks=masks, blend=blend, functions=functions,
        learning_rate=learning_rate, save_every=save_every, scales=scales, per_scale=per_scale,
        level_off=level_off, final_path=final_path, snapshot=snapshot, height=height, width=width)


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
        one = per.rstrip("s")
        raise NSTError(f"Got {len(values)} {option(keyword)} for {count} "
                       f"{one if count == 1 else per}; give one weight per {one}.")
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
        raise NSTError(f"{option('init')} must be {', '.join(map(repr, INIT_NAMES))} or an "
                       f"image path; got '{init}'.")
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


def _check_functions(functions, styles, masks):
    """The exercise functions to use as a dict; refuse those the options cannot use."""
    functions = dict(functions or {})
    if "weighted_transfer_loss" in functions and (styles > 1 or masks is not None):
        raise NSTError("Your own weighted_transfer_loss takes one style and no masks; use the "
                       "library's for several styles or style_masks.")
    if "style_reconstruction_loss" in functions and masks is not None:
        raise NSTError("Your own style_reconstruction_loss has no masks; use the library's "
                       "with style_masks.")
    return functions


def _fitting_scales(scales, per_scale, images_at, dims, layers, carry=True):
    """Drop the coarse scales at which the content or a style would be too small for `layers`;
    with `carry` (exact counts per scale), each dropped scale's iterations go to the next scale.
    Coarse scales only save time, so a small image is simply optimised at fewer of them (the
    final scale is kept and checked).

    `images_at(dims)` lists the (height, width) of every image the network sees for a result
    of size dims.
    """
    needed = _smallest_side(layers)
    kept, counts, carried = [], [], 0
    for scale, steps in zip(scales[:-1], per_scale[:-1]):
        if min(min(size) for size in images_at(scaled(*dims, scale))) < needed:
            carried += steps if carry else 0
        else:
            kept, counts, carried = kept + [scale], counts + [steps + carried], 0
    return kept + scales[-1:], counts + [per_scale[-1] + carried]


def _result_dims(size, max_size):
    """The result's (height, width): the content's size, shrunk to `max_size` if larger."""
    height, width = size
    if max_size is not None and max(height, width) > max_size:
        factor = max_size / max(height, width)
        return max(1, round(height * factor)), max(1, round(width * factor))
    return height, width


def scaled(height, width, scale):
    """(height, width) at a fraction `scale` of the size."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def scale_plan(scales, iterations):
    """Validated scales and the iterations to spend at each: a list gives one count per scale;
    an int is the final scale's count and every coarse scale's budget, which `style_transfer`
    leaves with L-BFGS as soon as the coarse scale's loss levels off (`plan_transfer`'s
    `level_off`, `optimize.levelled_off`)."""
    scales = [check_positive("scales", scale, optional=False) for scale in scales]
    if not scales or scales[-1] != 1.0 or max(scales) > 1:
        raise NSTError(f"{option('scales')} must be fractions of the final size in (0, 1] "
                       f"ending with 1, such as 0.5 1; got {' '.join(map(str, scales))}.")
    if isinstance(iterations, (list, tuple)):
        per_scale = [check_count("iterations", count) for count in iterations]
        if len(per_scale) != len(scales):
            raise NSTError(f"Got {len(per_scale)} iteration counts for {len(scales)} scales; "
                           "give one count per scale, or a single count.")
    else:
        per_scale = [check_count("iterations", iterations)] * len(scales)
    return scales, per_scale


def style_dims(style_size, dims, style_scale=1.0):
    """The (height, width) `style_image` gives a style of `style_size` for a result of dims."""
    height, width = style_size
    factor = style_scale * max(dims) / max(height, width)
    return max(1, round(height * factor)), max(1, round(width * factor))


def _blend_weights(style_blend, count):
    """The styles' blend weights, validated and normalised to sum 1 (default: equal)."""
    if style_blend is None:
        return [1.0 / count] * count
    weights = check_weights("style_blend", style_blend, count, "styles")
    if sum(weights) <= 0:
        raise NSTError(f"{option('style_blend')} must have at least one positive weight; got "
                       f"{' '.join(map(str, weights))}.")
    return [weight / sum(weights) for weight in weights]


def _check_beyond_options(preserve_color, style_scale, init_noise):
    """Refuse an unknown preserve_color, a style_scale out of range or init_noise outside [0, 1]."""
    check_preserve_color(preserve_color)
    low, high = STYLE_SCALE_RANGE
    if not low <= check_number("style_scale", style_scale) <= high:
        raise NSTError(f"{option('style_scale')} must be between {low} and {high} (a multiple "
                       f"of the content's size), got {style_scale}.")
    if not 0.0 <= check_number("init_noise", init_noise) <= 1.0:
        raise NSTError(f"{option('init_noise')} must be a fraction between 0 and 1, got "
                       f"{init_noise}.")


def use_xla(jit_compile, dims):
    """Resolve jit_compile="auto" for an image of dims (height, width, ...): XLA where it pays
    off (see XLA_MIN_PIXELS)."""
    if jit_compile == "auto":
        return dims[0] * dims[1] >= XLA_MIN_PIXELS
    return bool(jit_compile)


def _check_large_enough(name, dims, layers, resized=False, hint=False):
    """Refuse an image of dims (height, width) too small to have any pixel left at the deepest
    layer's resolution: the same minimum for the content and the style images, as given
    (a style is never stretched up from a few pixels) and once resized (`resized`).

    With `hint`, the message also points at style_scale (which made the image this small).
    """
    needed = _smallest_side(layers)
    height, width = dims
    if min(height, width) < needed:
        raise NSTError(f"The {name} image is {width}x{height} pixels"
                       f"{' after resizing' if resized else ''}, too small "
                       f"for layer block{_deepest_block(layers)}_*, which needs at least "
                       f"{needed} pixels on each side. Use a larger (or less elongated) image, "
                       f"a larger {option('style_scale') + ', ' if hint else ''}"
                       f"{option('max_size')}, or shallower layers.")


def _deepest_block(layers):
    """The number of the deepest VGG block among `layers` ("block4_conv2" is in block 4)."""
    return max(int(layer[5]) for layer in layers if layer.startswith("block"))


def _smallest_side(layers):
    """The fewest pixels an image side needs so that the deepest of `layers` has one: each
    block before it halves the size."""
    return 2 ** (_deepest_block(layers) - 1)
