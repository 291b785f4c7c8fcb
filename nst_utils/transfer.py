"""`style_transfer()`: Gatys et al.'s method end to end, with the course homework's signature."""

import sys

import numpy as np
from tqdm.auto import tqdm

from .animation import Animation
from .bundled import IMAGES_DIR  # noqa: F401 - the notebooks know it as nst.transfer.IMAGES_DIR
from .color import (check_preserve_color, luminance_image, match_color_histogram,
                    recombine_luminance)
from .errors import NSTError, option
from .files import write_or_fall_back
from .images import (VGG_MEAN_BGR, deprocess_image, image_size, image_writer, load_image,
                     preprocess_image, resize, save_image)
from .losses import (feature_reconstruction_loss, normalized_gram, style_loss_to_target,
                     total_variation_loss)
from .memory import check_memory, truncated_table
from .models import build_vgg
from .optimize import OPTIMIZERS, Evaluator, OwnEvaluator, minimize
from .preflight import (as_list, check_choice, check_count, check_image, check_init,
                        check_number, check_outputs, check_positive, check_weight,
                        check_weights, image_list, planned_outputs)
from .regions import layer_masks, load_masks

STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
#: style_scale: the style image's longest side as a multiple of the content's, at most this far
#: from 1 (smaller styles lose all structure at the deep layers, larger ones cost memory).
STYLE_SCALE_RANGE = (0.1, 4.0)

#: With jit_compile="auto", XLA is used from this many pixels on: measured on 2 CPU cores with
#: VGG19 (benchmarks/README.md), XLA is 1.5x faster per evaluation at 256x170 pixels but no
#: faster at 128x85, where its few seconds of compilation are not repaid.
XLA_MIN_PIXELS = 200 * 200


