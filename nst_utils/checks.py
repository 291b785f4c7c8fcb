"""Immediate feedback on the notebook exercises: ✓ or ✗, expected against got, and a hint.

Each ``check_*`` function takes the student's function (or class), runs it on fixed random inputs
and on edge cases, compares with the library's reference implementation, prints one line per case
and returns a `CheckResult`. A wrong, unfinished or crashing answer is reported, never raised, and
the hints describe the usual mistakes in words, never the solution's code.

``hidden=True`` draws other random inputs; the instructor's grader uses it.
"""

import ast
import inspect
import textwrap
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from keras import ops

from . import images, losses, transfer

#: Points per exercise, keyed by the name of the function or class the student writes.
POINTS = {"feature_reconstruction_loss": 1, "preprocess_image": 1, "deprocess_image": 1,
          "gram_matrix": 2, "style_reconstruction_loss": 2, "total_variation_loss": 2,
          "Evaluator": 2, "weighted_transfer_loss": 2}


@dataclass
class CheckResult:
    """The outcome of one exercise's checks."""

    exercise: str
    failures: list = field(default_factory=list)
    cases: int = 0

    @property
    def passed(self):
        return self.cases > 0 and not self.failures

    @property
    def points(self):
        return POINTS[self.exercise] if self.passed else 0

    def __bool__(self):
        return self.passed


class _Checker:
    """Runs cases for one exercise, printing a line per case."""

    def __init__(self, exercise, verbose):
        self.result = CheckResult(exercise)
        self.verbose = verbose

    def case(self, description, run):
        """Run one case: `run()` returns None when right, or a message saying what is wrong."""
        self.result.cases += 1
        try:
            problem = run()
        except NotImplementedError:
            problem = "not implemented yet (it raises NotImplementedError)"
        except Exception as error:  # a student's bug must be reported, not crash the notebook
            problem = f"raised {type(error).__name__}: {str(error).splitlines()[0][:200]}"
        if problem:
            self.result.failures.append(f"{description}: {problem}")
        self._say(("✗ " if problem else "✓ ") + description + (f" — {problem}" if problem else ""))

    def finish(self):
        result = self.result
        self._say(f"{result.exercise}: {result.cases - len(result.failures)}/{result.cases} "
                  f"checks passed, {result.points}/{POINTS[result.exercise]} points")
        return result

    def _say(self, line):
        if self.verbose:
            print(line)


def _numpy(value):
    return np.asarray(ops.convert_to_numpy(value), dtype=np.float64)


def _compare(got, expected, hints=(), rtol=1e-4, atol=1e-6):
    """None if `got` matches `expected`; else a message with both values and a matching hint."""
    got = _numpy(got)
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


