"""Beyond Gatys 2016: colour preservation, several styles, style scale, regions, adaptive weights
and noisy starts (Gatys et al. 2017). Each test checks the feature's defining property."""

import numpy as np
import pytest
from PIL import Image

from nst_utils import NSTError, build_vgg, style_transfer
from nst_utils.cli import main
from nst_utils.color import (
    RGB_TO_YIQ,
    luminance_image,
    match_color_histogram,
    recombine_luminance,
    rgb_to_yiq,
)
from nst_utils.images import load_image
from nst_utils.losses import normalized_gram, style_loss_to_target
from nst_utils.regions import layer_dims, layer_masks, load_mask, load_masks, resize_mask
from nst_utils.transfer import (
    IMAGES_DIR,
    STYLE_LAYERS,
    adaptive_loss,
    initial_image,
    preprocess_image,
    starting_image,
    style_image,
    weighted_transfer_loss,
)

CONTENT, STYLE, STYLE2 = (IMAGES_DIR / "chelsea.jpg", IMAGES_DIR / "scream.jpg",
                          IMAGES_DIR / "klimt_the_kiss.jpg")
#: The largest change of I or Q that rounding R, G and B to integers can cause.
ROUNDING_IQ = 0.5 * np.abs(RGB_TO_YIQ[1:]).sum(axis=1).max()
TINY = dict(max_size=40, iterations=3, progress=False, content_weight=100,
            style_weights=(1000, 100, 12, 1, 1), tv_weight=200)


@pytest.fixture(scope="module")
def pair():
    content = load_image(CONTENT, max_size=40)
    return content, load_image(STYLE, size=content.shape[:2])


# Colour -------------------------------------------------------------------------------------

def test_luminance_image_is_gray_and_matched_to_the_content(pair):
    content, style = pair
    gray = luminance_image(style, like=content)
    assert gray.shape == style.shape and gray.dtype == np.float32
    np.testing.assert_array_equal(gray[:, :, 0], gray[:, :, 2])
    content_luma = rgb_to_yiq(content)[:, :, 0]
    assert gray[:, :, 0].mean() == pytest.approx(content_luma.mean(), abs=0.5)
    assert gray[:, :, 0].std() == pytest.approx(content_luma.std(), rel=0.02)


def test_recombined_luminance_keeps_the_content_chroma_exactly(pair):
    content, style = pair
    out = recombine_luminance(style, content)
    assert out.dtype == np.uint8 and out.shape == content.shape
    chroma_out, chroma_in = rgb_to_yiq(out)[:, :, 1:], rgb_to_yiq(content)[:, :, 1:]
    assert np.abs(chroma_out - chroma_in).max() <= ROUNDING_IQ + 1e-9
    # ...while the brightness is the result's (up to the clipping that keeps colours valid)
    assert np.corrcoef(rgb_to_yiq(out)[:, :, 0].ravel(),
                       rgb_to_yiq(style)[:, :, 0].ravel())[0, 1] > 0.95


def test_histogram_matching_gives_the_content_mean_and_covariance(pair):
    content, style = pair
    matched = match_color_histogram(style, content).reshape(-1, 3)
    pixels = content.reshape(-1, 3)
    np.testing.assert_allclose(matched.mean(axis=0), pixels.mean(axis=0), atol=0.5)
    np.testing.assert_allclose(np.cov(matched, rowvar=False), np.cov(pixels, rowvar=False),
                               rtol=0.02, atol=0.02 * np.cov(pixels, rowvar=False).max())
    # the style's colours really moved: before, the statistics were far apart
    assert np.abs(style.reshape(-1, 3).mean(axis=0) - pixels.mean(axis=0)).max() > 10


# Regions ------------------------------------------------------------------------------------

def test_masked_gram_ignores_features_outside_the_mask():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(6, 8, 4)).astype(np.float32)
    mask = np.zeros((6, 8, 1), np.float32)
    mask[:3] = 1.0
    changed = features.copy()
    changed[3:] = rng.normal(size=(3, 8, 4)) * 10
    np.testing.assert_allclose(normalized_gram(features, mask), normalized_gram(changed, mask),
                               rtol=1e-6)
    # normalised by the region's area: the same as the whole-map Gram of the region alone
    np.testing.assert_allclose(normalized_gram(features, mask), normalized_gram(features[:3]),
                               rtol=1e-5)


