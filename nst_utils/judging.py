"""Judging: compare a probe's raw outputs with reference values, case by case, with hints.

This half of a check never runs a student's code: it computes the expected values with the
library's own implementation and compares them with the raw outputs of `nst_utils.probes`, which
may come from the student's notebook (the ✓/✗ checks) or from the grader's sandbox. For each
exercise, `judge` returns one (description, problem) pair per case; problem is None when right.
The hints describe the usual mistakes in words, never the solution's code. Each exercise's
classic mistakes, from the course homework and the literature, are data: `MISTAKES` names each
one with its hint and, where the mistake gives a wrong value, that value on a case's inputs;
tests/test_checks.py makes each mistake on purpose and checks that its hint names it.
"""

from typing import Callable, NamedTuple

import numpy as np
from keras import ops

from . import images, losses, transfer
from .probes import (MISMATCH, NO_GRADIENT, TERMS, WEIGHTED_ARGS, Failure, gradient,
                     stand_in_extractor)

#: The exercises where loops are not allowed (the rule: `nst_utils.rules.loop_verdict`).
NO_LOOPS = ("gram_matrix", "style_reconstruction_loss", "total_variation_loss")


class Mistake(NamedTuple):
    """A classic mistake in one exercise: the hint that names it and, for a mistake that gives
    a wrong value, ``wrong(*case)``, that value on a case's inputs (the judge below says which
    inputs). A mistake with no `wrong` shows otherwise (an error, a count, a dtype); its
    exercise's judge gives the hint where it finds it."""

    hint: str
    wrong: Callable = None


#: The mistake every loss can make: a result computed outside keras.ops, which has the right
#: value but no gradient (found by `gradient_verdict`).
OUTSIDE_OPS = Mistake("use keras.ops functions only")
#: What a student whose loss gives the optimiser no gradient is told.
NO_GRADIENT_PROBLEM = ("no gradient flows back to the input: the result was computed outside "
                       "keras.ops (NumPy, .numpy(), np.asarray or float() cut the link), so the "
                       f"optimiser could not use it. Hint: {OUTSIDE_OPS.hint}")


def hints_for(mistakes, *case):
    """[(wrong value, hint)] of the `mistakes` that give a wrong value, on one case's inputs
    (a `wrong` that returns a list gives several values, ways of making the same mistake)."""
    pairs = []
    for mistake in mistakes.values():
        if mistake.wrong is not None:
            values = mistake.wrong(*case)
            pairs += [(value, mistake.hint)
                      for value in (values if isinstance(values, list) else [values])]
    return pairs


def compare(got, expected, hints=(), rtol=1e-4, atol=1e-6):
    """None if `got` matches `expected`; else a message with both values and a matching hint."""
    if isinstance(got, Failure):
        return str(got)
    if not isinstance(got, np.ndarray):
        return "returned no number or array"
    got = got.astype(np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return f"expected shape {expected.shape}, got {got.shape}" + _hint(got, hints)
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return None
    if expected.size == 1:
        message = f"expected {float(expected):.6g}, got {float(got):.6g}"
    else:
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), expected.shape)
        message = (f"expected {expected[worst]:.6g} at index {tuple(map(int, worst))}, "
                   f"got {got[worst]:.6g}")
    return message + _hint(got, hints)


def _hint(got, hints):
    """The first hint whose wrong answer matches `got`."""
    for wrong, hint in hints:
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-4, atol=1e-6):
            return f". Hint: {hint}"
    return ""


def gradient_verdict(got, expected, value_problem=None):
    """None if a probed gradient matches the reference's `expected`; else why not.

    A gradient is judged only once the value it belongs to is right (`value_problem` None),
    except that a gradient that does not flow at all is always reported.
    """
    if isinstance(got, Failure) and got == NO_GRADIENT:
        return NO_GRADIENT_PROBLEM
    if value_problem:
        return "not checked until the value is right"
    scale = float(np.max(np.abs(expected), initial=1.0))
    return compare(got, expected, rtol=1e-3, atol=1e-5 * scale)


def _numpy(value):
    return np.asarray(ops.convert_to_numpy(value), dtype=np.float64)


def _flat(x):
    """A feature map (H, W, C) as (H*W, C): one row per position."""
    return x.reshape(-1, x.shape[-1]).astype(np.float64)


def _gram(x):
    return _flat(x).T @ _flat(x)


def _squared_distance(base, output):
    return float(np.sum((output.astype(np.float64) - base) ** 2))