def _loop_free(fn):
    """None if `fn`'s source has no for/while loop or comprehension; else a message."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None  # no source to read (e.g. defined in a compiled module): nothing to judge
    loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)
    if any(isinstance(node, loops) for node in ast.walk(tree)):
        return "uses a loop; this exercise asks for a vectorised version with keras.ops"
    return None


def _inputs(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(np.float32) for shape in shapes]


def _seed(hidden):
    return 1729 if hidden else 1


def check_feature_reconstruction_loss(fn, hidden=False, verbose=True):
    """Check the content loss J_C = sum (output - base)^2."""
    checker = _Checker("feature_reconstruction_loss", verbose)
    base, output = _inputs(_seed(hidden), (10, 10, 3), (10, 10, 3))
    expected = float(np.sum((output.astype(np.float64) - base) ** 2))
    hints = [(expected / base.size, "take the sum over all elements, not the mean"),
             (expected / 2, "the course's content loss has no factor 1/2"),
             (np.sqrt(expected), "square the differences and sum them; do not take a square root"),
             (np.sum(np.abs(output - base)), "square the differences instead of taking their "
                                             "absolute value")]
    checker.case("random 10x10x3 feature maps",
                 lambda: _compare(fn(ops.convert_to_tensor(base), ops.convert_to_tensor(output)),
                                  expected, hints))
    checker.case("identical maps give 0",
                 lambda: _compare(fn(ops.convert_to_tensor(base), ops.convert_to_tensor(base)), 0.0))
    return checker.finish()


def check_gram_matrix(fn, hidden=False, verbose=True):
    """Check G[k, k'] = sum_ij x[i, j, k] x[i, j, k'] on square and non-square maps."""
    checker = _Checker("gram_matrix", verbose)
    for shape in [(10, 10, 3), (4, 5, 6)]:
        (x,) = _inputs(_seed(hidden) + shape[1], shape)
        flat = x.reshape(-1, shape[2]).astype(np.float64)
        expected = flat.T @ flat
        hints = [(expected / (shape[0] * shape[1]), "the Gram matrix is a plain sum over "
                                                    "positions; do not divide by H*W here"),
                 (flat @ flat.T, "you multiplied in the wrong order: the result must be C x C"),
                 (_wrong_reshape_gram(x), "reshaping (H, W, C) straight to (C, H*W) mixes "
                                          "channels; move the channel axis first, or reshape to "
                                          "(H*W, C)")]
        checker.case(f"random {shape[0]}x{shape[1]}x{shape[2]} feature map",
                     lambda: _compare(fn(ops.convert_to_tensor(x)), expected, hints))
    checker.case("no loops", lambda: _loop_free(fn))
    return checker.finish()


def _wrong_reshape_gram(x):
    wrong = x.reshape(x.shape[2], -1).astype(np.float64)
    return wrong @ wrong.T


def check_style_reconstruction_loss(fn, hidden=False, verbose=True):
    """Check J_S = 1 / (4 (HW)^2) sum (G_base - G_output)^2, also for maps of different sizes."""
    checker = _Checker("style_reconstruction_loss", verbose)
    base, output, smaller = _inputs(_seed(hidden), (10, 10, 3), (10, 10, 3), (6, 8, 3))
    for description, b, o in [("random 10x10x3 maps", base, output),
                              ("style map 10x10x3, output 6x8x3 (sizes differ)", base, smaller)]:
        expected = float(ops.convert_to_numpy(losses.style_reconstruction_loss(
            b.astype(np.float64), o.astype(np.float64))))
        plain = np.sum((_gram(b) - _gram(o)) ** 2)
        area = b.shape[0] * b.shape[1]
        hints = [(expected * 4, "you left out the factor 1/4"),
                 (plain / (4 * area), "divide by (H*W) squared, not by H*W"),
                 (plain / (4 * area**2), "normalise each Gram matrix by its own map's H*W "
                                         "before subtracting: the two maps differ in size"),
                 (expected * 4 / 9, "sum over the squared differences instead of averaging them")]
        checker.case(description, lambda b=b, o=o, e=expected, h=hints: _compare(
            fn(ops.convert_to_tensor(b), ops.convert_to_tensor(o)), e, h, rtol=1e-3))
    checker.case("identical maps give 0", lambda: _compare(
        fn(ops.convert_to_tensor(base), ops.convert_to_tensor(base)), 0.0, atol=1e-4))
    checker.case("no loops", lambda: _loop_free(fn))
    return checker.finish()


def _gram(x):
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
    return flat.T @ flat


def check_total_variation_loss(fn, hidden=False, verbose=True):
    """Check the homework's total variation on (1, H, W, C) images."""
    checker = _Checker("total_variation_loss", verbose)
    (x,) = _inputs(_seed(hidden), (1, 10, 12, 3))
    x64 = x.astype(np.float64)
    expected = float(ops.convert_to_numpy(losses.total_variation_loss(x64)))
    full = np.sum((x64[:, 1:] - x64[:, :-1]) ** 2) + np.sum((x64[:, :, 1:] - x64[:, :, :-1]) ** 2)
    hints = [(full, "take both differences over the same (H-1) x (W-1) top-left block, as the "
                    "formula's sums run to H-1 and W-1"),
             (expected / x[:, :-1, :-1].size, "sum, do not average")]
    checker.case("random 1x10x12x3 image", lambda: _compare(fn(ops.convert_to_tensor(x)),
                                                            expected, hints))
    flat = np.full((1, 5, 5, 3), 7.0, np.float32)
    checker.case("a flat image gives 0", lambda: _compare(fn(ops.convert_to_tensor(flat)), 0.0))
    checker.case("no loops", lambda: _loop_free(fn))
    return checker.finish()