def test_each_region_term_only_sees_its_own_region():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(8, 8, 4)).astype(np.float32)
    sky, ground = np.zeros((8, 8, 1), np.float32), np.zeros((8, 8, 1), np.float32)
    sky[:4], ground[4:] = 1.0, 1.0
    targets = [normalized_gram(rng.normal(size=(5, 5, 4)).astype(np.float32)) for _ in range(2)]

    def terms(x):
        return [float(style_loss_to_target(targets[0], x, sky)),
                float(style_loss_to_target(targets[1], x, ground))]

    new_ground, new_sky = features.copy(), features.copy()
    new_ground[4:] += 5.0
    new_sky[:4] += 5.0
    before = terms(features)
    assert terms(new_ground)[0] == pytest.approx(before[0], rel=1e-6)
    assert terms(new_ground)[1] != pytest.approx(before[1], rel=1e-3)
    assert terms(new_sky)[1] == pytest.approx(before[1], rel=1e-6)
    assert terms(new_sky)[0] != pytest.approx(before[0], rel=1e-3)


def test_masks_are_read_as_one_channel_resized_and_downsampled_per_layer(tmp_path):
    path = tmp_path / "sky.png"
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:10] = (255, 255, 255)
    Image.fromarray(rgb).save(path)
    mask = load_mask(path, (40, 60))
    assert mask.shape == (40, 60) and mask.dtype == np.float32
    assert mask.min() == 0.0 and mask.max() == 1.0 and mask.mean() == pytest.approx(0.5)
    per_layer = layer_masks(mask, ["block1_conv1", "block3_conv1", "block5_conv1"])
    assert {name: m.shape for name, m in per_layer.items()} == {
        "block1_conv1": (40, 60, 1), "block3_conv1": (10, 15, 1), "block5_conv1": (2, 3, 1)}
    assert per_layer["block3_conv1"][:5].min() == 1.0 and per_layer["block3_conv1"][5:].max() == 0
    assert layer_dims(45, 33, "block4_conv2") == (5, 4)  # the poolings floor odd sizes
    np.testing.assert_array_equal(load_mask(rgb[:, :, :1], (20, 30)),
                                  load_mask(rgb[:, :, 0] / 255.0, (20, 30)))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_large_mask_file_is_decoded_near_the_size_needed(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"sky{suffix}"
    rgb = np.zeros((1600, 2400, 3), np.uint8)
    rgb[:800] = 255
    Image.fromarray(rgb).save(path, quality=95)
    seen = []
    monkeypatch.setattr("nst_utils.regions.resize_mask",
                        lambda values, dims: seen.append(values.shape) or resize_mask(values, dims))
    mask = load_mask(path, (40, 60))
    # Decoded at less than four times the size needed (JPEG at 1/8 scale, then halved: 150x100;
    # PNG averaged down: 120x80), not at 2400x1600.
    assert len(seen) == 1 and 80 <= seen[0][0] < 160 and 120 <= seen[0][1] < 240
    assert mask.shape == (40, 60) and mask.mean() == pytest.approx(0.5, abs=0.01)
    assert mask[:19].min() > 0.98 and mask[21:].max() < 0.02


@pytest.mark.parametrize("mask, message", [
    (np.zeros((20, 30)), "empty"),
    (np.full((20, 30), 2.0), r"values in \[0, 1\]"),
    (np.ones((20, 30, 4)), "must have shape"),
    (np.ones((30, 30)), "different shape"),
    ("nowhere.png", "No image at"),
])
def test_bad_masks_are_refused(mask, message):
    with pytest.raises(NSTError, match=message):
        load_mask(mask, (20, 30))


def test_unreadable_mask_and_mask_count_are_refused(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(NSTError, match="Cannot read"):
        load_mask(bad, (20, 30))
    with pytest.raises(NSTError, match="2 style masks for 1 style; give one mask per style"):
        load_masks([np.ones((20, 30)), np.ones((20, 30))], (20, 30), 1)


@pytest.mark.slow
def test_style_transfer_with_masks_paints_each_region(tmp_path):
    content = load_image(CONTENT, max_size=40)
    top = np.zeros(content.shape[:2], np.float32)
    top[: top.shape[0] // 2] = 1.0
    image, history = style_transfer(CONTENT, [STYLE, STYLE2], tmp_path / "r.png",
                                    style_masks=[top, 1.0 - top], init="content", **TINY)
    assert image.shape == content.shape and history[-1]["loss"] < history[0]["loss"]
    with pytest.raises(NSTError, match="1 style masks for 2 styles"):
        style_transfer(CONTENT, [STYLE, STYLE2], tmp_path / "s.png", style_masks=[top], **TINY)
    with pytest.raises(NSTError, match="empty"):
        style_transfer(CONTENT, STYLE, tmp_path / "s.png", style_masks=[top * 0], **TINY)


# Colour, end to end ------------------------------------------------------------------------

def test_luminance_transfer_keeps_the_content_colours(tmp_path):
    image, _ = style_transfer(CONTENT, STYLE, tmp_path / "l.png", preserve_color="luminance",
                              init="content", **TINY)
    content = load_image(CONTENT, max_size=40)
    chroma_out, chroma_in = rgb_to_yiq(image)[:, :, 1:], rgb_to_yiq(content)[:, :, 1:]
    assert np.abs(chroma_out - chroma_in).max() <= ROUNDING_IQ + 1e-9
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "l.png")), image)


