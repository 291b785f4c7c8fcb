"""The exercise checks: the reference passes, unfinished work fails quietly, mistakes get hints."""

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from nst_utils import checks, images, losses, transfer
from nst_utils.optimize import Evaluator

REFERENCES = {"feature_reconstruction_loss": losses.feature_reconstruction_loss,
              "preprocess_image": images.preprocess_image,
              "deprocess_image": images.deprocess_image, "gram_matrix": losses.gram_matrix,
              "style_reconstruction_loss": losses.style_reconstruction_loss,
              "total_variation_loss": losses.total_variation_loss, "Evaluator": Evaluator,
              "weighted_transfer_loss": transfer.weighted_transfer_loss}


@pytest.mark.parametrize("name", sorted(checks.CHECKS))
@pytest.mark.parametrize("seed", [checks.STUDENT_SEED, 2**100 + 7])
def test_the_reference_earns_full_points(name, seed, capsys):
    result = checks.CHECKS[name](REFERENCES[name], seed=seed)
    assert result.passed and result.points == checks.POINTS[name]
    out = capsys.readouterr().out
    assert "✗" not in out and out.count("✓") == result.cases


@pytest.mark.parametrize("name", sorted(checks.CHECKS))
def test_unfinished_work_is_reported_not_raised(name, capsys):
    def unfinished(*args, **kwargs):
        raise NotImplementedError()

    result = checks.CHECKS[name](unfinished)
    assert not result and result.points == 0
    assert "✗" in capsys.readouterr().out
    assert any("not implemented yet" in failure for failure in result.failures)


def failure_text(check, fn):
    result = check(fn, verbose=False)
    assert not result.passed
    return " | ".join(result.failures)


def test_content_loss_hints():
    text = failure_text(checks.check_feature_reconstruction_loss,
                        lambda b, o: ops.mean(ops.square(o - b)))
    assert "sum over all elements, not the mean" in text and "expected 490.345" in text
    assert "no factor 1/2" in failure_text(checks.check_feature_reconstruction_loss,
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

    assert "do not divide by H*W" in failure_text(checks.check_gram_matrix, mean_gram)
    assert "move the channel axis first" in failure_text(checks.check_gram_matrix, wrong_reshape)
    assert "result must be C x C" in failure_text(checks.check_gram_matrix, wrong_order)
    text = failure_text(checks.check_gram_matrix, looping)
    assert "uses a loop" in text and "feature map:" not in text  # right values, but a loop


def test_style_loss_hints():
    def no_quarter(base, output):
        return 4 * losses.style_reconstruction_loss(base, output)

    def homework_sizes(base, output):
        h, w, _ = base.shape
        diff = losses.gram_matrix(base) - losses.gram_matrix(output)
        return ops.sum(ops.square(diff)) / (4 * (h * w) ** 2)

    assert "factor 1/4" in failure_text(checks.check_style_reconstruction_loss, no_quarter)
    text = failure_text(checks.check_style_reconstruction_loss, homework_sizes)
    assert "sizes differ" in text and "its own map's H*W" in text
    assert "random 10x10x3 maps" not in text  # equal sizes were right


def test_total_variation_hint_for_full_differences():
    def full(x):
        return (ops.sum(ops.square(x[:, 1:] - x[:, :-1]))
                + ops.sum(ops.square(x[:, :, 1:] - x[:, :, :-1])))

    assert "same (H-1) x (W-1) top-left block" in failure_text(
        checks.check_total_variation_loss, full)


def test_preprocessing_hints():
    assert "reverse the channel axis" in failure_text(
        checks.check_preprocess_image, lambda image: image[None] - images.VGG_MEAN_BGR)
    assert "shape (1, H, W, 3)" in failure_text(
        checks.check_preprocess_image, lambda image: images.preprocess_image(image)[0])
    no_clip = lambda x, h, w: (np.reshape(x, (h, w, 3)) + images.VGG_MEAN_BGR)[:, :, ::-1]  # noqa
    text = failure_text(checks.check_deprocess_image, no_clip)
    assert "dtype uint8" in text and "clip to 0-255" in text


def test_evaluator_that_evaluates_twice_loses_the_points():
    class Twice:
        def __init__(self, loss_fn, shape):
            self.loss_fn, self.shape = loss_fn, shape

        def _run(self, x):
            image = tf.constant(np.reshape(x, self.shape), tf.float32)
            with tf.GradientTape() as tape:
                tape.watch(image)
                total = ops.sum(ops.stack(list(self.loss_fn(image).values())))
            return float(total), tape.gradient(total, image).numpy().ravel().astype(np.float64)

        def loss(self, x):
            return self._run(x)[0]

        def grads(self, x):
            return self._run(x)[1]

    result = checks.check_evaluator(Twice, verbose=False)
    assert result.cases - len(result.failures) == 4
    assert "ran the loss 2 times, expected once" in result.failures[0]


def test_weighted_loss_hint_for_unaveraged_layer_weights():
    def unaveraged(extractor, content, style, content_layer, style_layers, content_weight,
                   style_weights, tv_weight):
        doubled = [w * len(style_layers) for w in style_weights]
        return transfer.weighted_transfer_loss(extractor, content, style, content_layer,
                                               style_layers, content_weight, doubled, tv_weight)

    text = failure_text(checks.check_weighted_transfer_loss, unaveraged)
    assert "weighted style term" in text and "number of style layers" in text
    assert "content term" not in text


def test_other_seeds_give_other_inputs():
    seen = []
    checks.check_feature_reconstruction_loss(lambda b, o: seen.append(float(ops.sum(b))) or 0.0,
                                             verbose=False)
    checks.check_feature_reconstruction_loss(lambda b, o: seen.append(float(ops.sum(b))) or 0.0,
                                             seed=12345, verbose=False)
    assert len(seen) == 6 and seen[0] != seen[3]  # values, identical maps, gradient