def style_transfer(base_img_path, style_img_path, output_img_path, convnet="vgg16",
                   content_weight=3e-2, style_weights=(20000, 500, 12, 1, 1), tv_weight=5e-2,
                   content_layer="block4_conv2", style_layers=STYLE_LAYERS, iterations=50, *,
                   init="content", seed=0, optimizer="lbfgs", max_size=None, pooling="max",
                   save_every=None, overwrite=False, learning_rate=None, weights="imagenet",
                   jit_compile="auto", scales=(0.5, 1.0), memory_limit=None, preserve_color=None,
                   style_blend=None, style_scale=1.0, style_masks=None, adaptive_weights=False,
                   init_noise=0.0, animation=None, animation_every=10, callback=None,
                   progress=True, functions=None):
    """Paint the content of one image in the style of another; return (image, history).

    The positional arguments and their meaning are the course homework's (except that
    `style_img_path` may also be a list of styles, see `style_blend`): the loss is
    ``content_weight * J_C + sum_l style_weights[l] / len(style_layers) * J_S[l] + tv_weight * J_tv``
    on the activations of `convnet`. The result is saved to `output_img_path` (``.png`` is added
    when it has no image extension).

    The defaults of `init` and `scales` are the fastest recipe measured, not the homework's:
    starting from the content image, at half size then at full size, reaches the final loss of
    the homework's noise start at full size in under half its CPU time
    (`benchmarks/default_recipe.py`). ``init="noise", scales=(1.0,)`` gives the homework's run.

    Keyword options:
        init: where the optimisation starts: "content" (default), "noise" (the homework's
            uniform noise), "style" (the first style), or the path of any image.
        init_noise: the share of noise mixed into the start, in [0, 1]: 0.3 starts from 70 %
            `init` and 30 % of the (seeded) noise.
        seed: seeds the noise, so a run is reproducible.
        optimizer: "lbfgs" (one run of `iterations` iterations), "lbfgs-restarts" (the homework's
            `iterations` restarts of 20 evaluations each), "adam" or "gd".
        max_size: shrink the content image so its longest side is at most this (pixels).
        pooling: "max" or "avg" pooling in VGG.
        save_every: also save ``<output>_at_iteration_<n>.png`` every this many iterations.
        overwrite: replace existing output files instead of refusing to start.
        learning_rate: step size for "adam" and "gd".
        weights: "imagenet", or the path of a weights file for `convnet`.
        jit_compile: compile the loss and gradient with XLA: True, False, or "auto" (XLA for
            images of at least `XLA_MIN_PIXELS` pixels, decided at each scale).
        scales: coarse-to-fine: optimise at each of these fractions of the final size in turn,
            each starting from the previous result upsampled; default (0.5, 1.0). The last must
            be 1.0, and coarse scales at which an image would be too small for the deepest
            layer are skipped (their iterations go to the next scale). `iterations` is split
            equally between the scales (the coarse ones cost a fraction of the time per
            iteration), or may be a list with one count per scale.
        memory_limit: bytes the transfer may use; None means the memory available now. The
            transfer is refused before it starts if it is predicted not to fit (see
            `nst_utils.memory`).
        preserve_color: keep the content's colours (Gatys et al. 2017): "luminance" transfers
            style to the luminance only and puts the content's colour channels back (snapshots
            and callback images show the gray luminance being optimised); "histogram" first gives
            each style image the content's colour mean and covariance; None (default) does not.
        style_blend: with several styles, their weights (non-negative, normalised to sum 1;
            default equal): each style's style loss is scaled by its weight.
        style_scale: the style image's longest side as a multiple of the content's (default 1),
            in `STYLE_SCALE_RANGE`; smaller gives smaller brush strokes.
        style_masks: one mask per style (image paths or arrays, white where that style goes):
            each style is then matched only inside its region, with masked Gram matrices (see
            `nst_utils.regions`).
        adaptive_weights: divide each term by its own magnitude, measured at the start of each
            scale, so that every term starts at the value of its weight (content_weight, the
            mean of style_weights, tv_weight): the weights become relative importances, whatever
            the images' loss scales (see `adaptive_loss`).
        animation: also write the optimisation as an animated GIF to this path (``.gif`` is
            added when it has no extension): the start, the image every `animation_every`
            iterations, and the result (see `nst_utils.animation`).
        animation_every: iterations between two frames of the animation.
        callback: ``callback(iteration, image_uint8, record)`` after every iteration; during
            coarse scales the image is the smaller one being optimised.
        progress: show a progress bar.
        functions: the notebooks' exercise functions to use instead of the library's, as
            {name: function} (`nst_utils.exercises.ExerciseFunctions` is such a mapping):
            ``feature_reconstruction_loss``, ``style_reconstruction_loss`` and
            ``total_variation_loss`` inside the library's total loss, or
            ``weighted_transfer_loss`` (the exercise's signature: one style, no masks) for the
            whole of it, and ``Evaluator`` (a class with ``loss(x)`` and ``grads(x)``). Other
            names are ignored.

    Returns:
        The final image as uint8 RGB (H, W, 3), and the per-iteration loss history (a list of
        dicts, see `nst_utils.optimize.minimize`, each with the ``scale`` it was made at;
        iterations, evaluations and seconds count on across scales, while the losses are those
        of each scale's own problem, comparable only within a scale).
    """
    style_layers = list(style_layers)
    style_weights = check_weights("style_weights", style_weights, len(style_layers),
                                  "style layers")
    content_weight = check_weight("content_weight", content_weight)
    tv_weight = check_weight("tv_weight", tv_weight)
    styles = image_list("style_img_path", style_img_path)
    masks = None if style_masks is None else as_list("style_masks", style_masks)
    inputs = {"content image": check_image("base_img_path", base_img_path),
              **{f"style image {n}": style for n, style in enumerate(styles, 1)},
              **{f"mask {n}": mask for n, mask in enumerate(masks or [], 1)},
              "init image": check_init(init)}
    blend = _blend_weights(style_blend, len(styles))
    functions = _check_functions(functions, len(styles), masks)
    _check_beyond_options(preserve_color, style_scale, init_noise)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("pooling", pooling, ("max", "avg"))
    learning_rate = check_positive("learning_rate", learning_rate)
    memory_limit = check_positive("memory_limit", memory_limit)
    check_count("seed", seed, minimum=0)
    save_every = check_count("save_every", save_every, optional=True)
    max_size = check_count("max_size", max_size, optional=True)
    animation_every = check_count("animation_every", animation_every)
    scales, per_scale = _scale_plan(scales, iterations)
    final_path, snapshot, planned = planned_outputs(output_img_path, save_every, sum(per_scale),
                                                    animation)
    check_outputs(planned, inputs, overwrite)

    layers = [content_layer, *style_layers]
    truncated_table(convnet, layers)  # unknown layers: refused here, before reading images
    height, width = _result_dims(image_size(base_img_path), max_size)
    style_sizes = [image_size(style) for style in styles]
    _check_large_enough("content", (height, width), layers)  # before reading the images
    for style_size in style_sizes:
        _check_large_enough("style", style_dims(style_size, (height, width), style_scale),
                            layers, hint=style_scale != 1.0)
    scales, per_scale = _fitting_scales(
        scales, per_scale, lambda dims: [dims] + [style_dims(size, dims, style_scale)
                                                  for size in style_sizes],
        (height, width), layers)
    check_memory(height, width, convnet, layers, memory_limit,
                 xla=_use_xla(jit_compile, (height, width)))
    pairs = [_image_pair(base_img_path, styles, height, width, scale, style_scale,
                         preserve_color) for scale in scales]
    masks = [None if masks is None
             else load_masks(masks, content.shape[:2], len(styles)) for content, _ in pairs]
    extractor = build_vgg(convnet, pooling, layers, weights=weights)

    colorize = _colorizer(preserve_color, base_img_path, (height, width))
    movie = None if animation is None else Animation(animation, animation_every,
                                                     (height, width), colorize)
    history, best = [], None
    for scale, steps, (content, scale_styles), scale_masks in zip(scales, per_scale, pairs,
                                                                   masks):
        content_batch, style_batches = (preprocess_image(content),
                                        [preprocess_image(s) for s in scale_styles])
        if "weighted_transfer_loss" in functions:
            loss_fn = functions["weighted_transfer_loss"](
                extractor, content_batch, style_batches[0], content_layer, style_layers,
                content_weight, style_weights, tv_weight)
        else:
            loss_fn = weighted_transfer_loss(
                extractor, content_batch, style_batches, content_layer, style_layers,
                content_weight, style_weights, tv_weight, blend=blend, masks=scale_masks,
                functions=functions)
        x0 = (starting_image(init, content, scale_styles[0], seed, init_noise) if best is None
              else _upsample(best, content.shape[:2]))
        if adaptive_weights:
            noise = initial_image("noise", content, None, seed)
            loss_fn = adaptive_loss(loss_fn, x0, _importances(content_weight, style_weights,
                                                              tv_weight), noise)
        evaluator = (OwnEvaluator(functions["Evaluator"], loss_fn, x0.shape)
                     if "Evaluator" in functions else
                     Evaluator(loss_fn, x0.shape, jit_compile=_use_xla(jit_compile, content.shape)))
        if movie is not None and best is None:
            movie.add(0, deprocess_image(x0, *content.shape[:2]))
        on_iteration = _iteration_handler(content.shape[:2], save_every, snapshot, overwrite,
                                          callback, movie)
        best, scale_history = minimize(
            evaluator, x0, optimizer, steps, learning_rate, on_iteration, progress,
            continue_from=history[-1] if history else None, tags={"scale": scale})
        history += scale_history
        if evaluator.interrupted:  # Ctrl-C or SIGTERM: no further scales, keep what we have
            break
    if best.shape[1:3] != (height, width):
        best = _upsample(best, (height, width))
    optimised = deprocess_image(best, height, width)
    image = optimised if colorize is None else colorize(optimised)
    _save_result(final_path, image_writer(final_path, image), overwrite, "result")
    if movie is not None:
        movie.finish(history[-1]["iteration"], optimised)
        _save_result(movie.path, movie.writer(), overwrite, "animation")
    return image, history


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


