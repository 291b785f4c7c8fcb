"""The Evaluator, the four optimisers and style_transfer() end to end on tiny images."""

import errno
import os
import tempfile

import numpy as np
import pytest
from keras import ops
from PIL import Image

from nst_utils import Evaluator, NSTError, build_vgg, load_image, minimize, style_transfer, transfer
from nst_utils.defaults import WEIGHT_KEYS, loss_settings
from nst_utils.losses import feature_reconstruction_loss
from nst_utils.optimize import levelled_off
from nst_utils.transfer import IMAGES_DIR

CONTENT, STYLE = IMAGES_DIR / "chelsea.jpg", IMAGES_DIR / "scream.jpg"
#: The loss weights these tests were written with: the homework's, style_transfer()'s defaults
#: before the demo's became them.
HOMEWORK = loss_settings("homework", WEIGHT_KEYS)
TINY = dict(max_size=48, iterations=5, progress=False, **HOMEWORK)


def quadratic_evaluator(target):
    return Evaluator(lambda image: {"content": feature_reconstruction_loss(target, image)},
                     target.shape)


def test_evaluator_gives_loss_and_grads_from_one_evaluation():
    target = np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3)
    evaluator = quadratic_evaluator(target)
    x = np.zeros(12)
    assert evaluator.loss(x) == pytest.approx(np.sum(target**2))
    grads = evaluator.grads(x)
    assert grads.dtype == np.float64
    np.testing.assert_allclose(grads, -2 * target.ravel())
    assert evaluator.evaluations == 1  # grads() reused the evaluation loss() made
    loss, grads = evaluator(x + 1)
    assert evaluator.evaluations == 2 and loss == pytest.approx(np.sum((target - 1) ** 2))


def test_evaluator_gradient_through_vgg_matches_finite_differences():
    model = build_vgg("vgg16", layers=["block2_conv1"])
    target = model(np.zeros((1, 12, 12, 3), np.float32))["block2_conv1"]
    evaluator = Evaluator(
        lambda image: {"c": feature_reconstruction_loss(target, model(image)["block2_conv1"])},
        (1, 12, 12, 3))
    rng = np.random.default_rng(0)
    x = rng.uniform(-100, 100, 12 * 12 * 3)
    direction = rng.normal(size=x.shape)
    eps = 0.05
    numeric = (evaluator.loss(x + eps * direction)
               - evaluator.loss(x - eps * direction)) / (2 * eps)
    assert evaluator.grads(x) @ direction == pytest.approx(numeric, rel=2e-2)


def test_a_run_with_level_off_ends_once_its_loss_levels_off():
    # A target beyond the pixels' upper bound: gradient descent creeps towards it by about 2
    # grey levels per step, so the loss falls ~0.4 % per iteration, less than the 0.5 % rule
    target = np.full((1, 4, 4, 3), 1000.0, np.float32)

    def losses(level_off):
        _, history = minimize(quadratic_evaluator(target), np.zeros(target.shape), "gd",
                              iterations=30, progress=False, level_off=level_off)
        return [record["loss"] for record in history]

    levelled, full = losses(True), losses(False)
    assert len(full) == 30 and len(levelled) == 11  # the first point the rule can judge
    assert levelled_off(levelled) and not levelled_off(levelled[:-1])
    np.testing.assert_allclose(levelled, full[:11])


def test_only_lbfgs_at_a_coarse_scale_with_an_int_count_may_level_off(tmp_path, monkeypatch):
    """The rule was measured with L-BFGS; other optimisers, the full size and exact counts run
    their whole budget."""
    asked = []

    def minimize_spy(*args, **keywords):
        asked.append((keywords["tags"]["scale"], keywords["level_off"]))
        return minimize(*args, **keywords)

    monkeypatch.setattr(transfer, "minimize", minimize_spy)
    for options in (dict(optimizer="lbfgs"), dict(optimizer="gd"), dict(iterations=[5, 5])):
        style_transfer(CONTENT, STYLE, tmp_path / "o.png", overwrite=True, **{**TINY, **options})
    assert asked == [(0.5, True), (1.0, False)] + [(0.5, False), (1.0, False)] * 2