def _area(x):
    return x.shape[0] * x.shape[1]


#: wrong(base, output) on a case's feature maps.
CONTENT_MISTAKES = {
    "mean": Mistake("take the sum over all elements, not the mean",
                    lambda b, o: _squared_distance(b, o) / b.size),
    "half": Mistake("the course's content loss has no factor 1/2",
                    lambda b, o: _squared_distance(b, o) / 2),
    "square_root": Mistake("square the differences and sum them; do not take a square root",
                           lambda b, o: np.sqrt(_squared_distance(b, o))),
    "absolute": Mistake("square the differences instead of taking their absolute value",
                        lambda b, o: np.sum(np.abs(o.astype(np.float64) - b))),
    "not_squared": Mistake("square each difference before summing: unsquared, the positive and "
                           "negative differences cancel out",
                           lambda b, o: [np.sum(o.astype(np.float64) - b),
                                         np.sum(b.astype(np.float64) - o)]),
    "outside_ops": OUTSIDE_OPS,
}


def feature_reconstruction_loss(inputs, raw):
    base, output = inputs["base"], inputs["output"]
    expected = _squared_distance(base, output)
    random = compare(raw["random"], expected, hints_for(CONTENT_MISTAKES, base, output))
    expected_gradient = gradient(
        lambda x: losses.feature_reconstruction_loss(ops.convert_to_tensor(base, "float64"), x),
        output.astype(np.float64))
    return [("random 10x10x3 feature maps", random),
            ("identical maps give 0", compare(raw["identical"], 0.0)),
            ("a gradient flows back to output, and is right",
             gradient_verdict(raw["gradient"], expected_gradient, random))]


def _channels_first(x):
    """x's values read as (C, H*W) by a reshape that does not move the channel axis."""
    return x.reshape(x.shape[-1], -1).astype(np.float64)


#: wrong(x) on a case's feature map.
GRAM_MISTAKES = {
    "divided_by_positions": Mistake("the Gram matrix is a plain sum over positions; do not "
                                    "divide by H*W here", lambda x: _gram(x) / _area(x)),
    "divided_by_size": Mistake("the Gram matrix is a plain sum over positions; do not divide "
                               "by the map's size H*W*C (or anything) here",
                               lambda x: _gram(x) / x.size),
    "wrong_order": Mistake("you multiplied in the wrong order: the result must be C x C",
                           lambda x: _flat(x) @ _flat(x).T),
    "wrong_reshape": Mistake("reshaping (H, W, C) straight to (C, H*W) mixes channels; move "
                             "the channel axis first, or reshape to (H*W, C)",
                             lambda x: _channels_first(x) @ _channels_first(x).T),
    "centred": Mistake("the Gram matrix is not a covariance: do not subtract the channels' "
                       "means", lambda x: _gram(x - x.mean(axis=(0, 1)))),
    "outside_ops": OUTSIDE_OPS,
}


def gram_matrix(inputs, raw):
    verdicts = []
    for key in ("x0", "x1"):
        x = inputs[key]
        height, width, channels = x.shape
        verdicts.append((f"random {height}x{width}x{channels} feature map",
                         compare(raw[key], _gram(x), hints_for(GRAM_MISTAKES, x))))
    expected_gradient = gradient(losses.gram_matrix, inputs["x1"].astype(np.float64),
                                 inputs["weights"].astype(np.float64))
    return verdicts + [("a gradient flows back to x, and is right",
                        gradient_verdict(raw["gradient"], expected_gradient, verdicts[-1][1]))]


def _style_loss(base, output):
    return float(_numpy(losses.style_reconstruction_loss(base.astype(np.float64),
                                                         output.astype(np.float64))))


def _plain_style(base, output):
    """The sum of squared differences of the two maps' Gram matrices, not normalised."""
    return np.sum((_gram(base) - _gram(output)) ** 2)


_MEAN = ("you took the mean of the squared differences, which divides by the C*C entries of "
         "the Gram matrix (as the paper's 1/(4 N^2 M^2) does with N = C channels): the style "
         "loss is 1/4 times their sum")