def _save_result(path, write, overwrite, what):
    """Write a result; if its place fails (a full disk), write it elsewhere and say where.

    The run's work is never dropped: NSTError names the file that holds it.
    """
    written, failure = write_or_fall_back(path, write, overwrite)
    if failure is not None:
        raise NSTError(f"Could not write the {what} to '{path}' ({failure.strerror or failure}); "
                       f"it was saved to '{written}' instead.")


def _fitting_scales(scales, per_scale, images_at, dims, layers):
    """Drop the coarse scales at which the content or a style would be too small for `layers`;
    each dropped scale's iterations go to the next scale. Coarse scales only save time, so a
    small image is simply optimised at fewer of them (the final scale is kept and checked).

    `images_at(dims)` lists the (height, width) of every image the network sees for a result
    of size dims.
    """
    needed = _smallest_side(layers)
    kept, counts, carried = [], [], 0
    for scale, steps in zip(scales[:-1], per_scale[:-1]):
        if min(min(size) for size in images_at(_scaled(*dims, scale))) < needed:
            carried += steps
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


def _scaled(height, width, scale):
    """(height, width) at a fraction `scale` of the size."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def _scale_plan(scales, iterations):
    """Validated scales and the iterations to spend at each (an equal split of an int)."""
    scales = [check_positive("scales", scale, optional=False) for scale in scales]
    if not scales or scales[-1] != 1.0 or max(scales) > 1:
        raise NSTError(f"{option('scales')} must be fractions of the final size in (0, 1] "
                       f"ending with 1, such as 0.5 1; got {' '.join(map(str, scales))}.")
    if isinstance(iterations, (list, tuple)):
        per_scale = [check_count("iterations", count) for count in iterations]
        if len(per_scale) != len(scales):
            raise NSTError(f"Got {len(per_scale)} iteration counts for {len(scales)} scales; "
                           "give one count per scale, or a single total.")
    else:
        total = check_count("iterations", iterations)
        per_scale = [total // len(scales)] * len(scales)
        per_scale[-1] += total - sum(per_scale)  # the final scale gets the remainder
    if min(per_scale) < 1:
        raise NSTError(f"{option('iterations')} must be at least 1 per scale, got {iterations} "
                       f"for {len(scales)} scales.")
    return scales, per_scale


def _image_pair(base_img_path, styles, height, width, scale, style_scale=1.0,
                preserve_color=None):
    """The content and the list of style images for one scale of a height x width result.

    The images are those the network compares: with preserve_color="luminance" all are gray
    luminance images, with "histogram" the styles carry the content's colour statistics.
    """
    dims = _scaled(height, width, scale)
    content = load_image(base_img_path, size=dims)
    styles = [style_image(path, dims, style_scale) for path in styles]
    if preserve_color == "histogram":
        styles = [match_color_histogram(style, content) for style in styles]
    elif preserve_color == "luminance":
        styles = [luminance_image(style, like=content) for style in styles]
        content = luminance_image(content)
    return content, styles


def style_image(path, dims, style_scale=1.0):
    """A style image resized so its longest side is `style_scale` times the longest of dims.

    Gram matrices do not see the style image's size, but its brush strokes cover a fixed number
    of pixels, which the network's fixed-size filters then see as large or small.
    """
    return load_image(path, size=style_dims(image_size(path), dims, style_scale))


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


def _upsample(batch, dims):
    """A preprocessed batch resized to dims, in float (no rounding to uint8 in between)."""
    rgb = (np.reshape(batch, batch.shape[-3:]) + VGG_MEAN_BGR)[:, :, ::-1]
    return preprocess_image(resize(rgb, dims))


def _colorizer(preserve_color, base_img_path, dims):
    """What turns an optimised image into a result-like one: with preserve_color="luminance"
    the gray luminance gets the content's colours back; otherwise nothing (None)."""
    if preserve_color != "luminance":
        return None
    content = load_image(base_img_path, size=dims)
    return lambda image: recombine_luminance(image, content)


