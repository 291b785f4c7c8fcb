"""`style_transfer()`: Gatys et al.'s method end to end, with the course homework's signature.

It reads in three steps: check everything (`preflight.plan_transfer`), plan the stages (one per
scale: `plan_stages`), and optimise the image stage after stage (`stage_loss`, `minimize`).
"""

import sys
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from .animation import Animation
from .bundled import IMAGES_DIR  # noqa: F401 - the notebooks know it as nst.transfer.IMAGES_DIR
from .color import luminance_image, match_color_histogram, recombine_luminance
from .defaults import DEFAULTS, STYLE_LAYERS  # noqa: F401 - STYLE_LAYERS: nst.STYLE_LAYERS
from .errors import NSTError
from .files import write_or_fall_back
from .images import (
    VGG_MEAN_BGR,
    deprocess_image,
    image_size,
    image_writer,
    load_image,
    preprocess_image,
    resize,
    save_image,
)
from .losses import (
    feature_reconstruction_loss,
    normalized_gram,
    style_loss_to_target,
    total_variation_loss,
)
from .models import build_vgg
from .optimize import Evaluator, OwnEvaluator, minimize
from .preflight import check_init, plan_transfer, scaled, style_dims, use_xla
from .regions import layer_masks, load_masks


def style_transfer(base_img_path, style_img_path, output_img_path,
                   convnet=DEFAULTS["convnet"], content_weight=DEFAULTS["content_weight"],
                   style_weights=DEFAULTS["style_weights"], tv_weight=DEFAULTS["tv_weight"],
                   content_layer=DEFAULTS["content_layer"],
                   style_layers=DEFAULTS["style_layers"], iterations=DEFAULTS["iterations"], *,
                   init=DEFAULTS["init"], seed=DEFAULTS["seed"],
                   optimizer=DEFAULTS["optimizer"], max_size=DEFAULTS["max_size"],
                   pooling=DEFAULTS["pooling"], save_every=None, overwrite=False,
                   learning_rate=None, weights="imagenet", jit_compile=DEFAULTS["jit_compile"],
                   scales=DEFAULTS["scales"], memory_limit=None, preserve_color=None,
                   style_blend=None, style_scale=DEFAULTS["style_scale"], style_masks=None,
                   adaptive_weights=False, init_noise=DEFAULTS["init_noise"], animation=None,
                   animation_every=DEFAULTS["animation_every"], callback=None, progress=True,
                   functions=None):
    """Paint the content of one image in the style of another; return (image, history).

    The positional arguments and their meaning are the course homework's (except that
    `style_img_path` may also be a list of styles, see `style_blend`): the loss is ``content_weight
    * J_C + sum_l style_weights[l] / len(style_layers) * J_S[l] + tv_weight * J_tv`` on the
    activations of `convnet`. The result is saved to `output_img_path` (``.png`` is added
    when it has no image extension).

    The defaults are those of the `nst transfer` command, `nst_utils.defaults.DEFAULTS`: the
    "demo" preset (the homework's "starry_tubingen" weights, 65 iterations, the content shrunk
    to 384 px; see `nst_utils.defaults.DEFAULT_PRESET` for why) and the fastest recipe measured,
    not the homework's: starting from the content image, at half size until its loss levels off
    then at full size, reaches the loss of 500 plain full-size iterations in 0.41-0.52x their
    CPU time at 256 px and 0.68-0.74x at 384 (`benchmarks/time_to_quality.py`). The
    homework's own defaults are a preset: ``style_transfer(a, b, out, **PRESETS["homework"])``
    (from `nst_utils.defaults`), with ``init="noise", scales=(1.0,)`` for the homework's run.

    The transfer is a plan of stages, one per scale (`plan_stages`), and one optimisation per
    stage: the loss of the stage's images (`stage_loss`), minimised over the image's pixels from
    `init` at the first stage and from the previous stage's result, upsampled, at the next.

    Keyword options:
        init: where the optimisation starts: "content" (default), "noise" (the homework's
            uniform noise), "style" (the first style), "average" (the mean of the content and
            the first style), or the path of any image.
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
            images of at least `preflight.XLA_MIN_PIXELS` pixels, decided at each scale).
        scales: coarse-to-fine: optimise at each of these fractions of the final size in turn,
            each starting from the previous result upsampled; default (0.5, 1.0). The last must
            be 1.0, and coarse scales at which an image would be too small for the deepest
            layer are skipped. An int `iterations` is the count at full size and each coarse
            scale's budget: a coarse scale moves up when its loss levels off
            (`optimize.levelled_off`; with L-BFGS, the optimiser it was measured with) or its
            budget is spent, since from there on its cheap
            iterations buy less than full-size ones (`benchmarks/README.md`, issue 21). A list
            gives one exact count per scale instead (a skipped scale's count then goes to the
            next scale).
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
            in `preflight.STYLE_SCALE_RANGE`; smaller gives smaller brush strokes.
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
    # Every argument is checked, and every output tried, before any image is decoded.
    plan = plan_transfer(**locals())  # this function's arguments, all by name
    stages = plan_stages(base_img_path, plan, style_scale, preserve_color)
    extractor = build_vgg(convnet, pooling, plan.layers, weights=weights)
    colorize = _colorizer(preserve_color, base_img_path, (plan.height, plan.width))
    movie = None if animation is None else Animation(animation, animation_every,
                                                     (plan.height, plan.width), colorize)
    history, best = [], None
    for stage in stages:  # coarse to fine: each scale starts from the previous one's result
        # The loss of Gatys et al. for this scale's images: content features, style Grams.
        loss_fn = stage_loss(extractor, stage, plan)
        # Where the optimisation starts: `init` at the first scale, else the result so far.
        x0 = (starting_image(init, stage.content, stage.styles[0], seed, init_noise)
              if best is None else _upsample(best, stage.dims))
        if adaptive_weights:  # each term divided by its size here, times its weight
            loss_fn = adaptive_loss(loss_fn, x0, _importances(plan),
                                    initial_image("noise", stage.content, None, seed))
        evaluator = _evaluator(loss_fn, x0.shape, plan.functions, use_xla(jit_compile,
                                                                          stage.dims))
        if movie is not None and best is None:
            movie.add(0, deprocess_image(x0, *stage.dims))
        # Minimise the loss over the image's pixels, from x0.
        best, stage_history = minimize(
            evaluator, x0, optimizer, stage.iterations, plan.learning_rate,
            _iteration_handler(stage.dims, plan.save_every, plan.snapshot, overwrite, callback,
                               movie),
            progress, continue_from=history[-1] if history else None,
            tags={"scale": stage.scale}, level_off=plan.level_off and stage.scale != 1.0)
        history += stage_history
        if evaluator.interrupted:  # Ctrl-C or SIGTERM: no further scales, keep what we have
            break
    optimised = _full_size(best, plan.height, plan.width)
    image = optimised if colorize is None else colorize(optimised)
    _save_outputs(plan.final_path, image, movie, optimised, history, overwrite)
    return image, history


@dataclass
class Stage:
    """One scale of a coarse-to-fine transfer: the images optimised there, and for how long."""

    scale: float  #: a fraction of the result's size
    iterations: int
    content: np.ndarray  #: the content image at this scale, as the network compares it
    styles: list  #: the style images for it (resized by style_scale, recoloured if asked)
    masks: list = None  #: one mask per style at this scale, or None

    @property
    def dims(self):
        """The (height, width) of the image optimised at this stage."""
        return self.content.shape[:2]


def plan_stages(base_img_path, plan, style_scale=1.0, preserve_color=None):
    """The stages of a checked transfer (`preflight.plan_transfer`), coarse to fine: one per
    scale, with its iterations, its images and its masks."""
    stages = []
    for scale, iterations in zip(plan.scales, plan.per_scale):
        content, styles = _image_pair(base_img_path, plan.styles, plan.height, plan.width, scale,
                                      style_scale, preserve_color)
        masks = (None if plan.masks is None else
                 load_masks(plan.masks, content.shape[:2], len(plan.styles)))
        stages.append(Stage(scale, iterations, content, styles, masks))
    return stages


def stage_loss(extractor, stage, plan):
    """The weighted total loss of one stage's images, as a function of the image batch: the
    library's, or the notebook's own `weighted_transfer_loss` (one style, no masks)."""
    content = preprocess_image(stage.content)
    styles = [preprocess_image(style) for style in stage.styles]
    layers_and_weights = (plan.content_layer, plan.style_layers, plan.content_weight,
                          plan.style_weights, plan.tv_weight)
    if "weighted_transfer_loss" in plan.functions:
        return plan.functions["weighted_transfer_loss"](extractor, content, styles[0],
                                                         *layers_and_weights)
    return weighted_transfer_loss(extractor, content, styles, *layers_and_weights,
                                  blend=plan.blend, masks=stage.masks, functions=plan.functions)


def _evaluator(loss_fn, shape, functions, xla):
    """The loss and gradient at a point: the library's Evaluator, or the notebook's own."""
    if "Evaluator" in functions:
        return OwnEvaluator(functions["Evaluator"], loss_fn, shape)
    return Evaluator(loss_fn, shape, jit_compile=xla)


def _full_size(best, height, width):
    """The best batch as a uint8 image of the result's size (upsampled when a stop ended the
    run at a coarse scale)."""
    if best.shape[1:3] != (height, width):
        best = _upsample(best, (height, width))
    return deprocess_image(best, height, width)


def _save_outputs(path, image, movie, optimised, history, overwrite):
    """Save the result, and the animation (ending on the `optimised` image) if one is made."""
    _save_result(path, image_writer(path, image), overwrite, "result")
    if movie is not None:
        movie.finish(history[-1]["iteration"], optimised)
        _save_result(movie.path, movie.writer(), overwrite, "animation")


def _save_result(path, write, overwrite, what):
    """Write a result; if its place fails (a full disk), write it elsewhere and say where.

    The run's work is never dropped: NSTError names the file that holds it.
    """
    written, failure = write_or_fall_back(path, write, overwrite)
    if failure is not None:
        raise NSTError(f"Could not write the {what} to '{path}' ({failure.strerror or failure}); "
                       f"it was saved to '{written}' instead.")


def _image_pair(base_img_path, styles, height, width, scale, style_scale=1.0,
                preserve_color=None):
    """The content and the list of style images for one scale of a height x width result.

    The images are those the network compares: with preserve_color="luminance" all are gray
    luminance images, with "histogram" the styles carry the content's colour statistics.
    """
    dims = scaled(height, width, scale)
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


def _importances(plan):
    """The terms' importances under adaptive weights: each term's weight (style: the mean)."""
    return {"content": float(plan.content_weight), "style": float(np.mean(plan.style_weights)),
            "tv": float(plan.tv_weight)}


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
    """The starting batch (preprocessed) for `init` = "noise", "content", "style", "average" or
    a path."""
    height, width = content.shape[:2]
    if isinstance(init, str) and init == "noise":
        # The homework's start: uniform noise over the whole colour range, centred on zero.
        rng = np.random.default_rng(seed)
        return (rng.uniform(0, 255, (1, height, width, 3)) - 128.0).astype(np.float32)
    if isinstance(init, str) and init == "content":
        return preprocess_image(content)
    if isinstance(init, str) and init == "style":
        return preprocess_image(resize(style, (height, width)))
    if isinstance(init, str) and init == "average":  # Hvass-Labs' exercise
        return (initial_image("content", content, style)
                + initial_image("style", content, style)) / 2
    return preprocess_image(load_image(check_init(init), size=(height, width)))