def _test_image(hidden):
    rng = np.random.default_rng(_seed(hidden))
    return rng.integers(0, 256, size=(6, 9, 3)).astype(np.float32)


def check_preprocess_image(fn, hidden=False, verbose=True):
    """Check RGB -> BGR, minus the ImageNet mean, with a batch axis."""
    checker = _Checker("preprocess_image", verbose)
    image = _test_image(hidden)
    expected = images.preprocess_image(image)
    hints = [(image[None] - images.VGG_MEAN_BGR, "VGG expects BGR: reverse the channel axis "
                                                 "before subtracting the mean"),
             (image[None, :, :, ::-1], "subtract the ImageNet mean (in BGR order)"),
             (expected[0], "add a batch axis: the result must have shape (1, H, W, 3)")]
    checker.case("a random 6x9 RGB image", lambda: _compare(fn(image.copy()), expected, hints))
    return checker.finish()


def check_deprocess_image(fn, hidden=False, verbose=True):
    """Check the inverse of preprocessing: add the mean, BGR -> RGB, clip, uint8."""
    checker = _Checker("deprocess_image", verbose)
    image = _test_image(hidden)
    batch = images.preprocess_image(image)

    def round_trip():
        got = np.asarray(fn(batch.copy(), 6, 9))
        if got.dtype != np.uint8:
            return f"expected dtype uint8, got {got.dtype}"
        return _compare(got, image, [(image[:, :, ::-1], "reverse the channels back to RGB")])

    def clipping():
        got = np.asarray(fn(np.full((1, 2, 2, 3), 500.0, np.float32), 2, 2))
        problem = _compare(got, np.full((2, 2, 3), 255.0))
        return problem and problem + (". Hint: clip to 0-255 before converting to uint8, which "
                                      "would otherwise wrap around")

    checker.case("undoes preprocessing of a random 6x9 image", round_trip)
    checker.case("out-of-range values are clipped to 0-255", clipping)
    return checker.finish()


def check_evaluator(evaluator_class, hidden=False, verbose=True):
    """Check an Evaluator: right loss and gradient, one evaluation per point, float64 for scipy."""
    checker = _Checker("Evaluator", verbose)
    shape = (1, 3, 4, 3)
    target, start, other = _inputs(_seed(hidden), shape, shape, shape)
    calls = tf.Variable(0, dtype=tf.int64)

    def loss_fn(image):  # counts its own runs, also inside a tf.function
        calls.assign_add(1)
        return {"a": ops.sum(ops.square(image - target)), "b": 0.5 * ops.sum(ops.square(image))}

    expected_loss = lambda x: float(np.sum((x - target) ** 2) + 0.5 * np.sum(x**2))  # noqa: E731
    expected_grads = lambda x: (2 * (x - target) + x).ravel()  # noqa: E731
    state = {}

    def build():
        state["evaluator"] = evaluator_class(loss_fn, shape)

    def loss_value():
        return _compare(state["evaluator"].loss(start.ravel().astype(np.float64)),
                        expected_loss(start), [(np.sum((start - target) ** 2),
                                                "add up all the loss terms in the dict")])

    def gradient_value():
        grads = state["evaluator"].grads(start.ravel().astype(np.float64))
        if np.asarray(grads).dtype != np.float64:
            return f"scipy needs float64 gradients, got {np.asarray(grads).dtype}"
        if np.asarray(grads).ndim != 1:
            return f"return a flat vector, got shape {np.asarray(grads).shape}"
        return _compare(grads, expected_grads(start), rtol=1e-3)

    def one_evaluation():
        before = int(calls.numpy())
        evaluator = state["evaluator"]
        evaluator.loss(other.ravel().astype(np.float64))
        evaluator.grads(other.ravel().astype(np.float64))
        runs = int(calls.numpy()) - before
        if runs != 1:
            return (f"loss(x) then grads(x) ran the loss {runs} times, expected once. Hint: "
                    "compute loss and gradient together in loss(x) and keep the gradient for "
                    "grads(x)")
        return None

    def fresh_point():
        evaluator = state["evaluator"]
        x = (other + 1).ravel().astype(np.float64)
        loss = evaluator.loss(x)
        return _compare(evaluator.grads(x), expected_grads(other + 1), [
            (expected_grads(other), "grads(x) returned the gradient of an earlier point")],
            rtol=1e-3) or _compare(loss, expected_loss(other + 1))

    checker.case("Evaluator(loss_fn, shape) can be built", build)
    for description, run in [("loss(x) is the sum of the loss terms", loss_value),
                             ("grads(x) is the float64 gradient, flattened", gradient_value),
                             ("one evaluation serves loss(x) and grads(x)", one_evaluation),
                             ("a new point gives a new loss and gradient", fresh_point)]:
        checker.case(description, run if "evaluator" in state else
                     lambda: "the Evaluator could not be built")
    return checker.finish()


