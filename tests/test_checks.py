"""The exercise checks: the reference passes, unfinished work fails quietly, mistakes get hints."""

import re

import numpy as np
import pytest
from keras import ops

from nst_utils import backend, exercises, images, losses, transfer
from nst_utils.exercises import EXERCISES, references
from nst_utils.exercises.probing import attempt
from nst_utils.grader import notebooks, rules, wire

REFERENCES = references()


@pytest.mark.parametrize("name", sorted(exercises.CHECKS))
@pytest.mark.parametrize("seed", [exercises.STUDENT_SEED, 2**100 + 7])
def test_the_reference_earns_full_points(name, seed, capsys):
    result = exercises.CHECKS[name](REFERENCES[name], seed=seed)
    assert result.passed and result.points == EXERCISES[name].points
    out = capsys.readouterr().out
    assert "✗" not in out and out.count("✓") == result.cases


@pytest.mark.parametrize("name", sorted(exercises.CHECKS))
def test_unfinished_work_is_reported_not_raised(name, capsys):
    def unfinished(*args, **kwargs):
        raise NotImplementedError()

    result = exercises.CHECKS[name](unfinished)
    assert not result and result.points == 0
    assert "✗" in capsys.readouterr().out
    assert any("not implemented yet" in failure for failure in result.failures)


def failure_text(check, fn):
    result = check(fn, verbose=False)
    assert not result.passed
    return " | ".join(result.failures)


def test_content_loss_hints():
    text = failure_text(exercises.check_feature_reconstruction_loss,
                        lambda b, o: ops.mean(ops.square(o - b)))
    assert "sum over all elements, not the mean" in text and "expected 490.345" in text
    assert "no factor 1/2" in failure_text(exercises.check_feature_reconstruction_loss,
                                           lambda b, o: 0.5 * ops.sum(ops.square(o - b)))


def test_gram_hints_for_mean_wrong_reshape_order_and_loops():
    def mean_gram(x):
        return losses.gram_matrix(x) / (x.shape[0] * x.shape[1])

    def wrong_reshape(x):
        features = ops.reshape(x, (x.shape[-1], -1))
        return ops.matmul(features, ops.transpose(features))

    def wrong_order(x):
        features = ops.reshape(x, (-1, x.shape[-1]))
        return ops.matmul(features, ops.transpose(features))

    def looping(x):
        return ops.stack([ops.sum(x * x[:, :, k:k + 1], axis=(0, 1)) for k in range(x.shape[-1])])

    assert "do not divide by H*W" in failure_text(exercises.check_gram_matrix, mean_gram)
    assert "move the channel axis first" in failure_text(exercises.check_gram_matrix, wrong_reshape)
    assert "result must be C x C" in failure_text(exercises.check_gram_matrix, wrong_order)
    text = failure_text(exercises.check_gram_matrix, looping)
    assert "uses a loop" in text and "feature map:" not in text  # right values, but a loop


def test_style_loss_hints():
    def no_quarter(base, output):
        return 4 * losses.style_reconstruction_loss(base, output)

    def homework_sizes(base, output):
        h, w, _ = base.shape
        diff = losses.gram_matrix(base) - losses.gram_matrix(output)
        return ops.sum(ops.square(diff)) / (4 * (h * w) ** 2)

    assert "factor 1/4" in failure_text(exercises.check_style_reconstruction_loss, no_quarter)
    text = failure_text(exercises.check_style_reconstruction_loss, homework_sizes)
    assert "sizes differ" in text and "its own map's H*W" in text
    assert "random 10x10x4 maps" not in text  # equal sizes were right


def test_total_variation_hint_for_full_differences():
    def full(x):
        return (ops.sum(ops.square(x[:, 1:] - x[:, :-1]))
                + ops.sum(ops.square(x[:, :, 1:] - x[:, :, :-1])))

    assert "same (H-1) x (W-1) top-left block" in failure_text(
        exercises.check_total_variation_loss, full)


def test_preprocessing_hints():
    assert "reverse the channel axis" in failure_text(
        exercises.check_preprocess_image, lambda image: image[None] - images.VGG_MEAN_BGR)
    assert "shape (1, H, W, 3)" in failure_text(
        exercises.check_preprocess_image, lambda image: images.preprocess_image(image)[0])
    no_clip = lambda x, h, w: (np.reshape(x, (h, w, 3)) + images.VGG_MEAN_BGR)[:, :, ::-1]  # noqa
    text = failure_text(exercises.check_deprocess_image, no_clip)
    assert "dtype uint8" in text and "clip to 0-255" in text


