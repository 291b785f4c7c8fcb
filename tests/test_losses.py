"""The loss functions against values worked out by hand and against plain NumPy."""

import numpy as np
import pytest
from keras import ops

from nst_utils import backend
from nst_utils.losses import (
    feature_reconstruction_loss,
    gram_matrix,
    normalized_gram,
    style_reconstruction_loss,
    total_variation_l1,
    total_variation_loss,
)

#: The tolerance of float64 arithmetic. Keras's PyTorch backend computes ops.matmul of float64
#: tensors in float32 (Keras 3.15: its result_type of two torch.float64 is float32), so there
#: the Gram matrix is exact to float32 only.
FLOAT64_RTOL, FLOAT64_ATOL = (1e-6, 1e-5) if backend.NAME == "torch" else (1e-12, 0.0)

# A 2x1 feature map with 2 channels: positions (1, 2) and (3, 4).
TWO_BY_ONE = np.array([[[1.0, 2.0]], [[3.0, 4.0]]])


def value(tensor):
    return ops.convert_to_numpy(tensor)


def test_content_loss_is_the_plain_sum_of_squares():
    base = np.array([[[1.0, 2.0]]])
    output = np.array([[[3.0, 5.0]]])
    assert value(feature_reconstruction_loss(base, output)) == pytest.approx(2**2 + 3**2)


def test_content_loss_matches_numpy_on_random_maps():
    rng = np.random.default_rng(1)
    base, output = rng.normal(size=(2, 10, 10, 3))
    expected = np.sum((output - base) ** 2)
    assert value(feature_reconstruction_loss(base, output)) == pytest.approx(expected, rel=1e-12)


def test_gram_matrix_by_hand():
    # G[k, k'] = sum over positions of a[k] * a[k']: [[1+9, 2+12], [2+12, 4+16]].
    np.testing.assert_allclose(value(gram_matrix(TWO_BY_ONE)), [[10.0, 14.0], [14.0, 20.0]])


def test_gram_matrix_matches_an_explicit_double_sum_and_is_symmetric_psd():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 5, 6))
    expected = np.einsum("ijk,ijl->kl", x, x)
    gram = value(gram_matrix(x))
    np.testing.assert_allclose(gram, expected, rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL)
    np.testing.assert_allclose(gram, gram.T, rtol=max(FLOAT64_RTOL, 1e-7), atol=FLOAT64_ATOL)
    assert np.linalg.eigvalsh(gram).min() > -1e-9


def test_gram_matrix_ignores_where_features_are():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 7, 4))
    shuffled = rng.permutation(x.reshape(-1, 4)).reshape(6, 7, 4)
    np.testing.assert_allclose(value(gram_matrix(shuffled)), value(gram_matrix(x)),
                               rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL)


def test_style_loss_by_hand():
    # G(base) = [[10, 14], [14, 20]], G(zeros) = 0, H*W = 2: (100 + 196 + 196 + 400) / (4 * 2**2).
    zeros = np.zeros_like(TWO_BY_ONE)
    assert value(style_reconstruction_loss(TWO_BY_ONE, zeros)) == pytest.approx(892 / 16)


def test_style_loss_matches_the_homework_formula_for_equal_sizes():
    rng = np.random.default_rng(4)
    base, output = rng.normal(size=(2, 10, 10, 3))
    gram = lambda a: np.einsum("ijk,ijl->kl", a, a)  # noqa: E731
    expected = np.sum((gram(base) - gram(output)) ** 2) / (4 * (10 * 10) ** 2)
    assert value(style_reconstruction_loss(base, output)) == pytest.approx(
        expected, rel=max(FLOAT64_RTOL, 1e-10))