@pytest.mark.parametrize("optimizer", [
    "lbfgs", pytest.param("lbfgs-restarts", marks=pytest.mark.slow), "adam", "gd"])
def test_every_optimizer_lowers_the_loss(tmp_path, optimizer):
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "out.png", optimizer=optimizer,
                                    **TINY)
    # 5 at each scale: too few for the half-size stage's loss to level off before its budget
    assert [record["scale"] for record in history] == [0.5] * 5 + [1.0] * 5
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["loss"] == pytest.approx(
        history[-1]["content"] + history[-1]["style"] + history[-1]["tv"], rel=1e-5)
    assert image.dtype == np.uint8 and image.shape == (32, 48, 3)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), image)
    evaluations = [record["evaluations"] for record in history]
    assert evaluations == sorted(evaluations)
    if optimizer == "lbfgs-restarts":
        assert evaluations[-1] > 5 * 10  # 20 evaluations per restart, give or take the end


@pytest.mark.slow
def test_runs_are_reproducible_for_a_seed(tmp_path):
    noise = dict(TINY, init="noise")
    first, _ = style_transfer(CONTENT, STYLE, tmp_path / "a.png", seed=3, **noise)
    second, _ = style_transfer(CONTENT, STYLE, tmp_path / "b.png", seed=3, **noise)
    other, _ = style_transfer(CONTENT, STYLE, tmp_path / "c.png", seed=4, **noise)
    np.testing.assert_array_equal(first, second)
    assert np.abs(first.astype(int) - other).mean() > 1


def test_snapshots_follow_the_homework_naming(tmp_path):
    style_transfer(CONTENT, STYLE, tmp_path / "wave", save_every=2, **TINY)
    names = sorted(p.name for p in tmp_path.iterdir())
    # 5 iterations at each scale, numbered on across them: 1-5 at half size, 6-10 at full size
    assert names == ["wave.png"] + [f"wave_at_iteration_{n}.png" for n in (10, 2, 4, 6, 8)]


def test_existing_results_are_not_overwritten(tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"earlier result")
    with pytest.raises(NSTError, match="already exists"):
        style_transfer(CONTENT, STYLE, out, **TINY)
    assert out.read_bytes() == b"earlier result"
    style_transfer(CONTENT, STYLE, out, overwrite=True, **TINY)
    assert Image.open(out).size == (48, 32)


def test_style_image_of_another_shape_and_content_init(tmp_path):
    wide = tmp_path / "wide.png"
    Image.open(STYLE).resize((120, 40)).save(wide)
    image, history = style_transfer(CONTENT, wide, tmp_path / "o.png", init="content",
                                    convnet="vgg19", pooling="avg", **TINY)
    # At half size the style would be 24x8 px, too small for block5: that scale is skipped
    # and all 5 iterations run at full size.
    assert image.shape == (32, 48, 3) and [r["scale"] for r in history] == [1.0] * 5
    assert history[-1]["loss"] < history[0]["loss"]


@pytest.mark.slow
def test_the_default_is_coarse_to_fine_from_the_content(tmp_path):
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "o.png", **TINY)
    # 5 iterations: the half size's budget (too short to level off) and the full size's count
    assert [r["scale"] for r in history] == [0.5] * 5 + [1.0] * 5
    at_start, _ = style_transfer(CONTENT, STYLE, tmp_path / "c.png", iterations=1,
                                 style_weights=(0, 0, 0, 0, 0), tv_weight=0, scales=(1.0,),
                                 max_size=48, progress=False)
    np.testing.assert_allclose(at_start, load_image(CONTENT, size=(32, 48)), atol=1)


def test_too_small_an_image_is_refused_before_any_work(tmp_path):
    thin = tmp_path / "thin.png"
    Image.open(STYLE).resize((120, 20)).save(thin)
    with pytest.raises(NSTError, match="style image is 48x8 pixels.*at least 16"):
        style_transfer(CONTENT, thin, tmp_path / "o.png", **TINY)