#: wrong(base, output) on a case's style and generated feature maps (of different sizes in one
#: case).
STYLE_MISTAKES = {
    "unnormalised": Mistake("normalise the Gram matrices, each by its own map's H*W (for maps "
                            "of equal size: divide the sum by (H*W) squared); without it the "
                            "loss is (H*W)^2 times too large",
                            lambda b, o: [_plain_style(b, o) / 4, _plain_style(b, o)]),
    "no_quarter": Mistake("you left out the factor 1/4", lambda b, o: _style_loss(b, o) * 4),
    "divided_once": Mistake("divide by (H*W) squared, not by H*W",
                            lambda b, o: _plain_style(b, o) / (4 * _area(b))),
    "style_size_only": Mistake("normalise each Gram matrix by its own map's H*W before "
                               "subtracting: the two maps differ in size",
                               lambda b, o: _plain_style(b, o) / (4 * _area(b) ** 2)),
    "mean": Mistake(_MEAN, lambda b, o: _style_loss(b, o) / b.shape[-1] ** 2),
    "mean_no_quarter": Mistake("you took the mean of the squared differences and left out the "
                               "1/4: the style loss is 1/4 times their sum",
                               lambda b, o: _style_loss(b, o) * 4 / b.shape[-1] ** 2),
    "mean_unnormalised": Mistake("a mean over the C*C entries is not the normalisation: sum "
                                 "the squared differences and divide each Gram matrix by its "
                                 "own map's H*W",
                                 lambda b, o: _plain_style(b, o) / (4 * b.shape[-1] ** 2)),
    "feature_maps": Mistake("compare the two maps' Gram matrices, not the maps themselves: "
                            "the style loss must not depend on where features are",
                            lambda b, o: (_squared_distance(b, o) / (4 * _area(b) ** 2)
                                          if b.shape == o.shape else np.nan)),
    "outside_ops": OUTSIDE_OPS,
}


def style_reconstruction_loss(inputs, raw):
    base, output, smaller = inputs["base"], inputs["output"], inputs["smaller"]
    verdicts = []
    for description, key, b, o in [("random 10x10x3 maps", "random", base, output),
                                   ("style map 10x10x3, output 6x8x3 (sizes differ)",
                                    "sizes_differ", base, smaller)]:
        verdicts.append((description, compare(raw[key], _style_loss(b, o),
                                              hints_for(STYLE_MISTAKES, b, o), rtol=1e-3)))
    verdicts.append(("identical maps give 0", compare(raw["identical"], 0.0, atol=1e-4)))
    expected_gradient = gradient(
        lambda x: losses.style_reconstruction_loss(ops.convert_to_tensor(base, "float64"), x),
        output.astype(np.float64))
    return verdicts + [("a gradient flows back to output, and is right",
                        gradient_verdict(raw["gradient"], expected_gradient, verdicts[0][1]))]


def _differences(x):
    """(down, right) over the (H-1) x (W-1) top-left block, and over the whole image."""
    x = x.astype(np.float64)
    corner = x[:, :-1, :-1]
    return ((x[:, 1:, :-1] - corner, x[:, :-1, 1:] - corner),
            (x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]))


def _tv(x):
    (down, right), _ = _differences(x)
    return np.sum(down**2) + np.sum(right**2)


_L1 = ("square the differences instead of taking their absolute values: this total variation "
       "is the squared (L2) one, not the L1 one")
#: wrong(x) on a case's image batch (1, H, W, C).
TV_MISTAKES = {
    "whole_image": Mistake("take both differences over the same (H-1) x (W-1) top-left block, "
                           "as the formula's sums run to H-1 and W-1",
                           lambda x: sum(np.sum(d**2) for d in _differences(x)[1])),
    "mean": Mistake("sum, do not average",
                    lambda x: _tv(x) / (x.shape[1] - 1) / (x.shape[2] - 1) / x.shape[3]),
    "absolute": Mistake(_L1, lambda x: [sum(np.sum(np.abs(d)) for d in pair)
                                        for pair in _differences(x)]),
    "one_direction": Mistake("you took the differences in one direction only: add the squared "
                             "differences to the pixel below and to the pixel on the right",
                             lambda x: [np.sum(d**2) for pair in _differences(x) for d in pair]),
    "square_root": Mistake("add the squared differences; do not take the square root of their "
                           "sum at each pixel (that is another total variation)",
                           lambda x: np.sum(np.sqrt(sum(d**2 for d in _differences(x)[0])))),
    "channel_axis": Mistake("x has shape (1, H, W, C): take the differences along axes 1 and 2 "
                            "(down and right), not along the channel axis",
                            lambda x: _tv(np.moveaxis(x, 1, 3))),
    "outside_ops": OUTSIDE_OPS,
}