def _use_xla(jit_compile, dims):
    """Resolve jit_compile="auto" for an image of dims (height, width, ...): XLA where it pays
    off (see XLA_MIN_PIXELS)."""
    if jit_compile == "auto":
        return dims[0] * dims[1] >= XLA_MIN_PIXELS
    return bool(jit_compile)


def _iteration_handler(dims, save_every, snapshot, overwrite, callback, movie=None):
    """The per-iteration hook: save snapshots, keep animation frames and call the user's
    callback, with uint8 images."""
    def on_iteration(iteration, batch, record):
        image = deprocess_image(batch, *dims)
        if save_every and iteration % save_every == 0:
            try:
                save_image(snapshot(iteration), image, overwrite=overwrite)
            except (OSError, NSTError) as error:  # a snapshot is not worth the run
                tqdm.write(f"Could not save the snapshot '{snapshot(iteration)}' "
                           f"({getattr(error, 'strerror', None) or error}); going on.",
                           file=sys.stderr)
        if movie is not None:
            movie.add(iteration, image)
        if callback is not None:
            callback(iteration, image, record)

    return on_iteration


def weighted_transfer_loss(extractor, content_batch, style_batch, content_layer, style_layers,
                           content_weight, style_weights, tv_weight, *, blend=None, masks=None,
                           functions=None):
    """The total loss of Gatys et al. as a function of the generated image batch.

    Content features and style Gram matrices are computed once, here; the returned function
    gives a dict with the three weighted terms ``content``, ``style`` and ``tv``.

    `style_batch` may be a list of style batches (Gatys et al. 2017): their style losses are
    then summed with the weights `blend` (default: equal, summing to 1), and with `masks` (one
    content-sized (H, W) mask per style) each style is compared only inside its own region.

    `functions` may replace the three losses by a notebook's own (see `style_transfer`); an own
    ``style_reconstruction_loss`` compares the style's feature maps, not precomputed Gram
    matrices, and takes no masks.
    """
    functions = functions or {}
    content_loss = functions.get("feature_reconstruction_loss", feature_reconstruction_loss)
    tv_loss = functions.get("total_variation_loss", total_variation_loss)
    own_style = functions.get("style_reconstruction_loss")
    batches = style_batch if isinstance(style_batch, (list, tuple)) else [style_batch]
    blend = [1.0 / len(batches)] * len(batches) if blend is None else blend
    masks = [None] * len(batches) if masks is None else masks
    content_target = extractor(content_batch)[content_layer][0]
    styles = []
    for share, batch, mask in zip(blend, batches, masks):
        if share == 0:  # a style blended with weight 0 costs nothing
            continue
        style_features = extractor(batch)
        target = (lambda f: f) if own_style else normalized_gram
        styles.append(([target(style_features[layer][0]) for layer in style_layers],
                       [share * weight / len(style_layers) for weight in style_weights],
                       {} if mask is None else layer_masks(mask, style_layers)))

    def style_loss(features):
        total = 0.0
        for targets, weights, region in styles:
            for target, weight, layer in zip(targets, weights, style_layers):
                total += weight * (own_style(target, features[layer][0]) if own_style else
                                   style_loss_to_target(target, features[layer][0],
                                                        region.get(layer)))
        return total

    def loss(image):
        features = extractor(image)
        return {"content": content_weight * content_loss(content_target,
                                                         features[content_layer][0]),
                "style": style_loss(features), "tv": tv_weight * tv_loss(image)}

    return loss