def test_content_init_with_no_style_keeps_the_content(tmp_path):
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "o.png", init="content",
                                    scales=(1.0,), **dict(TINY, style_weights=(0, 0, 0, 0, 0),
                                                          tv_weight=0))
    # Zero up to float32 rounding: XLA (JAX) computes the content features once outside the
    # compiled loss and once inside it, with differently fused kernels.
    assert len(history) == 1 and history[-1]["content"] == pytest.approx(0.0, abs=1e-4)
    np.testing.assert_allclose(image, load_image(CONTENT, size=(32, 48)), atol=1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(style_weights=(1, 2)), "one weight per style layer"),
    (dict(content_layer="block9_conv1"), "no layer named"),
    (dict(optimizer="newton"), "Unknown optimizer"),
    (dict(init="nowhere.png"), "init must be"),
    (dict(iterations=0), "^iterations must be at least 1, got 0"),
    (dict(style_weights=(1, -2, 1, 1, 1)), "^style_weights must not be negative, got -2"),
    (dict(style_weights=(1, 1, np.inf, 1, 1)), "^style_weights must be a finite number, got inf"),
    (dict(content_weight=np.nan), "^content_weight must be a finite number, got nan"),
    (dict(tv_weight=-1), "^tv_weight must not be negative"),
    (dict(optimizer="adam", learning_rate=np.nan), "^learning_rate must be a finite number"),
    (dict(optimizer="adam", learning_rate=0), "^learning_rate must be more than 0, got 0"),
    (dict(save_every=0), "^save_every must be at least 1, got 0"),
    (dict(save_every=-1), "^save_every must be at least 1, got -1"),
    (dict(max_size=0), "^max_size must be at least 1"),
    (dict(max_size=2.5), "^max_size must be a whole number, got 2.5"),
    (dict(memory_limit=-5), "^memory_limit must be more than 0"),
    (dict(animation_every=0), "^animation_every must be at least 1"),
    (dict(seed=-1), "^seed must be at least 0"),
    (dict(scales=(np.nan, 1.0)), "^scales must be a finite number"),
    (dict(style_scale=np.inf), "^style_scale must be a finite number"),
    (dict(init_noise=np.nan), "^init_noise must be a finite number"),
])
def test_bad_options_raise_clear_errors_before_any_work(tmp_path, kwargs, message, monkeypatch):
    options = {**TINY, **kwargs}
    monkeypatch.setattr("nst_utils.transfer.build_vgg", None)  # refused before building VGG
    with pytest.raises(NSTError, match=message):
        style_transfer(CONTENT, STYLE, tmp_path / "o.png", **options)
    assert not list(tmp_path.iterdir())


def test_nan_loss_is_reported():
    evaluator = Evaluator(lambda image: {"bad": ops.sum(image) * np.nan}, (1, 2, 2, 3))
    with pytest.raises(NSTError, match="loss became nan"):
        minimize(evaluator, np.zeros((1, 2, 2, 3)), progress=False, iterations=2)


def ctrl_c_at(stop):
    """A callback that presses Ctrl-C at iteration `stop`."""
    def interrupt(iteration, image, record):
        if iteration == stop:
            raise KeyboardInterrupt
    return interrupt


def test_ctrl_c_returns_the_best_image_so_far(tmp_path):
    with pytest.warns(UserWarning, match="Interrupted after 3 iterations"):
        image, history = style_transfer(CONTENT, STYLE, tmp_path / "o.png",
                                        callback=ctrl_c_at(3), **TINY)
    assert len(history) == 3 and image.shape == (32, 48, 3)
    assert (tmp_path / "o.png").exists()


def test_ctrl_c_at_a_coarse_scale_stops_and_returns_a_full_size_image(tmp_path):
    with pytest.warns(UserWarning, match="Interrupted"):
        image, history = style_transfer(CONTENT, STYLE, tmp_path / "o.png",
                                        callback=ctrl_c_at(2), scales=(0.5, 1.0), max_size=48,
                                        iterations=6, progress=False, **HOMEWORK)
    assert [record["scale"] for record in history] == [0.5, 0.5]
    assert image.shape == (32, 48, 3)