def test_evaluator_that_evaluates_twice_loses_the_points():
    class Twice:
        def __init__(self, loss_fn, shape):
            self.loss_fn, self.shape = loss_fn, shape

        def _run(self, x):
            total, grads = backend.value_and_grad(
                lambda image: ops.sum(ops.stack(list(self.loss_fn(image).values()))))(
                    np.reshape(x, self.shape))
            return float(total), ops.convert_to_numpy(grads).ravel().astype(np.float64)

        def loss(self, x):
            return self._run(x)[0]

        def grads(self, x):
            return self._run(x)[1]

    result = exercises.check_evaluator(Twice, verbose=False)
    assert result.cases - len(result.failures) == 4
    assert "ran the loss 2 times, expected once" in result.failures[0]


def test_weighted_loss_hint_for_unaveraged_layer_weights():
    def unaveraged(extractor, content, style, content_layer, style_layers, content_weight,
                   style_weights, tv_weight):
        doubled = [w * len(style_layers) for w in style_weights]
        return transfer.weighted_transfer_loss(extractor, content, style, content_layer,
                                               style_layers, content_weight, doubled, tv_weight)

    text = failure_text(exercises.check_weighted_transfer_loss, unaveraged)
    assert "weighted style term" in text and "number of style layers" in text
    assert "content term" not in text


def test_other_seeds_give_other_inputs():
    seen = []
    exercises.check_feature_reconstruction_loss(lambda b, o: seen.append(float(ops.sum(b))) or 0.0,
                                             verbose=False)
    exercises.check_feature_reconstruction_loss(lambda b, o: seen.append(float(ops.sum(b))) or 0.0,
                                             seed=12345, verbose=False)
    assert len(seen) == 6 and seen[0] != seen[3]  # values, identical maps, gradient


# Answers written in NumPy: right values, but no gradient reaches the input.
def numpy_content(base, output):
    return np.sum((np.asarray(output) - np.asarray(base)) ** 2)


def numpy_gram(x):
    features = np.asarray(x).reshape(-1, x.shape[-1])
    return features.T @ features


def numpy_style(base, output):
    def normalized(x):  # .numpy(), as TensorFlow and PyTorch users write it (JAX has none)
        features = (x.numpy() if hasattr(x, "numpy") else np.asarray(x)).reshape(-1, x.shape[-1])
        return features.T @ features / (x.shape[0] * x.shape[1])

    return 0.25 * np.sum((normalized(base) - normalized(output)) ** 2)


def numpy_tv(x):
    x = np.asarray(x)
    corner = x[:, :-1, :-1]
    return float(np.sum((x[:, 1:, :-1] - corner) ** 2 + (x[:, :-1, 1:] - corner) ** 2))


def float_terms(extractor, content, style, content_layer, style_layers, content_weight,
                style_weights, tv_weight):
    loss = transfer.weighted_transfer_loss(extractor, content, style, content_layer,
                                           style_layers, content_weight, style_weights, tv_weight)
    return lambda image: {name: float(value) for name, value in loss(image).items()}


NUMPY_ANSWERS = {"feature_reconstruction_loss": numpy_content, "gram_matrix": numpy_gram,
                 "style_reconstruction_loss": numpy_style, "total_variation_loss": numpy_tv,
                 "weighted_transfer_loss": float_terms}


@pytest.mark.parametrize("name", sorted(NUMPY_ANSWERS))
def test_an_answer_without_gradient_fails_with_the_reason(name, capsys):
    result = exercises.CHECKS[name](NUMPY_ANSWERS[name])
    assert not result.passed and result.points == 0
    assert len(result.failures) == 1  # the values are right: only the gradient is missing
    (failure,) = result.failures
    assert failure.startswith("a gradient flows back to")
    assert "no gradient flows back to the input" in failure and "use keras.ops" in failure
    out = capsys.readouterr().out
    assert "✗ a gradient flows back to" in out and "optimiser could not use it" in out


def test_a_wrong_gradient_is_caught_even_when_the_value_is_right():
    def frozen(x):  # the right value with a gradient of zero
        return losses.total_variation_loss(ops.stop_gradient(x)) + 0.0 * ops.sum(x)

    text = failure_text(exercises.check_total_variation_loss, frozen)
    assert text.startswith("a gradient flows back to x, and is right: expected")
    assert text.endswith(", got 0")


def homework_tv(x):  # the course homework's part D, with K replaced by ops
    _, H, W, C = [int(j) for j in x.shape]
    a = ops.square(x[:, :H-1, :W-1, :] - x[:, 1:, :W-1, :])
    b = ops.square(x[:, :H-1, :W-1, :] - x[:, :H-1, 1:, :])

    return ops.sum(a+b)


def homework_style(base, output):  # the course homework's part C, with K replaced by ops
    H, W, C = [int(x) for x in base.shape]
    gram_base = losses.gram_matrix(base)
    gram_output = losses.gram_matrix(output)
    factor = 1 / (4 * (H*W)**2)
    loss = factor * ops.sum(ops.square(gram_output - gram_base))

    return loss