def check_weighted_transfer_loss(fn, hidden=False, verbose=True):
    """Check the three weighted terms against the library on a small stand-in network."""
    checker = _Checker("weighted_transfer_loss", verbose)
    content, style, image = _inputs(_seed(hidden), (1, 8, 8, 3), (1, 6, 10, 3), (1, 8, 8, 3))

    def extractor(batch):  # two "layers" cheap enough to check exactly
        return {"low": 0.5 * batch, "high": ops.square(batch[:, ::2, ::2, :]) * 0.1}

    args = dict(content_layer="high", style_layers=["low", "high"], content_weight=2.0,
                style_weights=(3.0, 5.0), tv_weight=0.25)
    expected = {name: float(ops.convert_to_numpy(value)) for name, value in
                transfer.weighted_transfer_loss(extractor, content, style, **args)(image).items()}
    unweighted_style = [float(ops.convert_to_numpy(losses.style_reconstruction_loss(
        extractor(style)[layer][0], extractor(image)[layer][0]))) for layer in ("low", "high")]
    state = {}

    def build():
        state["loss"] = fn(extractor, content, style, **args)
        state["terms"] = state["loss"](ops.convert_to_tensor(image))
        if not isinstance(state["terms"], dict) or set(state["terms"]) != {"content", "style",
                                                                           "tv"}:
            return "return a function giving a dict with the keys 'content', 'style' and 'tv'"
        return None

    hints = {"content": [(expected["content"] / 2, "multiply the content loss by content_weight")],
             "style": [(expected["style"] * 2, "divide each layer's weight by the number of "
                                               "style layers, as the homework does"),
                       (sum(unweighted_style), "weight each layer's style loss")],
             "tv": [(expected["tv"] * 4, "multiply the total variation by tv_weight")]}
    checker.case("returns a function of the image giving the three terms", build)
    for term in ("content", "style", "tv"):
        checker.case(f"the weighted {term} term", lambda term=term: _compare(
            state["terms"][term], expected[term], hints[term], rtol=1e-3)
            if "terms" in state and isinstance(state["terms"], dict) and term in state["terms"]
            else "no value to check")
    return checker.finish()


#: Each exercise's check, for the grader.
CHECKS = {"feature_reconstruction_loss": check_feature_reconstruction_loss,
          "preprocess_image": check_preprocess_image, "deprocess_image": check_deprocess_image,
          "gram_matrix": check_gram_matrix,
          "style_reconstruction_loss": check_style_reconstruction_loss,
          "total_variation_loss": check_total_variation_loss, "Evaluator": check_evaluator,
          "weighted_transfer_loss": check_weighted_transfer_loss}
