"""Judging: compare a probe's raw outputs with reference values, case by case, with hints.

This half of a check never runs a student's code: it computes the expected values with the
library's own implementation and compares them with the raw outputs of `nst_utils.probes`, which
may come from the student's notebook (the ✓/✗ checks) or from the grader's sandbox. For each
exercise, `judge` returns one (description, problem) pair per case; problem is None when right.
The hints describe the usual mistakes in words, never the solution's code.
"""

import numpy as np
from keras import ops

from . import images, losses, transfer
from .probes import NO_GRADIENT, TERMS, WEIGHTED_ARGS, Failure, gradient, stand_in_extractor

#: The exercises where loops are not allowed (the rule: `nst_utils.rules.loop_verdict`).
NO_LOOPS = ("gram_matrix", "style_reconstruction_loss", "total_variation_loss")
#: What a student whose loss gives the optimiser no gradient is told.
NO_GRADIENT_PROBLEM = ("no gradient flows back to the input: the result was computed outside "
                       "keras.ops (NumPy, .numpy(), np.asarray or float() cut the link), so the "
                       "optimiser could not use it. Hint: use keras.ops functions only")


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


def _gram(x):
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
    return flat.T @ flat


def feature_reconstruction_loss(inputs, raw):
    base, output = inputs["base"], inputs["output"]
    expected = float(np.sum((output.astype(np.float64) - base) ** 2))
    hints = [(expected / base.size, "take the sum over all elements, not the mean"),
             (expected / 2, "the course's content loss has no factor 1/2"),
             (np.sqrt(expected), "square the differences and sum them; do not take a square root"),
             (np.sum(np.abs(output - base)), "square the differences instead of taking their "
                                             "absolute value")]
    random = compare(raw["random"], expected, hints)
    expected_gradient = gradient(
        lambda x: losses.feature_reconstruction_loss(ops.convert_to_tensor(base, "float64"), x),
        output.astype(np.float64))
    return [("random 10x10x3 feature maps", random),
            ("identical maps give 0", compare(raw["identical"], 0.0)),
            ("a gradient flows back to output, and is right",
             gradient_verdict(raw["gradient"], expected_gradient, random))]


def gram_matrix(inputs, raw):
    verdicts = []
    for key in ("x0", "x1"):
        x = inputs[key]
        height, width, channels = x.shape
        flat = x.reshape(-1, channels).astype(np.float64)
        expected = flat.T @ flat
        wrong = x.reshape(channels, -1).astype(np.float64)
        hints = [(expected / (height * width), "the Gram matrix is a plain sum over "
                                               "positions; do not divide by H*W here"),
                 (flat @ flat.T, "you multiplied in the wrong order: the result must be C x C"),
                 (wrong @ wrong.T, "reshaping (H, W, C) straight to (C, H*W) mixes "
                                   "channels; move the channel axis first, or reshape to "
                                   "(H*W, C)")]
        verdicts.append((f"random {height}x{width}x{channels} feature map",
                         compare(raw[key], expected, hints)))
    expected_gradient = gradient(losses.gram_matrix, inputs["x1"].astype(np.float64),
                                 inputs["weights"].astype(np.float64))
    return verdicts + [("a gradient flows back to x, and is right",
                        gradient_verdict(raw["gradient"], expected_gradient, verdicts[-1][1]))]


def style_reconstruction_loss(inputs, raw):
    base, output, smaller = inputs["base"], inputs["output"], inputs["smaller"]
    verdicts = []
    for description, key, b, o in [("random 10x10x3 maps", "random", base, output),
                                   ("style map 10x10x3, output 6x8x3 (sizes differ)",
                                    "sizes_differ", base, smaller)]:
        expected = float(_numpy(losses.style_reconstruction_loss(b.astype(np.float64),
                                                                 o.astype(np.float64))))
        plain = np.sum((_gram(b) - _gram(o)) ** 2)
        area, entries = b.shape[0] * b.shape[1], b.shape[-1] ** 2
        hints = [(expected * 4, "you left out the factor 1/4"),
                 (plain / (4 * area), "divide by (H*W) squared, not by H*W"),
                 (plain / (4 * area**2), "normalise each Gram matrix by its own map's H*W "
                                         "before subtracting: the two maps differ in size"),
                 (expected / entries, "you took the mean of the squared differences, which "
                                      "divides by the C*C entries of the Gram matrix: the "
                                      "style loss is 1/4 times their sum"),
                 (expected * 4 / entries, "you took the mean of the squared differences and "
                                          "left out the 1/4: the style loss is 1/4 times "
                                          "their sum"),
                 (plain / (4 * entries), "a mean over the C*C entries is not the "
                                         "normalisation: sum the squared differences and "
                                         "divide each Gram matrix by its own map's H*W")]
        verdicts.append((description, compare(raw[key], expected, hints, rtol=1e-3)))
    verdicts.append(("identical maps give 0", compare(raw["identical"], 0.0, atol=1e-4)))
    expected_gradient = gradient(
        lambda x: losses.style_reconstruction_loss(ops.convert_to_tensor(base, "float64"), x),
        output.astype(np.float64))
    return verdicts + [("a gradient flows back to output, and is right",
                        gradient_verdict(raw["gradient"], expected_gradient, verdicts[0][1]))]