def test_unpacking_a_shape_is_not_a_loop(capsys):
    result = exercises.check_total_variation_loss(homework_tv)
    assert result.passed and result.points == 2 and "✓ no loops" in capsys.readouterr().out

    def sliced(x):
        height, width = [int(n) for n in ops.shape(x)[1:3]]
        return losses.total_variation_loss(x[:, :height, :width])

    assert exercises.check_total_variation_loss(sliced, verbose=False).passed
    # Part C passes the loop rule too; it fails only for maps of different sizes, which the
    # notebook asks for (it normalises by the style map's H*W alone).
    text = failure_text(exercises.check_style_reconstruction_loss, homework_style)
    assert text.startswith("style map 10x10x4, output 6x8x4 (sizes differ)") and "|" not in text


def test_a_loop_over_the_data_is_named_with_its_line():
    def indices(x):
        rows = []
        for k in range(x.shape[-1]):
            rows.append(ops.sum(x * x[:, :, k:k + 1], axis=(0, 1)))
        return ops.stack(rows)

    def values(x):
        return losses.total_variation_loss(x) + 0 * sum(v for v in ops.reshape(x, (-1,)))

    def waiting(x):
        total = losses.total_variation_loss(x)
        while False:
            pass
        return total

    first = indices.__code__.co_firstlineno
    text = failure_text(exercises.check_gram_matrix, indices)
    assert text == (f"no loops: uses a loop on line {first + 2} (for k in range(x.shape[-1]):); "
                    "this exercise asks for a vectorised version with keras.ops (only a loop "
                    "over a shape is allowed, such as H, W, C = [int(j) for j in x.shape])")
    text = failure_text(exercises.check_total_variation_loss, values)
    assert f"line {values.__code__.co_firstlineno + 1} (return losses" in text
    assert f"line {waiting.__code__.co_firstlineno + 2} (while False:)" in failure_text(
        exercises.check_total_variation_loss, waiting)


def test_a_blank_stub_is_not_called_loop_free(capsys):
    def total_variation_loss(x):
        '''Total variation of an image batch.'''
        # YOUR CODE HERE
        raise NotImplementedError()

    exercises.check_total_variation_loss(total_variation_loss)
    out = capsys.readouterr().out
    assert "✓" not in out
    assert ("✗ no loops — nothing to check yet: the function only raises NotImplementedError"
            in out)


def test_the_grader_applies_the_same_loop_rule_to_the_cell(tmp_path):
    cell = ("%%time\n"  # a magic, blanked: the line numbers stay the cell's
            "def gram_matrix(x):\n"
            "    H, W, C = [int(j) for j in x.shape]\n"
            "    return ops.stack([ops.sum(x * x[:, :, k:k + 1], axis=(0, 1))\n"
            "                      for k in range(C)])\n")
    source = notebooks.runnable(cell)
    assert rules.loop_problem([(3, source, ["gram_matrix"])], "gram_matrix").startswith(
        "uses a loop on line 5 (for k in range(C)]))")
    unpacking = source.replace("ops.stack([ops.sum(x * x[:, :, k:k + 1], axis=(0, 1))\n"
                               "                      for k in range(C)])",
                               "ops.matmul(ops.transpose(ops.reshape(x, (H * W, C))),\n"
                               "                      ops.reshape(x, (H * W, C)))")
    assert rules.loop_problem([(3, unpacking, ["gram_matrix"])], "gram_matrix") is None


def test_style_loss_hint_for_the_papers_normalisation():
    def mean_style(base, output):
        def normalized(x):
            return losses.gram_matrix(x) / ops.cast(ops.shape(x)[0] * ops.shape(x)[1], x.dtype)

        return 0.25 * ops.mean(ops.square(normalized(base) - normalized(output)))

    def paper_style(base, output):  # Gatys et al.'s 1/(4 N^2 M^2), N channels, M positions
        n, m = base.shape[-1], base.shape[0] * base.shape[1]
        diff = losses.gram_matrix(base) - losses.gram_matrix(output)
        return ops.sum(ops.square(diff)) / (4 * n**2 * m**2)

    hint = ("you divided by C^2 too: the paper's 1/(4 N^2 M^2), N = C channels (or a mean over "
            "the C*C Gram entries); the course's loss, as the homework's part C, is "
            "1/(4 (H*W)^2) times the sum: no channel count")
    for answer in (mean_style, paper_style):
        text = failure_text(exercises.check_style_reconstruction_loss, answer)
        assert "took the mean" not in text
        assert text.startswith("random 10x10x4 maps: expected")
        assert text.count(hint) == (2 if answer is mean_style else 1)  # the paper's: one size
    # Keras's PyTorch matmul is float32 (tests/test_losses.py): how many of the printed digits
    # agree there depends on the CPU's round-off, so the printed values are compared as numbers.
    text = failure_text(exercises.check_style_reconstruction_loss, mean_style)
    expected, got = map(float, re.search(r"expected ([\d.e+-]+), got ([\d.e+-]+)\.", text).groups())
    assert got == pytest.approx(expected / 16, rel=1e-5)  # C = 4 channels