def test_histogram_transfer_runs_on_matched_styles(tmp_path):
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "h.png", init="content",
                                    preserve_color="histogram", **TINY)
    plain, _ = style_transfer(CONTENT, STYLE, tmp_path / "p.png", init="content", **TINY)
    assert history[-1]["loss"] < history[0]["loss"]
    assert np.abs(image.astype(int) - plain).mean() > 0.5  # another style target than plain's


# Several styles ------------------------------------------------------------------------------

@pytest.mark.slow
def test_blend_one_zero_equals_the_single_style(tmp_path):
    single, _ = style_transfer(CONTENT, STYLE, tmp_path / "a.png", seed=2, **TINY)
    blended, _ = style_transfer(CONTENT, [STYLE, STYLE2], tmp_path / "b.png", seed=2,
                                style_blend=[1, 0], **TINY)
    half, _ = style_transfer(CONTENT, [STYLE, STYLE2], tmp_path / "c.png", seed=2,
                             style_blend=[2, 2], **TINY)
    np.testing.assert_array_equal(single, blended)
    assert np.abs(half.astype(int) - single).mean() > 1


def test_blend_weights_scale_each_style_loss():
    extractor = build_vgg("vgg16", layers=["block4_conv2", *STYLE_LAYERS])
    batches = [preprocess_image(load_image(path, max_size=32)) for path in (CONTENT, STYLE,
                                                                           STYLE2)]
    image = batches[0] + 10.0

    def style_term(styles, blend):
        args = (extractor, batches[0], styles, "block4_conv2", STYLE_LAYERS, 1.0,
                (1, 1, 1, 1, 1), 1.0)
        return float(weighted_transfer_loss(*args, blend=blend)(image)["style"])

    one, two = style_term([batches[1]], None), style_term([batches[2]], None)
    assert style_term(batches[1:], [0.7, 0.3]) == pytest.approx(0.7 * one + 0.3 * two, rel=1e-5)


# Style scale -------------------------------------------------------------------------------

@pytest.mark.parametrize("scale, longest", [(0.5, 20), (1.0, 40), (2.0, 80)])
def test_style_scale_sets_the_style_size(scale, longest):
    style = style_image(STYLE, (27, 40), scale)
    assert max(style.shape[:2]) == longest
    original = load_image(STYLE)
    assert style.shape[1] / style.shape[0] == pytest.approx(
        original.shape[1] / original.shape[0], rel=0.05)


# Adaptive weights --------------------------------------------------------------------------

def test_adaptive_weights_start_every_term_at_its_importance():
    extractor = build_vgg("vgg16", layers=["block4_conv2", *STYLE_LAYERS])
    content = load_image(CONTENT, max_size=32)
    fixed = weighted_transfer_loss(
        extractor, preprocess_image(content), preprocess_image(load_image(STYLE, max_size=32)),
        "block4_conv2", STYLE_LAYERS, 100, (1000, 100, 12, 1, 1), 200)
    x0 = initial_image("noise", content, None, seed=0)
    before = {name: float(value) for name, value in fixed(x0).items()}
    assert max(before.values()) / min(before.values()) > 100  # fixed weights: far apart
    adaptive = adaptive_loss(fixed, x0, {"content": 1.0, "style": 1.0, "tv": 1.0})
    terms = {name: float(value) for name, value in adaptive(x0).items()}
    assert terms == pytest.approx({"content": 1.0, "style": 1.0, "tv": 1.0}, rel=1e-4)
    # from the content image the content term is 0 there: it is measured at the reference
    start = preprocess_image(content)
    adaptive = adaptive_loss(fixed, start, {"content": 1.0, "style": 1.0, "tv": 1.0}, x0)
    assert float(adaptive(x0)["content"]) == pytest.approx(1.0, rel=1e-4)