def total_variation_loss(inputs, raw):
    x64 = inputs["x"].astype(np.float64)
    expected = float(_numpy(losses.total_variation_loss(x64)))
    random = compare(raw["random"], expected, hints_for(TV_MISTAKES, x64))
    return [("random 1x10x12x3 image", random),
            ("a flat image gives 0", compare(raw["flat"], 0.0)),
            ("a gradient flows back to x, and is right",
             gradient_verdict(raw["gradient"], gradient(losses.total_variation_loss, x64),
                              random))]


#: wrong(image) on a case's RGB image (H, W, 3).
PREPROCESS_MISTAKES = {
    "rgb": Mistake("VGG expects BGR: reverse the channel axis before subtracting the mean",
                   lambda image: image[None] - images.VGG_MEAN_BGR),
    "no_mean": Mistake("subtract the ImageNet mean (in BGR order)",
                       lambda image: image[None, :, :, ::-1]),
    "no_batch_axis": Mistake("add a batch axis: the result must have shape (1, H, W, 3)",
                             lambda image: images.preprocess_image(image)[0]),
    "mean_in_rgb_order": Mistake("the mean is in BGR order: reverse the channels first, then "
                                 "subtract it",
                                 lambda image: (image - images.VGG_MEAN_BGR)[None, :, :, ::-1]),
    "scaled": Mistake("VGG's weights expect values in 0-255: do not divide by 255",
                      lambda image: images.preprocess_image(image / 255.0)),
}


def preprocess_image(inputs, raw):
    image = inputs["image"]
    return [("a random 6x9 RGB image",
             compare(raw["random"], images.preprocess_image(image),
                     hints_for(PREPROCESS_MISTAKES, image)))]


#: wrong(image) on the RGB image (H, W, 3) a case's batch was preprocessed from; `no_clip` and
#: `not_uint8` are found by the judge (a dtype, a wrapped-around value).
DEPROCESS_MISTAKES = {
    "bgr": Mistake("reverse the channels back to RGB", lambda image: image[:, :, ::-1]),
    "no_mean": Mistake("add the ImageNet mean back (in BGR order) before reversing the channels",
                       lambda image: [np.clip(f(image - images.VGG_MEAN_BGR[::-1]), 0, 255)
                                      for f in (np.floor, np.round)]),
    "no_clip": Mistake("clip to 0-255 before converting to uint8, which would otherwise wrap "
                       "around"),
    "not_uint8": Mistake("convert to uint8, the type of an image's pixels, after clipping"),
}


def deprocess_image(inputs, raw):
    image = inputs["image"]

    def round_trip(got):
        if isinstance(got, np.ndarray) and got.dtype != np.uint8:
            return (f"expected dtype uint8, got {got.dtype}. Hint: "
                    f"{DEPROCESS_MISTAKES['not_uint8'].hint}")
        return compare(got, image, hints_for(DEPROCESS_MISTAKES, image))

    def clipping(got):
        problem = compare(got, np.full((2, 2, 3), 255.0))
        if problem and not isinstance(got, Failure):
            problem += f". Hint: {DEPROCESS_MISTAKES['no_clip'].hint}"
        return problem

    return [("undoes preprocessing of a random 6x9 image", round_trip(raw["round_trip"])),
            ("out-of-range values are clipped to 0-255", clipping(raw["too_bright"]))]


#: wrong(target, x) for the Evaluator's loss {"a": sum((x - target)^2), "b": 0.5 sum(x^2)} at
#: a point x; the others are found by the judge.
EVALUATOR_MISTAKES = {
    "one_term": Mistake("add up all the loss terms in the dict",
                        lambda target, x: np.sum((x - target) ** 2)),
    "gradient_of_one_term": Mistake("take the gradient of the total loss, the sum of all the "
                                    "terms, not of one of them",
                                    lambda target, x: [(2 * (x - target)).ravel(), x.ravel()]),
    "evaluates_twice": Mistake("compute loss and gradient together in loss(x) and keep the "
                               "gradient for grads(x)"),
    "never_recomputes": Mistake("the Evaluator kept the values of an earlier point; a new x "
                                "needs a new evaluation, so compare x with the point the kept "
                                "values belong to"),
    "stale_values": Mistake("evaluate again whenever x is not the point it kept"),
    "float32": Mistake("convert the gradient to float64, which scipy's L-BFGS needs"),
    "not_flat": Mistake("flatten the gradient to a vector, as scipy's L-BFGS works on vectors"),
    "unwatched": Mistake("the tape gave no gradient (None): a GradientTape follows only "
                         "variables and what it watches, so call tape.watch(image) inside the "
                         "with block, before computing the loss"),
}