def test_style_loss_hint_for_keras_examples_three_channels():
    def keras_example(base, output):  # Chollet's example: channels = 3, whatever the layer
        size = base.shape[0] * base.shape[1]
        diff = losses.gram_matrix(base) - losses.gram_matrix(output)
        return ops.sum(ops.square(diff)) / (4.0 * (3**2) * (size**2))

    text = failure_text(exercises.check_style_reconstruction_loss, keras_example)
    assert text.startswith("random 10x10x4 maps: expected") and "you divided by 3^2 = 9" in text
    assert "the paper's" not in text


STYLE_SEEDS = (exercises.STUDENT_SEED, 2, 3, 2**100 + 7)


@pytest.mark.parametrize("seed", STYLE_SEEDS)
def test_each_style_loss_mistake_gives_its_own_value_on_the_checks_shapes(seed):
    """The check's inputs tell the style loss's mistakes apart: on both cases, no two listed
    mistakes (nor one and the right answer) give values closer than the judge's tolerance, so
    each wrong answer gets its own hint (C = 4 channels: with C = 3 the paper's C^2 and
    Keras's 3^2 coincide, with C = 2 the paper's without its 1/4 is right)."""
    module = exercises.style_reconstruction_loss
    inputs = EXERCISES["style_reconstruction_loss"].inputs(seed)
    for base, output in ((inputs["base"], inputs["output"]), (inputs["base"], inputs["smaller"])):
        values = [(module._style_loss(base, output), "right")] + [
            (float(value), hint) for value, hint in module.hints_for(module.MISTAKES, base, output)
            if np.isfinite(value)]
        for i, (first, first_hint) in enumerate(values):
            for second, second_hint in values[i + 1:]:
                if first_hint == second_hint:
                    continue  # two ways of making one mistake
                same_size = base.shape == output.shape
                if same_size and {first_hint, second_hint} & {
                        EXERCISES["style_reconstruction_loss"].mistakes["style_size_only"].hint}:
                    continue  # normalising by the style map's size alone is right for equal sizes
                assert not np.isclose(first, second, rtol=1e-3), (first_hint, second_hint)


def test_the_style_loss_checks_use_four_channels():
    inputs = EXERCISES["style_reconstruction_loss"].inputs(exercises.STUDENT_SEED)
    assert {key: value.shape for key, value in inputs.items()} == {
        "base": (10, 10, 4), "output": (10, 10, 4), "smaller": (6, 8, 4)}


def test_preprocessing_that_ignores_or_swaps_dims_is_told_so():
    def ignores(image, dims=None):
        return images.preprocess_image(image)

    def pil_order(image, dims=None):  # PIL's resize takes (width, height)
        return images.preprocess_image(image, None if dims is None else dims[::-1])

    text = failure_text(exercises.check_preprocess_image, ignores)
    assert text == ("a 6x9 image of one colour resized to dims=(4, 6): expected shape "
                    "(1, 4, 6, 3), got (1, 6, 9, 3). Hint: resize the image to dims = (height, "
                    "width) when dims is given: the result must have shape (1, height, width, 3)")
    text = failure_text(exercises.check_preprocess_image, pil_order)
    assert "got (1, 6, 4, 3). Hint: dims is (height, width)" in text and "|" not in text
    text = failure_text(exercises.check_preprocess_image, lambda image: images.preprocess_image(
        image))
    assert text.startswith("a 6x9 image of one colour resized to dims=(4, 6): raised TypeError")


def test_any_resize_of_the_one_colour_image_passes():
    from PIL import Image

    def with_pil(image, dims=None):
        if dims is not None:
            image = np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize(
                (dims[1], dims[0]), Image.BICUBIC), np.float32)
        return images.preprocess_image(image)

    def nearest(image, dims=None):
        if dims is not None:
            rows = np.arange(dims[0]) * image.shape[0] // dims[0]
            cols = np.arange(dims[1]) * image.shape[1] // dims[1]
            image = image[rows][:, cols]
        return images.preprocess_image(image)

    for answer in (with_pil, nearest):
        assert exercises.check_preprocess_image(answer, verbose=False).passed


def recomputes_targets(extractor, content_batch, style_batch, content_layer, style_layers,
                       content_weight, style_weights, tv_weight):
    def loss(image):  # the targets again at every evaluation: right values, three runs
        return transfer.weighted_transfer_loss(
            extractor, content_batch, style_batch, content_layer, style_layers, content_weight,
            style_weights, tv_weight)(image)

    return loss


def test_weighted_loss_that_recomputes_its_targets_loses_the_points(capsys):
    result = exercises.check_weighted_transfer_loss(recomputes_targets)
    assert not result and result.cases - len(result.failures) == 5
    (failure,) = result.failures
    assert failure == (
        "the targets are computed once, when the loss is built: loss(image) ran the network 3 "
        "times, expected once (0 while building). Hint: compute the content features and style "
        "Gram matrices once, before defining loss(image), which runs at every step: it should "
        "run the network on the image only")
    assert "✗ the targets are computed once" in capsys.readouterr().out