def total_variation_loss(inputs, raw):
    x64 = inputs["x"].astype(np.float64)
    expected = float(_numpy(losses.total_variation_loss(x64)))
    corner = x64[:, :-1, :-1]
    down, right = x64[:, 1:, :-1] - corner, x64[:, :-1, 1:] - corner
    all_down, all_right = x64[:, 1:] - x64[:, :-1], x64[:, :, 1:] - x64[:, :, :-1]
    one_way = ("you took the differences in one direction only: add the squared differences "
               "to the pixel below and to the pixel on the right")
    l1 = ("square the differences instead of taking their absolute values: this total "
          "variation is the squared (L2) one, not the L1 one")
    hints = [(np.sum(all_down**2) + np.sum(all_right**2),
              "take both differences over the same (H-1) x (W-1) top-left block, as the "
              "formula's sums run to H-1 and W-1"),
             (expected / corner.size, "sum, do not average"),
             (np.sum(np.abs(down) + np.abs(right)), l1),
             (np.sum(np.abs(all_down)) + np.sum(np.abs(all_right)), l1),
             *[(np.sum(d**2), one_way) for d in (down, right, all_down, all_right)]]
    random = compare(raw["random"], expected, hints)
    return [("random 1x10x12x3 image", random),
            ("a flat image gives 0", compare(raw["flat"], 0.0)),
            ("a gradient flows back to x, and is right",
             gradient_verdict(raw["gradient"], gradient(losses.total_variation_loss, x64),
                              random))]


def preprocess_image(inputs, raw):
    image = inputs["image"]
    expected = images.preprocess_image(image)
    hints = [(image[None] - images.VGG_MEAN_BGR, "VGG expects BGR: reverse the channel axis "
                                                 "before subtracting the mean"),
             (image[None, :, :, ::-1], "subtract the ImageNet mean (in BGR order)"),
             (expected[0], "add a batch axis: the result must have shape (1, H, W, 3)")]
    return [("a random 6x9 RGB image", compare(raw["random"], expected, hints))]


def deprocess_image(inputs, raw):
    image = inputs["image"]

    def round_trip(got):
        if isinstance(got, np.ndarray) and got.dtype != np.uint8:
            return f"expected dtype uint8, got {got.dtype}"
        return compare(got, image, [(image[:, :, ::-1], "reverse the channels back to RGB")])

    def clipping(got):
        problem = compare(got, np.full((2, 2, 3), 255.0))
        if problem and not isinstance(got, Failure):
            problem += (". Hint: clip to 0-255 before converting to uint8, which would "
                        "otherwise wrap around")
        return problem

    return [("undoes preprocessing of a random 6x9 image", round_trip(raw["round_trip"])),
            ("out-of-range values are clipped to 0-255", clipping(raw["too_bright"]))]


def evaluator(inputs, raw):
    target, start, other = inputs["target"], inputs["start"], inputs["other"]
    expected_loss = lambda x: float(np.sum((x - target) ** 2) + 0.5 * np.sum(x**2))  # noqa: E731
    expected_grads = lambda x: (2 * (x - target) + x).ravel()  # noqa: E731

    def gradient_of_start(got):
        if isinstance(got, np.ndarray) and got.dtype != np.float64:
            return f"scipy needs float64 gradients, got {got.dtype}"
        if isinstance(got, np.ndarray) and got.ndim != 1:
            return f"return a flat vector, got shape {got.shape}"
        return compare(got, expected_grads(start), rtol=1e-3)

    def one_evaluation(runs):
        if isinstance(runs, Failure):
            return str(runs)
        if isinstance(runs, np.ndarray) and runs.shape == () and runs == 0:
            return ("loss(x) then grads(x) at a new point did not run the loss at all. Hint: "
                    "the Evaluator kept the values of an earlier point; a new x needs a new "
                    "evaluation, so compare x with the point the kept values belong to")
        if not isinstance(runs, np.ndarray) or runs.shape != () or runs != 1:
            return (f"loss(x) then grads(x) ran the loss {_count(runs)} times, expected once. "
                    "Hint: compute loss and gradient together in loss(x) and keep the gradient "
                    "for grads(x)")
        return None

    earlier = "of an earlier point: evaluate again whenever x is not the point it kept"
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
                    [(np.sum((start - target) ** 2), "add up all the loss terms in the dict")])),
                ("grads(x) is the float64 gradient, flattened", gradient_of_start(raw["grads"])),
                ("one evaluation serves loss(x) and grads(x)", one_evaluation(raw["runs"])),
                ("a new point gives a new loss and gradient", fresh)]
    return [(description, _unwatched(problem)) for description, problem in verdicts]


def _unwatched(problem):
    """A problem with a hint added where the gradient tape gave None (an unwatched image)."""
    if problem and "NoneType" in problem and "Hint" not in problem:
        return (problem + ". Hint: the tape gave no gradient (None): a GradientTape follows "
                "only variables and what it watches, so call tape.watch(image) inside the "
                "with block, before computing the loss")
    return problem


def _count(runs):
    return int(runs.reshape(-1)[0]) if isinstance(runs, np.ndarray) and runs.size == 1 else "?"


def weighted_transfer_loss(inputs, raw):
    content, style, image = inputs["content"], inputs["style"], inputs["image"]
    expected = {name: float(_numpy(value)) for name, value in transfer.weighted_transfer_loss(
        stand_in_extractor, content, style, **WEIGHTED_ARGS)(image).items()}
    unweighted_style = [float(_numpy(losses.style_reconstruction_loss(
        stand_in_extractor(style)[layer][0], stand_in_extractor(image)[layer][0])))
        for layer in ("low", "high")]
    hints = {"content": [(expected["content"] / 2, "multiply the content loss by content_weight")],
             "style": [(expected["style"] * 2, "divide each layer's weight by the number of "
                                               "style layers, as the homework does"),
                       (sum(unweighted_style), "weight each layer's style loss")],
             "tv": [(expected["tv"] * 4, "multiply the total variation by tv_weight")]}
    keys = raw["keys"]
    if isinstance(keys, Failure):
        built = str(keys)
    elif set(keys) != set(TERMS):
        built = "return a function giving a dict with the keys 'content', 'style' and 'tv'"
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