def test_adaptive_weights_run_end_to_end(tmp_path):
    _, history = style_transfer(CONTENT, STYLE, tmp_path / "a.png", adaptive_weights=True,
                                init="content", **TINY)
    assert history[-1]["loss"] < history[0]["loss"] < 100 + 222.8 + 200 + 1e-6


# Noisy starts ------------------------------------------------------------------------------

def test_init_noise_mixes_the_start_reproducibly():
    content = load_image(CONTENT, max_size=32)
    plain = initial_image("content", content, None, seed=5)
    np.testing.assert_array_equal(starting_image("content", content, None, 5, 0.0), plain)
    mixed = starting_image("content", content, None, 5, 0.3)
    np.testing.assert_array_equal(mixed, starting_image("content", content, None, 5, 0.3))
    noise = initial_image("noise", content, None, seed=5)
    np.testing.assert_allclose(mixed, 0.7 * plain + 0.3 * noise, atol=1e-4)
    assert not np.array_equal(mixed, starting_image("content", content, None, 6, 0.3))


def test_the_average_start_is_half_the_content_and_half_the_resized_style():
    content = load_image(CONTENT, max_size=32)
    style = load_image(STYLE)
    average = initial_image("average", content, style)
    assert average.shape == (1, *content.shape[:2], 3)
    np.testing.assert_allclose(average, (initial_image("content", content, style)
                                         + initial_image("style", content, style)) / 2, atol=1e-4)


# Validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(style_blend=[1]), "Got 1 style_blend for 2 styles"),
    (dict(style_blend=[1, -1]), "style_blend must not be negative"),
    (dict(style_blend=[0, 0]), "style_blend must have at least one positive weight"),
    (dict(style_scale=0.05), "style_scale must be between 0.1 and 4"),
    (dict(style_scale=5), "style_scale must be between 0.1 and 4"),
    (dict(style_scale=0.2), "too small.*style_scale"),
    (dict(init_noise=1.5), "init_noise must be a fraction"),
    (dict(init_noise=-0.1), "init_noise must be a fraction"),
    (dict(preserve_color="sepia"), "Unknown preserve_color"),
])
def test_bad_beyond_options_are_refused(tmp_path, kwargs, message):
    with pytest.raises(NSTError, match=message):
        style_transfer(CONTENT, [STYLE, STYLE2], tmp_path / "o.png", **{**TINY, **kwargs})
    assert not (tmp_path / "o.png").exists()


# The command line ----------------------------------------------------------------------------

def test_cli_blends_styles_with_masks_and_options(tmp_path, capsys):
    mask = tmp_path / "top.png"
    pixels = np.zeros((27, 40), np.uint8)
    pixels[:13] = 255
    Image.fromarray(pixels).save(mask)
    Image.fromarray(255 - pixels).save(tmp_path / "bottom.png")
    fast = ["--max-size", "40", "--iterations", "2"]
    assert main(["transfer", str(CONTENT), "--style", str(STYLE), str(STYLE2),
                 "--style-blend", "0.7", "0.3", "--style-masks", str(mask),
                 str(tmp_path / "bottom.png"), "--style-scale", "1.5", "--preserve-color",
                 "luminance", "--adaptive-weights", "--init-noise", "0.2", "-o",
                 str(tmp_path / "o.png"), *fast]) == 0
    assert Image.open(tmp_path / "o.png").size == (40, 27)
    assert main(["transfer", str(CONTENT), str(STYLE), "--preserve-color", "histogram",
                 "-o", str(tmp_path / "p.png"), *fast]) == 0
    assert main(["transfer", str(CONTENT), str(STYLE), "--style", str(STYLE2)]) == 1
    assert "not both" in capsys.readouterr().err
    assert main(["transfer", str(CONTENT), "--style", str(STYLE), "--init-noise", "2"]) == 1
    assert "--init-noise must be a fraction" in capsys.readouterr().err