def test_the_network_runs_are_counted_while_building_and_evaluating():
    record = EXERCISES["weighted_transfer_loss"]
    inputs = record.inputs(exercises.STUDENT_SEED)
    right = record.probe(REFERENCES["weighted_transfer_loss"], inputs)["network_runs"]
    again = record.probe(recomputes_targets, inputs)["network_runs"]
    assert right.tolist() == [2, 1] and again.tolist() == [0, 3]


def forgets_return(exercise):
    """The library's answer to `exercise` with its `return` forgotten: it computes, returns None."""
    reference = REFERENCES[exercise]
    if exercise == "Evaluator":
        class NoReturn(reference):
            def loss(self, x):
                super().loss(x)

        return NoReturn
    if exercise == "weighted_transfer_loss":
        def weighted(*args, **kwargs):
            loss = reference(*args, **kwargs)

            def no_return(image):
                loss(image)

            return no_return

        return weighted
    return lambda *args: [reference(*args), None][1]


def test_a_forgotten_return_is_named_not_called_nan():
    for exercise in EXERCISES:
        text = failure_text(exercises.CHECKS[exercise], forgets_return(exercise))
        assert "did you forget `return`?" in text and "nan" not in text, (exercise, text)
    text = failure_text(exercises.check_weighted_transfer_loss,
                        lambda *args, **kw: [transfer.weighted_transfer_loss(*args, **kw), None][1])
    assert text.startswith("returns a function of the image giving the three terms: "
                           "weighted_transfer_loss: your function returned None: did you "
                           "forget `return`?")
    text = failure_text(exercises.check_weighted_transfer_loss,
                        forgets_return("weighted_transfer_loss"))
    assert "three terms: loss(image): your function returned None" in text


def test_total_variation_hints_for_l1_and_one_direction():
    def l1(x):
        corner = x[:, :-1, :-1, :]
        return ops.sum(ops.abs(x[:, 1:, :-1, :] - corner) + ops.abs(x[:, :-1, 1:, :] - corner))

    def down_only(x):
        return ops.sum(ops.square(x[:, 1:, :-1, :] - x[:, :-1, :-1, :]))

    def right_only(x):
        return ops.sum(ops.square(x[:, :, 1:, :] - x[:, :, :-1, :]))

    assert "expected 978.12, got 602.467. Hint: square the differences instead of taking their " \
           "absolute values: this total variation is the squared (L2) one, not the L1 one" in (
               failure_text(exercises.check_total_variation_loss, l1))
    for one_way in (down_only, right_only):
        assert "Hint: you took the differences in one direction only: add the squared " \
               "differences to the pixel below and to the pixel on the right" in (
                   failure_text(exercises.check_total_variation_loss, one_way))


class Watched:
    """A right Evaluator that the next ones break in one place each."""

    def __init__(self, loss_fn, shape):
        self.loss_fn, self.shape, self._x = loss_fn, tuple(shape), None

    def _values(self, x):
        total, grads = backend.value_and_grad(self._total)(np.reshape(x, self.shape))
        return float(total), ops.convert_to_numpy(grads).ravel().astype(np.float64)

    def _total(self, image):
        return ops.sum(ops.stack(list(self.loss_fn(image).values())))

    def loss(self, x):
        if self._stale(x):
            self._x, (self._loss, self._grads) = np.array(x), self._values(x)
        return self._loss

    def _stale(self, x):
        return self._x is None or not np.array_equal(x, self._x)

    def grads(self, x):
        self.loss(x)
        return self._grads


def test_the_evaluator_pattern_above_is_right():
    assert exercises.check_evaluator(Watched, verbose=False).passed


class TotalWithoutReturn(Watched):
    def _total(self, image):
        super()._total(image)


def test_an_evaluator_whose_total_returns_none_is_told_so():
    failures = exercises.check_evaluator(TotalWithoutReturn, verbose=False).failures
    assert failures[0].startswith("loss(x) is the sum of the loss terms: raised ")
    assert failures[0].endswith("Hint: a function returned None where a value was needed: did "
                                "you forget `return`?")
    assert "in user code" not in failures[0]


def test_evaluator_that_caches_forever_is_told_to_recompute():
    result = exercises.check_evaluator(Forever, verbose=False)
    assert result.cases - len(result.failures) == 3
    runs, fresh = result.failures
    assert runs.startswith("one evaluation serves loss(x) and grads(x): loss(x) then grads(x) "
                           "at a new point did not run the loss at all. Hint: the Evaluator "
                           "kept the values of an earlier point; a new x needs a new evaluation")
    assert fresh.startswith("a new point gives a new loss and gradient: expected")
    assert fresh.endswith("Hint: grads(x) returned the gradient of an earlier point: evaluate "
                          "again whenever x is not the point it kept")