def test_animation_has_the_start_every_nth_iteration_and_the_result(tmp_path):
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "o.png", animation=tmp_path / "a",
                                    animation_every=2, scales=(0.5, 1.0), **dict(TINY,
                                    iterations=[2, 3]))
    gif = Image.open(tmp_path / "a.gif")
    assert len(history) == 5 and gif.n_frames == 4  # start, iterations 2 and 4, the result
    assert gif.size == (48, 32) and gif.info["loop"] == 0
    errors = []
    for frame in range(gif.n_frames):
        gif.seek(frame)
        errors.append(np.abs(np.asarray(gif.convert("RGB"), int) - image).mean())
    in_256_colours = Image.fromarray(image).quantize(256, method=Image.Quantize.MEDIANCUT)
    assert errors[-1] == pytest.approx(np.abs(np.asarray(in_256_colours.convert("RGB"), int)
                                              - image).mean())  # the result, in 256 colours
    assert errors == sorted(errors, reverse=True) and errors[0] > errors[-1] + 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "o.png"]


@pytest.mark.slow
def test_arrays_are_accepted_for_content_style_mask_and_init(tmp_path):
    content = np.asarray(Image.open(CONTENT).resize((48, 32)))           # uint8 (H, W, 3)
    style = load_image(STYLE, max_size=60)                                # float: one style
    gray_style = style.mean(axis=2)                                       # (H, W): one style too
    image, history = style_transfer(content, [style, gray_style], tmp_path / "o.png",
                                    style_masks=[np.ones((32, 48)), np.ones((32, 48))],
                                    init=content.astype(np.float32), **TINY)
    assert image.shape == (32, 48, 3) and len(history) == 10  # 5 at each scale
    image, _ = style_transfer(content, gray_style, tmp_path / "p.png", style_masks=np.ones((8, 12)),
                              **TINY)
    assert image.shape == (32, 48, 3)


@pytest.mark.parametrize("content, style, message", [
    (42, STYLE, "^base_img_path must be an image path or an image array .*, got int"),
    (CONTENT, {"a": 1}, "^style_img_path must be an image path or array, or a list"),
    (np.zeros((4, 5, 2)), STYLE, r"shape \(H, W\), \(H, W, 3\) or \(H, W, 4\).*\(4, 5, 2\)"),
    (np.full((40, 60, 3), 0.5), STYLE, "values in 0-1; nst takes 0-255: multiply it by 255"),
    (np.full((40, 60, 3), np.nan), STYLE, "finite values in 0-255"),
])
def test_what_is_not_an_image_is_refused_clearly(tmp_path, content, style, message):
    with pytest.raises(NSTError, match=message):
        style_transfer(content, style, tmp_path / "o.png", **TINY)
    assert not list(tmp_path.iterdir())


def test_a_result_that_cannot_be_written_is_saved_elsewhere(tmp_path, monkeypatch):
    import nst_utils.files as files

    real = files.atomic_write
    full = tmp_path / "full"

    def disk_full_in(path, write, overwrite=False):
        if path.parent == full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, write, overwrite)

    monkeypatch.setattr(files, "atomic_write", disk_full_in)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "spare"))
    (tmp_path / "spare").mkdir()
    with pytest.raises(NSTError, match=r"Could not write the result to '.*full/o.png' \(No "
                                       r"space left on device\); it was saved to '.*spare/o.png'"):
        style_transfer(CONTENT, STYLE, full / "o.png", **TINY)
    assert Image.open(tmp_path / "spare" / "o.png").size == (48, 32)
    assert not full.exists()  # nothing was written there


def test_a_coarse_scale_too_small_for_the_network_is_skipped(tmp_path):
    _, history = style_transfer(CONTENT, STYLE, tmp_path / "o.png", scales=(0.25, 0.5, 1.0),
                                iterations=[2, 2, 2], max_size=48, progress=False, **HOMEWORK)
    # 48x32 -> 12x8 is below block5's 16 pixels: its 2 iterations move to the 0.5 scale
    assert [record["scale"] for record in history] == [0.5] * 4 + [1.0] * 2