def test_style_loss_normalises_each_map_by_its_own_size():
    # base: G/2 = [[5, 7], [7, 10]]; output (1x1, value (1, 1)): G/1 = [[1, 1], [1, 1]].
    output = np.array([[[1.0, 1.0]]])
    expected = 0.25 * (4**2 + 6**2 + 6**2 + 9**2)
    assert value(style_reconstruction_loss(TWO_BY_ONE, output)) == pytest.approx(expected)
    np.testing.assert_allclose(value(normalized_gram(TWO_BY_ONE)), [[5.0, 7.0], [7.0, 10.0]])


def test_style_loss_is_zero_for_a_tiled_copy_of_the_style():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(3, 3, 4))
    tiled = np.tile(base, (2, 3, 1))
    assert value(style_reconstruction_loss(base, tiled)) == pytest.approx(0.0, abs=1e-10)


def test_total_variation_by_hand():
    # Only the top-left pixel has both neighbours inside the 1x1 block: (2-1)^2 + (4-1)^2.
    x = np.array([[1.0, 2.0], [4.0, 8.0]]).reshape(1, 2, 2, 1)
    assert value(total_variation_loss(x)) == pytest.approx(10.0)


def test_total_variation_matches_loops():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(1, 5, 7, 3))
    expected = sum((x[0, i, j + 1, c] - x[0, i, j, c]) ** 2
                   + (x[0, i + 1, j, c] - x[0, i, j, c]) ** 2
                   for c in range(3) for i in range(4) for j in range(6))
    assert value(total_variation_loss(x)) == pytest.approx(expected, rel=1e-12)


def test_total_variation_l1_by_hand_and_against_loops():
    # The same block as the squared form: |2-1| + |4-1|.
    x = np.array([[1.0, 2.0], [4.0, 8.0]]).reshape(1, 2, 2, 1)
    assert value(total_variation_l1(x)) == pytest.approx(4.0)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(1, 5, 7, 3))
    expected = sum(abs(x[0, i, j + 1, c] - x[0, i, j, c]) + abs(x[0, i + 1, j, c] - x[0, i, j, c])
                   for c in range(3) for i in range(4) for j in range(6))
    assert value(total_variation_l1(x)) == pytest.approx(expected, rel=1e-12)


def test_squares_pay_less_for_a_ramp_than_for_a_step_and_absolute_values_the_same():
    # An edge of height 8 as one step or as a ramp of four steps of 2 (why squares blur edges).
    step = np.array([0, 0, 0, 8, 8, 8, 8, 8], dtype=float)
    ramp = np.array([0, 0, 2, 4, 6, 8, 8, 8], dtype=float)
    as_image = [np.tile(row, (2, 1)).reshape(1, 2, 8, 1) for row in (step, ramp)]
    assert [float(value(total_variation_loss(x))) for x in as_image] == [64.0, 16.0]
    assert [float(value(total_variation_l1(x))) for x in as_image] == [8.0, 8.0]


@pytest.mark.parametrize("loss", ["style", "tv"])
def test_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(7)
    # Float64 throughout on TensorFlow; a coarser step and tolerance on PyTorch, whose Keras
    # matmul is float32 (FLOAT64_RTOL), and on JAX, should x64 be off.
    precise = backend.NAME == "tensorflow" or (backend.NAME == "jax" and np.asarray(
        ops.convert_to_tensor(np.zeros(1))).dtype == np.float64)
    base = ops.convert_to_tensor(rng.normal(size=(3, 4, 2)))
    x0 = rng.normal(size=(1, 3, 4, 2))
    f = {"style": lambda x: style_reconstruction_loss(base, x[0]),
         "tv": total_variation_loss}[loss]
    grad = backend.gradient(f, x0)
    numeric = np.zeros_like(x0)
    eps = 1e-6 if precise else 1e-2
    for index in np.ndindex(x0.shape):
        step = np.zeros_like(x0)
        step[index] = eps
        numeric[index] = (value(f(x0 + step)) - value(f(x0 - step))) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6 if precise else 1e-3,
                               atol=1e-8 if precise else 1e-3)