def test_the_gradient_weights_are_drawn_with_the_inputs():
    seeds = (exercises.STUDENT_SEED, exercises.STUDENT_SEED, 2**100 + 7)
    first, again, other = (EXERCISES["gram_matrix"].inputs(seed) for seed in seeds)
    np.testing.assert_array_equal(first["weights"], again["weights"])  # the students' checks
    assert not np.allclose(first["weights"], other["weights"])  # the grader's fresh seeds
    assert first["weights"].shape == (6, 6) and first["x1"].shape == (4, 5, 6)


# Every classic mistake of the exercises' records, made on purpose: its hint must name it.

def ops_gram(x):
    features = ops.reshape(x, (-1, ops.shape(x)[-1]))
    return ops.matmul(ops.transpose(features), features)


def area(x):
    return x.shape[0] * x.shape[1]


def wrong_library_terms(**changes):
    """A weighted_transfer_loss that calls the library's with some arguments changed."""
    def weighted(extractor, content, style, content_layer, style_layers, content_weight,
                 style_weights, tv_weight):
        arguments = dict(content_layer=content_layer, style_layers=style_layers,
                         content_weight=content_weight, style_weights=style_weights,
                         tv_weight=tv_weight)
        arguments.update({key: change(arguments) for key, change in changes.items()})
        return transfer.weighted_transfer_loss(extractor, content, style, **arguments)

    return weighted


def swapped(extractor, content, style, content_layer, style_layers, content_weight,
            style_weights, tv_weight):
    return transfer.weighted_transfer_loss(extractor, style, content, content_layer,
                                           style_layers, content_weight, style_weights, tv_weight)


def without_tv(*args, **kwargs):
    loss = transfer.weighted_transfer_loss(*args, **kwargs)
    return lambda image: {key: value for key, value in loss(image).items() if key != "tv"}


def tv_block(x):
    corner = x[:, :-1, :-1, :]
    return ops.square(x[:, 1:, :-1, :] - corner), ops.square(x[:, :-1, 1:, :] - corner)


def channels_first_tv(x):  # x read as (1, C, H, W)
    corner = x[:, :, :-1, :-1]
    return ops.sum(ops.square(x[:, :, 1:, :-1] - corner) + ops.square(x[:, :, :-1, 1:] - corner))


def deprocessed(transform):
    def deprocess(x, height, width):
        return transform(np.reshape(x, (height, width, 3)))

    return deprocess


class FirstTermOnly(Watched):
    def _total(self, image):
        return list(self.loss_fn(image).values())[0]


class GradientOfFirstTerm(Watched):
    def _values(self, x):
        return super()._values(x)[0], FirstTermOnly(self.loss_fn, self.shape)._values(x)[1]


class Float32(Watched):
    def grads(self, x):
        return super().grads(x).astype(np.float32)


class NotFlat(Watched):
    def grads(self, x):
        return super().grads(x).reshape(self.shape)


class EvaluatesTwice(Watched):
    def loss(self, x):
        self._x = None
        return super().loss(x)

    def grads(self, x):
        self._x = None
        return super().grads(x)


class Forever(Watched):
    def _stale(self, x):
        return self._x is None  # computes once, at the first point, and never again


