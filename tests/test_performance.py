"""Coarse-to-fine, XLA's "auto" setting and the memory guard, on tiny images (no timings)."""

import pytest

from nst_utils import NSTError, style_transfer
from nst_utils.cli import main
from nst_utils.defaults import WEIGHT_KEYS, loss_settings
from nst_utils.memory import (
    activations_per_pixel,
    check_memory,
    largest_fitting_size,
    predict_peak_bytes,
)
from nst_utils.optimize import LEVEL_OFF_RATE, LEVEL_OFF_WINDOW, levelled_off
from nst_utils.preflight import XLA_MIN_PIXELS, scale_plan, use_xla
from nst_utils.transfer import IMAGES_DIR, STYLE_LAYERS

CONTENT, STYLE = IMAGES_DIR / "chelsea.jpg", IMAGES_DIR / "scream.jpg"
LAYERS = ["block4_conv2", *STYLE_LAYERS]
TINY = dict(max_size=48, progress=False, convnet="vgg19", **loss_settings("homework", WEIGHT_KEYS))


@pytest.fixture(scope="module")
def coarse_to_fine(tmp_path_factory):
    """One run at (0.5, 1.0) with snapshots and a callback, shared by the tests below."""
    folder = tmp_path_factory.mktemp("c2f")
    seen = []
    image, history = style_transfer(
        CONTENT, STYLE, folder / "out.png", iterations=(4, 5), scales=(0.5, 1.0),
        save_every=3, callback=lambda n, img, record: seen.append((n, img.shape)), **TINY)
    return folder, image, history, seen


@pytest.mark.slow
def test_coarse_to_fine_ends_at_full_size_and_lowers_the_loss(coarse_to_fine):
    folder, image, history, _ = coarse_to_fine
    assert image.shape == (32, 48, 3)
    final = [record for record in history if record["scale"] == 1.0]
    assert final[-1]["loss"] < final[0]["loss"]
    coarse = [record for record in history if record["scale"] == 0.5]
    assert coarse[-1]["loss"] < coarse[0]["loss"]


@pytest.mark.slow
def test_history_counts_on_across_scales(coarse_to_fine):
    folder, _, history, seen = coarse_to_fine
    assert [record["iteration"] for record in history] == list(range(1, len(history) + 1))
    assert [record["scale"] for record in history] == [0.5] * 4 + [1.0] * 5
    for key in ("evaluations", "seconds"):
        values = [record[key] for record in history]
        assert values == sorted(values)
    # Evaluations are cumulative: the fine scale starts above where the coarse one ended.
    assert history[4]["evaluations"] > history[3]["evaluations"] >= 4
    # The callback sees each scale's own image; snapshots are numbered across scales.
    assert [shape for _, shape in seen] == [(16, 24, 3)] * 4 + [(32, 48, 3)] * 5
    assert sorted(p.name for p in folder.iterdir()) == [
        "out.png", "out_at_iteration_3.png", "out_at_iteration_6.png", "out_at_iteration_9.png"]


def test_a_run_levels_off_when_its_loss_falls_less_than_the_rate_over_the_window():
    assert (LEVEL_OFF_WINDOW, LEVEL_OFF_RATE) == (10, 0.005)
    assert not levelled_off([100.0] * 10)  # too short to tell
    assert levelled_off([100.0] * 11)
    # 1 % less per iteration is progress; 0.4 % is not (the window's fall over its end's loss)
    assert not levelled_off([100 * 0.99 ** n for n in range(11)])
    assert levelled_off([100 * 0.996 ** n for n in range(11)])
    assert not levelled_off([200.0] + [100.0] * 10)  # a fall at the window's start counts
    assert levelled_off([200.0] + [100.0] * 11)  # ...until it leaves the window


@pytest.mark.slow
def test_a_coarse_scale_ends_when_its_loss_levels_off(tmp_path):
    """An int `iterations` is the half size's budget; the half size stops early once levelled."""
    _, history = style_transfer(CONTENT, STYLE, tmp_path / "o.png", iterations=60,
                                scales=(0.5, 1.0), **TINY)
    coarse = [record["loss"] for record in history if record["scale"] == 0.5]
    assert LEVEL_OFF_WINDOW < len(coarse) < 60
    assert levelled_off(coarse) and not levelled_off(coarse[:-1])
    assert sum(record["scale"] == 1.0 for record in history) == 60  # the full size's count
    # The same budget as a list: exact counts, the half size runs all 60.
    _, exact = style_transfer(CONTENT, STYLE, tmp_path / "e.png", iterations=[60, 1],
                              scales=(0.5, 1.0), **TINY)
    assert [record["scale"] for record in exact] == [0.5] * 60 + [1.0]