def adaptive_loss(loss_fn, x0, importances, reference=None):
    """`loss_fn` with each term divided by its magnitude at x0 and multiplied by its importance.

    This is the normalisation of Hvass-Labs' style transfer tutorial: a term t becomes
    ``importance_t * t / (|t(x0)| + 1e-10)``, so every term starts at its importance whatever
    the images' loss scales. Hvass recomputes the divisors at every gradient step; we keep them
    fixed for one optimisation (style_transfer measures them again at each scale) because
    L-BFGS's line search and the best-image bookkeeping need one fixed objective. A term that
    is zero at x0 (the content term when starting from the content image) is measured at
    `reference` instead, as dividing by ~0 would freeze the image there.
    """
    def magnitudes(batch):
        return {name: abs(float(value)) for name, value in loss_fn(batch).items()}

    start = magnitudes(x0)
    if reference is not None and min(start.values()) <= 1e-10:
        fallback = magnitudes(reference)
        start = {name: value if value > 1e-10 else fallback[name]
                 for name, value in start.items()}
    factors = {name: importances[name] / (value + 1e-10) for name, value in start.items()}

    def loss(image):
        return {name: factors[name] * value for name, value in loss_fn(image).items()}

    return loss


def _importances(content_weight, style_weights, tv_weight):
    """The terms' importances under adaptive weights: each term's weight (style: the mean)."""
    return {"content": float(content_weight), "style": float(np.mean(style_weights)),
            "tv": float(tv_weight)}


def starting_image(init, content, style, seed=0, init_noise=0.0):
    """`initial_image` mixed with the seeded noise: (1 - init_noise) * init + init_noise * noise.

    init_noise=0 gives `initial_image` exactly; the same seed gives the same start.
    """
    start = initial_image(init, content, style, seed)
    if not init_noise:
        return start
    noise = initial_image("noise", content, style, seed)
    return ((1.0 - init_noise) * start + init_noise * noise).astype(np.float32)


def initial_image(init, content, style, seed=0):
    """The starting batch (preprocessed) for `init` = "noise", "content", "style" or a path."""
    height, width = content.shape[:2]
    if isinstance(init, str) and init == "noise":
        # The homework's start: uniform noise over the whole colour range, centred on zero.
        rng = np.random.default_rng(seed)
        return (rng.uniform(0, 255, (1, height, width, 3)) - 128.0).astype(np.float32)
    if isinstance(init, str) and init == "content":
        return preprocess_image(content)
    if isinstance(init, str) and init == "style":
        return preprocess_image(resize(style, (height, width)))
    return preprocess_image(load_image(check_init(init), size=(height, width)))


def _check_large_enough(name, dims, layers, hint=False):
    """Refuse an image of dims (height, width) too small to have any pixel left at the deepest
    layer's resolution.

    With `hint`, the message also points at style_scale (which made the image this small).
    """
    needed = _smallest_side(layers)
    height, width = dims
    if min(height, width) < needed:
        raise NSTError(f"The {name} image is {width}x{height} pixels after resizing, too small "
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