MEAN_BGR = images.VGG_MEAN_BGR
WRONG_ANSWERS = {
    ("feature_reconstruction_loss", "mean"): lambda b, o: ops.mean(ops.square(o - b)),
    ("feature_reconstruction_loss", "half"): lambda b, o: 0.5 * ops.sum(ops.square(o - b)),
    ("feature_reconstruction_loss", "square_root"):
        lambda b, o: ops.sqrt(ops.sum(ops.square(o - b))),
    ("feature_reconstruction_loss", "absolute"): lambda b, o: ops.sum(ops.abs(o - b)),
    ("feature_reconstruction_loss", "not_squared"): lambda b, o: ops.sum(b - o),
    ("gram_matrix", "divided_by_positions"): lambda x: ops_gram(x) / area(x),
    ("gram_matrix", "divided_by_size"): lambda x: ops_gram(x) / (area(x) * x.shape[-1]),
    ("gram_matrix", "wrong_order"): lambda x: ops.matmul(
        ops.reshape(x, (-1, x.shape[-1])), ops.transpose(ops.reshape(x, (-1, x.shape[-1])))),
    ("gram_matrix", "wrong_reshape"): lambda x: ops.matmul(
        ops.reshape(x, (x.shape[-1], -1)), ops.transpose(ops.reshape(x, (x.shape[-1], -1)))),
    ("gram_matrix", "centred"): lambda x: ops_gram(x - ops.mean(x, axis=(0, 1))),
    ("style_reconstruction_loss", "unnormalised"):
        lambda b, o: 0.25 * ops.sum(ops.square(ops_gram(b) - ops_gram(o))),
    ("style_reconstruction_loss", "no_quarter"):
        lambda b, o: 4 * losses.style_reconstruction_loss(b, o),
    ("style_reconstruction_loss", "divided_once"):
        lambda b, o: ops.sum(ops.square(ops_gram(b) - ops_gram(o))) / (4 * area(b)),
    ("style_reconstruction_loss", "style_size_only"): homework_style,
    ("style_reconstruction_loss", "paper"): lambda b, o: 0.25 * ops.mean(ops.square(
        losses.normalized_gram(b) - losses.normalized_gram(o))),
    ("style_reconstruction_loss", "channels_3"):
        lambda b, o: ops.sum(ops.square(ops_gram(b) - ops_gram(o))) / (36 * area(b) ** 2),
    ("style_reconstruction_loss", "paper_no_quarter"): lambda b, o: ops.mean(ops.square(
        losses.normalized_gram(b) - losses.normalized_gram(o))),
    ("style_reconstruction_loss", "mean_unnormalised"):
        lambda b, o: 0.25 * ops.mean(ops.square(ops_gram(b) - ops_gram(o))),
    ("style_reconstruction_loss", "feature_maps"):
        lambda b, o: ops.sum(ops.square(b - o)) / (4 * area(b) ** 2),
    ("total_variation_loss", "whole_image"):
        lambda x: (ops.sum(ops.square(x[:, 1:] - x[:, :-1]))
                   + ops.sum(ops.square(x[:, :, 1:] - x[:, :, :-1]))),
    ("total_variation_loss", "mean"): lambda x: ops.mean(sum(tv_block(x))),
    ("total_variation_loss", "absolute"): lambda x: ops.sum(sum(ops.sqrt(d) for d in tv_block(x))),
    ("total_variation_loss", "one_direction"): lambda x: ops.sum(tv_block(x)[1]),
    ("total_variation_loss", "square_root"): lambda x: ops.sum(ops.sqrt(sum(tv_block(x)))),
    ("total_variation_loss", "channel_axis"): channels_first_tv,
    ("preprocess_image", "rgb"): lambda image: image[None] - MEAN_BGR,
    ("preprocess_image", "no_mean"): lambda image: image[None, :, :, ::-1],
    ("preprocess_image", "no_batch_axis"): lambda image: image[:, :, ::-1] - MEAN_BGR,
    ("preprocess_image", "mean_in_rgb_order"):
        lambda image: (image - MEAN_BGR)[None, :, :, ::-1],
    ("preprocess_image", "scaled"): lambda image: (image / 255)[None, :, :, ::-1] - MEAN_BGR,
    ("preprocess_image", "ignored_dims"): lambda image, dims=None: images.preprocess_image(image),
    ("preprocess_image", "dims_swapped"): lambda image, dims=None: images.preprocess_image(
        image, None if dims is None else dims[::-1]),
    ("deprocess_image", "bgr"):
        deprocessed(lambda x: np.clip(x + MEAN_BGR, 0, 255).astype(np.uint8)),
    ("deprocess_image", "no_mean"):
        deprocessed(lambda x: np.clip(x[:, :, ::-1], 0, 255).astype(np.uint8)),
    ("deprocess_image", "no_clip"): deprocessed(lambda x: (x + MEAN_BGR)[:, :, ::-1].astype(
        np.int64).astype(np.uint8)),
    ("deprocess_image", "not_uint8"):
        deprocessed(lambda x: np.clip((x + MEAN_BGR)[:, :, ::-1], 0, 255)),
    ("Evaluator", "one_term"): FirstTermOnly,
    ("Evaluator", "gradient_of_one_term"): GradientOfFirstTerm,
    ("Evaluator", "evaluates_twice"): EvaluatesTwice,
    ("Evaluator", "never_recomputes"): Forever,
    ("Evaluator", "stale_values"): Forever,
    ("Evaluator", "float32"): Float32,
    ("Evaluator", "not_flat"): NotFlat,
    ("weighted_transfer_loss", "content_unweighted"):
        wrong_library_terms(content_weight=lambda a: 1.0),
    ("weighted_transfer_loss", "layer_weights_not_averaged"): wrong_library_terms(
        style_weights=lambda a: [w * len(a["style_layers"]) for w in a["style_weights"]]),
    ("weighted_transfer_loss", "style_unweighted"): wrong_library_terms(
        style_weights=lambda a: [len(a["style_layers"])] * len(a["style_layers"])),
    ("weighted_transfer_loss", "tv_unweighted"): wrong_library_terms(tv_weight=lambda a: 1.0),
    ("weighted_transfer_loss", "content_at_a_style_layer"):
        wrong_library_terms(content_layer=lambda a: a["style_layers"][0]),
    ("weighted_transfer_loss", "swapped"): swapped,
    ("weighted_transfer_loss", "missing_terms"): without_tv,
    ("weighted_transfer_loss", "targets_recomputed"): recomputes_targets,
    **{(name, "forgot_return"): forgets_return(name) for name in REFERENCES},
    **{(name, "outside_ops"): answer for name, answer in NUMPY_ANSWERS.items()},
}