def evaluator(inputs, raw):
    target, start, other = inputs["target"], inputs["start"], inputs["other"]
    expected_loss = lambda x: float(np.sum((x - target) ** 2) + 0.5 * np.sum(x**2))  # noqa: E731
    expected_grads = lambda x: (2 * (x - target) + x).ravel()  # noqa: E731
    hint = {name: mistake.hint for name, mistake in EVALUATOR_MISTAKES.items()}

    def gradient_of_start(got):
        if isinstance(got, np.ndarray) and got.dtype != np.float64:
            return f"scipy needs float64 gradients, got {got.dtype}. Hint: {hint['float32']}"
        if isinstance(got, np.ndarray) and got.ndim != 1:
            return f"return a flat vector, got shape {got.shape}. Hint: {hint['not_flat']}"
        return compare(got, expected_grads(start),
                       [(value, hint["gradient_of_one_term"]) for value in
                        EVALUATOR_MISTAKES["gradient_of_one_term"].wrong(target, start)],
                       rtol=1e-3)

    def one_evaluation(runs):
        if isinstance(runs, Failure):
            return str(runs)
        if isinstance(runs, np.ndarray) and runs.shape == () and runs == 0:
            return ("loss(x) then grads(x) at a new point did not run the loss at all. Hint: "
                    + hint["never_recomputes"])
        if not isinstance(runs, np.ndarray) or runs.shape != () or runs != 1:
            return (f"loss(x) then grads(x) ran the loss {_count(runs)} times, expected once. "
                    f"Hint: {hint['evaluates_twice']}")
        return None

    earlier = f"of an earlier point: {hint['stale_values']}"
    fresh = (compare(raw["fresh_grads"], expected_grads(other + 1),
                     [(expected_grads(point), f"grads(x) returned the gradient {earlier}")
                      for point in (start, other)], rtol=1e-3)
             or compare(raw["fresh_loss"], expected_loss(other + 1),
                        [(expected_loss(point), f"loss(x) returned the loss {earlier}")
                         for point in (start, other)]))
    built = raw["build"]
    verdicts = [("Evaluator(loss_fn, shape) can be built",
                 str(built) if isinstance(built, Failure) else None),
                ("loss(x) is the sum of the loss terms", compare(
                    raw["loss"], expected_loss(start),
                    [(EVALUATOR_MISTAKES["one_term"].wrong(target, start), hint["one_term"])])),
                ("grads(x) is the float64 gradient, flattened", gradient_of_start(raw["grads"])),
                ("one evaluation serves loss(x) and grads(x)", one_evaluation(raw["runs"])),
                ("a new point gives a new loss and gradient", fresh)]
    return [(description, _unwatched(problem)) for description, problem in verdicts]


def _unwatched(problem):
    """A problem with a hint added where the gradient tape gave None (an unwatched image)."""
    if problem and "NoneType" in problem and "Hint" not in problem:
        return f"{problem}. Hint: {EVALUATOR_MISTAKES['unwatched'].hint}"
    return problem


def _count(runs):
    return int(runs.reshape(-1)[0]) if isinstance(runs, np.ndarray) and runs.size == 1 else "?"


def _terms(content, style, image, **changes):
    """The library's three weighted terms on the stand-in network, with `changes` to the
    arguments of `WEIGHTED_ARGS`."""
    loss = transfer.weighted_transfer_loss(stand_in_extractor, content, style,
                                           **{**WEIGHTED_ARGS, **changes})
    return {name: float(_numpy(value)) for name, value in loss(image).items()}


def _unweighted_style(content, style, image):
    return sum(float(_numpy(losses.style_reconstruction_loss(
        stand_in_extractor(style)[layer][0], stand_in_extractor(image)[layer][0])))
        for layer in WEIGHTED_ARGS["style_layers"])