def test_an_int_is_every_scales_budget_and_a_list_is_exact():
    assert scale_plan((0.5, 1.0), 9) == ([0.5, 1.0], [9, 9])
    assert scale_plan((0.5, 1.0), 1) == ([0.5, 1.0], [1, 1])
    assert scale_plan([0.25, 0.5, 1], [10, 5, 2]) == ([0.25, 0.5, 1.0], [10, 5, 2])
    assert scale_plan((1.0,), 7) == ([1.0], [7])


@pytest.mark.parametrize("scales, iterations, message", [
    ((0.5,), 4, "ending with 1, such as 0.5 1; got 0.5."),
    ((0.0, 1.0), 4, "scales must be more than 0, got 0.0"),
    ((1.0, 2.0), 4, "ending with 1, such as 0.5 1; got 1.0 2.0."),
    ((0.5, 1.0), (3,), "one count per scale"),
    ((0.5, 1.0), 0, "iterations must be at least 1, got 0."),
    ((0.5, 1.0), [4, 0], "iterations must be at least 1, got 0."),
])
def test_bad_scale_plans_raise_clear_errors(scales, iterations, message):
    with pytest.raises(NSTError, match=message):
        scale_plan(scales, iterations)


def test_auto_xla_follows_the_size():
    assert not use_xla("auto", (100, 100))
    assert use_xla("auto", (XLA_MIN_PIXELS // 100, 100))
    assert use_xla(True, (8, 8)) and not use_xla(False, (999, 999))


def test_memory_prediction_grows_with_size_and_depth():
    sizes = [predict_peak_bytes(side, side, "vgg19", LAYERS) for side in (128, 256, 512, 1024)]
    assert sizes == sorted(sizes) and sizes[-1] - sizes[-2] > 2 * (sizes[1] - sizes[0])
    assert activations_per_pixel("vgg19", ["block5_conv1"]) > activations_per_pixel(
        "vgg19", ["block3_conv1"]) > activations_per_pixel("vgg16", ["block1_conv1"]) > 0
    assert activations_per_pixel("vgg19", LAYERS) > activations_per_pixel("vgg16", LAYERS)


def test_suggested_size_is_the_largest_that_fits():
    limit = predict_peak_bytes(300, 400, "vgg19", LAYERS)
    fits = largest_fitting_size(300, 400, "vgg19", LAYERS, limit)
    assert 399 <= fits <= 400
    assert check_memory(300, 400, "vgg19", LAYERS, limit) == pytest.approx(limit)
    with pytest.raises(NSTError, match=rf"needs about .* GB.*max_size={fits - 50}\b"):
        check_memory(300, 400, "vgg19", LAYERS,
                     predict_peak_bytes(300 * (fits - 50) / 400 + 1, fits - 50, "vgg19", LAYERS))


def test_transfer_refuses_before_starting_when_memory_is_short(tmp_path):
    limit = predict_peak_bytes(16, 24, "vgg19", LAYERS)  # room for a 24 px image, not 48
    with pytest.raises(NSTError, match=r"Use max_size=2\d or less.*larger memory_limit"):
        style_transfer(CONTENT, STYLE, tmp_path / "o.png", iterations=2, memory_limit=limit,
                       **TINY)
    with pytest.raises(NSTError, match="Free some memory"):
        style_transfer(CONTENT, STYLE, tmp_path / "o.png", iterations=2, memory_limit=1, **TINY)
    assert not list(tmp_path.iterdir())


def test_command_line_scales(tmp_path, capsys):
    out = tmp_path / "cli.png"
    assert main(["transfer", str(CONTENT), str(STYLE), "-o", str(out), "--max-size", "48",
                 "--iterations", "4", "--scales", "0.5", "1", "--convnet", "vgg19"]) == 0
    # 4 at each scale: too few for the half-size stage's loss to level off before its budget
    assert out.exists() and "8 iterations" in capsys.readouterr().out