def test_every_classic_mistake_is_made_below():
    assert set(WRONG_ANSWERS) == {(exercise, name) for exercise, record in EXERCISES.items()
                                  for name in record.mistakes}


def wrong_answer(exercise, mistake):
    """The answer of WRONG_ANSWERS that makes `mistake`."""
    return WRONG_ANSWERS[exercise, mistake]


@pytest.mark.parametrize("exercise, mistake", sorted(WRONG_ANSWERS))
def test_each_classic_mistake_gets_the_hint_that_names_it(exercise, mistake):
    text = failure_text(exercises.CHECKS[exercise], wrong_answer(exercise, mistake))
    assert EXERCISES[exercise].mistakes[mistake].hint in text, text


def test_a_shape_mismatch_is_a_sentence_naming_the_shapes():
    text = failure_text(exercises.check_weighted_transfer_loss, swapped)
    first = text.split(" | ")[0]
    assert first == ("returns a function of the image giving the three terms: failed: it "
                     "combined arrays whose shapes do not match, (4, 4, 3) and (3, 5, 3). Hint: "
                     "content and style swapped? The content term compares the image with the "
                     "content image; the style image enters only through Gram matrices (it "
                     "received a content image (1, 8, 8, 3) and a style image (1, 6, 10, 3))")
    assert first.index("Gram matrices") < 300  # what the gradebook keeps of a reason
    for internal in ("InvalidArgumentError", "function_node", "Op:", "job:localhost"):
        assert internal not in text


@pytest.mark.parametrize("message, sentence", [
    ("{{function_node __wrapped__Sub_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
     "Incompatible shapes: [4,4,3] vs. [3,5,3] [Op:Sub] name: ",  # TensorFlow
     "failed: it combined arrays whose shapes do not match, (4, 4, 3) and (3, 5, 3)"),
    ("Incompatible shapes for broadcasting: shapes=[(4, 4, 3), (3, 5, 3)]",  # JAX
     "arrays whose shapes do not match, (4, 4, 3) and (3, 5, 3)"),
    ("sub got incompatible shapes for broadcasting: (4, 4, 3), (3, 5, 3).",  # newer JAX
     "arrays whose shapes do not match, (4, 4, 3) and (3, 5, 3)"),
    ("The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1",
     "arrays whose shapes do not match, (4) and (3)"),  # PyTorch
    ("operands could not be broadcast together with shapes (4,4,3) (3,5,3) ",  # NumPy
     "arrays whose shapes do not match, (4, 4, 3) and (3, 5, 3)"),
    ("cannot compute Sub as input #1(zero-based) was expected to be a double tensor but is a "
     "float tensor [Op:Sub] name: ",
     "failed: it combined float64 and float32 values, which this backend does not mix; convert "
     "one of them with ops.cast"),
    ("expected scalar type Double but found Float", "combined float64 and float32 values"),
    ("{{function_node __wrapped__Foo}} something else [Op:Foo] name: bar",
     "raised ValueError: something else"),
    ("in user code:\n\n    File \"/x/nst_utils/backend.py\", line 98, in run  *\n        return "
     "out, tape.gradient(_split(out, has_aux), x)\n\n    TypeError: Argument `target` should be a "
     "list or nested structure of Tensors, Variables or CompositeTensors to be differentiated, "
     "but received None.\n",  # TensorFlow, a compiled function that returned None
     "raised TypeError: Argument `target` should be a list or nested structure of Tensors, "
     "Variables or CompositeTensors to be differentiated, but received None. Hint: a function "
     "returned None where a value was needed: did you forget `return`?"),
    ("Gradient only defined for scalar-output functions. Output was None.",  # JAX
     "Output was None. Hint: a function returned None where a value was needed"),
])
def test_a_framework_error_reaches_students_as_a_sentence(message, sentence):
    def raising():
        raise ValueError(message)

    failure = attempt(raising)
    assert sentence in failure
    assert not any(word in failure for word in ("function_node", "Op:", "name:", "zero-based"))


#: Mistakes whose wrong answer fails an earlier case first, with that case's hint.
FIRST_FAILS_ELSEWHERE = {("Evaluator", "stale_values"): "never_recomputes"}


@pytest.mark.parametrize("exercise, mistake", sorted(WRONG_ANSWERS))
def test_the_gradebook_keeps_the_hint(exercise, mistake):
    """The grader records an exercise's first failure, cut to 300 characters (wire.MAX_TEXT)."""
    shown = FIRST_FAILS_ELSEWHERE.get((exercise, mistake), mistake)
    result = exercises.CHECKS[exercise](wrong_answer(exercise, mistake), verbose=False)
    reason = result.failures[0][:wire.MAX_TEXT]
    assert EXERCISES[exercise].mistakes[shown].hint in reason
