"""Beyond Gatys 2016: colour preservation, several styles, style scale, regions, adaptive weights
and noisy starts (Gatys et al. 2017). Each test checks the feature's defining property."""

import numpy as np
import pytest
from keras import ops
from PIL import Image

from nst_utils import NSTError
from nst_utils.color import (RGB_TO_YIQ, luminance_image, match_color_histogram,
                             recombine_luminance, rgb_to_yiq)
from nst_utils.images import load_image
from nst_utils.losses import normalized_gram
from nst_utils.regions import (layer_dims, layer_masks, load_mask, load_masks, masked_gram,
                               masked_style_loss)
from nst_utils.transfer import IMAGES_DIR

CONTENT, STYLE, STYLE2 = (IMAGES_DIR / "chelsea.jpg", IMAGES_DIR / "scream.jpg",
                          IMAGES_DIR / "klimt_the_kiss.jpg")
#: The largest change of I or Q that rounding R, G and B to integers can cause.
ROUNDING_IQ = 0.5 * np.abs(RGB_TO_YIQ[1:]).sum(axis=1).max()


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
    np.testing.assert_allclose(masked_gram(features, mask), masked_gram(changed, mask),
                               rtol=1e-6)
    # normalised by the region's area: the same as the whole-map Gram of the region alone
    np.testing.assert_allclose(masked_gram(features, mask), normalized_gram(features[:3]),
                               rtol=1e-5)


def test_each_region_term_only_sees_its_own_region():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(8, 8, 4)).astype(np.float32)
    sky, ground = np.zeros((8, 8, 1), np.float32), np.zeros((8, 8, 1), np.float32)
    sky[:4], ground[4:] = 1.0, 1.0
    targets = [normalized_gram(rng.normal(size=(5, 5, 4)).astype(np.float32)) for _ in range(2)]

    def terms(x):
        return [float(masked_style_loss(targets[0], x, sky)),
                float(masked_style_loss(targets[1], x, ground))]

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
    with pytest.raises(NSTError, match="2 style masks for 1 styles"):
        load_masks([np.ones((20, 30)), np.ones((20, 30))], (20, 30), 1)