_LAYERS = WEIGHTED_ARGS["style_layers"]
#: wrong(content, style, image) gives (term, its wrong value) on the case's images; `swapped`
#: and `missing_terms` are found by the judge (a shape mismatch, the dict's keys).
WEIGHTED_MISTAKES = {
    "content_unweighted": Mistake(
        "multiply the content loss by content_weight",
        lambda c, s, i: ("content", _terms(c, s, i, content_weight=1.0)["content"])),
    "layer_weights_not_averaged": Mistake(
        "divide each layer's weight by the number of style layers, as the homework does",
        lambda c, s, i: ("style", _terms(c, s, i, style_weights=[
            w * len(_LAYERS) for w in WEIGHTED_ARGS["style_weights"]])["style"])),
    "style_unweighted": Mistake("weight each layer's style loss",
                                lambda c, s, i: ("style", _unweighted_style(c, s, i))),
    "tv_unweighted": Mistake(
        "multiply the total variation by tv_weight",
        lambda c, s, i: ("tv", _terms(c, s, i, tv_weight=1.0)["tv"])),
    "content_at_a_style_layer": Mistake(
        "compare the content at content_layer; the style layers are for the style term",
        lambda c, s, i: ("content", [_terms(c, s, i, content_layer=layer)["content"]
                                     for layer in _LAYERS
                                     if layer != WEIGHTED_ARGS["content_layer"]])),
    "swapped": Mistake(
        "content and style swapped? The content term compares the image with the content image; "
        "the style image enters only through Gram matrices"),
    "missing_terms": Mistake("return a function giving a dict with the keys 'content', 'style' "
                             "and 'tv'"),
    "outside_ops": OUTSIDE_OPS,
}


def weighted_transfer_loss(inputs, raw):
    content, style, image = inputs["content"], inputs["style"], inputs["image"]
    expected = _terms(content, style, image)
    hints = {term: [] for term in TERMS}
    for mistake in WEIGHTED_MISTAKES.values():
        if mistake.wrong is not None:
            term, values = mistake.wrong(content, style, image)
            hints[term] += [(value, mistake.hint)
                            for value in (values if isinstance(values, list) else [values])]
    keys = raw["keys"]
    if isinstance(keys, Failure):
        built = str(keys)
        if MISMATCH in built:  # the hint first: the gradebook keeps 300 characters
            built += (f". Hint: {WEIGHTED_MISTAKES['swapped'].hint} (it received a content image "
                      f"{content.shape} and a style image {style.shape})")
    elif set(keys) != set(TERMS):
        built = WEIGHTED_MISTAKES["missing_terms"].hint
    else:
        built = None
    values = {term: compare(raw[term], expected[term], hints[term], rtol=1e-3)
              for term in TERMS}
    reference = transfer.weighted_transfer_loss(stand_in_extractor, content, style,
                                                **WEIGHTED_ARGS)
    flows = next(filter(None, (
        _term_problem(term, gradient_verdict(raw[f"{term}_gradient"], gradient(
            lambda x, term=term: reference(x)[term], image), values[term]))
        for term in TERMS)), None)
    return [("returns a function of the image giving the three terms", built),
            *[(f"the weighted {term} term", values[term]) for term in TERMS],
            ("a gradient flows back to the image through each term, and is right", flows)]


def _term_problem(term, problem):
    return problem and f"the {term} term: {problem}"


#: Each exercise's classic mistakes, keyed like JUDGES.
MISTAKES = {"feature_reconstruction_loss": CONTENT_MISTAKES,
            "preprocess_image": PREPROCESS_MISTAKES, "deprocess_image": DEPROCESS_MISTAKES,
            "gram_matrix": GRAM_MISTAKES, "style_reconstruction_loss": STYLE_MISTAKES,
            "total_variation_loss": TV_MISTAKES, "Evaluator": EVALUATOR_MISTAKES,
            "weighted_transfer_loss": WEIGHTED_MISTAKES}

JUDGES = {"feature_reconstruction_loss": feature_reconstruction_loss,
          "preprocess_image": preprocess_image, "deprocess_image": deprocess_image,
          "gram_matrix": gram_matrix, "style_reconstruction_loss": style_reconstruction_loss,
          "total_variation_loss": total_variation_loss, "Evaluator": evaluator,
          "weighted_transfer_loss": weighted_transfer_loss}


def judge(exercise, inputs, raw, loop_problem=None):
    """[(case description, problem or None)] for one exercise's raw outputs.

    `loop_problem` is the verdict of the no-loop rule for the exercises that have one (None:
    no loop); the caller decides it from the student's source.
    """
    verdicts = JUDGES[exercise](inputs, raw)
    if exercise in NO_LOOPS:
        verdicts.append(("no loops", loop_problem))
    return verdicts
