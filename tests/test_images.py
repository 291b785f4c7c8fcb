"""Image loading of every kind of file, VGG preprocessing, and safe saving."""

import time
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

from nst_utils import NSTError, deprocess_image, load_image, preprocess_image, save_image
from nst_utils.transfer import IMAGES_DIR


@pytest.fixture
def gradient():
    """A 20x30 uint8 RGB image with distinct values everywhere."""
    y, x = np.mgrid[0:20, 0:30]
    return np.stack([x * 8, y * 12, (x + y) * 5], axis=2).astype(np.uint8)


def test_rgb_png_loads_exactly(tmp_path, gradient):
    Image.fromarray(gradient).save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    assert image.dtype == np.float32 and image.shape == (20, 30, 3)
    np.testing.assert_array_equal(image, gradient)


def test_max_size_shrinks_the_longest_side_keeping_aspect(tmp_path, gradient):
    Image.fromarray(gradient).save(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png", max_size=15).shape == (10, 15, 3)
    assert load_image(tmp_path / "a.png", max_size=100).shape == (20, 30, 3)  # never enlarges
    assert load_image(tmp_path / "a.png", size=(7, 9)).shape == (7, 9, 3)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    Image.fromarray(np.full((4, 5), 77, np.uint8), mode="L").save(tmp_path / "g.png")
    image = load_image(tmp_path / "g.png")
    assert image.shape == (4, 5, 3) and np.all(image == 77)


def test_palette_image_gives_its_colours(tmp_path):
    palette = Image.new("P", (3, 2))
    palette.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    palette.putdata([0, 1, 0, 1, 1, 0])
    palette.save(tmp_path / "p.png")
    image = load_image(tmp_path / "p.png")
    np.testing.assert_array_equal(image[0, 0], [10, 20, 30])
    np.testing.assert_array_equal(image[0, 1], [200, 100, 50])


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]      # opaque red stays red
    rgba[0, 1] = [0, 0, 255, 0]        # fully transparent becomes white
    rgba[1, 0] = [0, 0, 0, 128]        # half-transparent black becomes mid grey
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "t.png")
    image = load_image(tmp_path / "t.png")
    np.testing.assert_array_equal(image[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(image[0, 1], [255, 255, 255])
    assert np.all(np.abs(image[1, 0] - 127) <= 1)


def test_cmyk_jpeg_is_converted(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    image = load_image(tmp_path / "c.jpg")
    assert image.shape == (8, 8, 3)
    assert image[..., 0].mean() > 200 and image[..., 1:].mean() < 40  # red


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").mode.startswith("I")
    image = load_image(tmp_path / "d.png")
    np.testing.assert_allclose(image[0, :, 0], [0.0, 127.5, 255.0], atol=0.01)


def test_exif_orientation_is_applied(tmp_path, gradient):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(gradient).save(tmp_path / "e.jpg", exif=exif)
    assert load_image(tmp_path / "e.jpg").shape == (30, 20, 3)


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "No image at"),
    (lambda p: p.write_bytes(b"not an image at all"), "Cannot read"),
    (lambda p: p.write_bytes(open(IMAGES_DIR / "scream.jpg", "rb").read()[:400]), "Cannot read"),
    (lambda p: p.mkdir(), "is a folder"),
])
def test_bad_files_raise_one_clear_error(tmp_path, make, message):
    path = tmp_path / "bad.jpg"
    make(path)
    with pytest.raises(NSTError, match=message):
        load_image(path)


def test_preprocess_equals_keras_applications(gradient):
    ours = preprocess_image(gradient.astype(np.float32))
    theirs = keras.applications.vgg16.preprocess_input(gradient[None].astype(np.float32))
    assert ours.shape == (1, 20, 30, 3) and ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(
        ours, keras.applications.vgg19.preprocess_input(gradient[None].astype(np.float32)))


def test_preprocess_from_a_path_with_dims():
    batch = preprocess_image(IMAGES_DIR / "scream.jpg", (32, 24))
    assert batch.shape == (1, 32, 24, 3)


def test_preprocess_then_deprocess_gives_the_image_back(gradient):
    batch = preprocess_image(gradient.astype(np.float32))
    np.testing.assert_array_equal(deprocess_image(batch, 20, 30), gradient)
    np.testing.assert_array_equal(deprocess_image(batch.ravel(), 20, 30), gradient)


def test_deprocess_clips_out_of_range_values():
    image = deprocess_image(np.full((1, 1, 1, 3), 1000.0), 1, 1)
    assert image.dtype == np.uint8 and np.all(image == 255)


def test_save_is_atomic_and_never_overwrites_silently(tmp_path, gradient):
    path = save_image(tmp_path / "out" / "x.png", gradient)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), gradient)
    with pytest.raises(NSTError, match="already exists"):
        save_image(path, np.zeros_like(gradient))
    np.testing.assert_array_equal(np.asarray(Image.open(path)), gradient)  # untouched
    save_image(path, np.zeros_like(gradient), overwrite=True)
    assert np.asarray(Image.open(path)).max() == 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.png"]  # no temp files left


def test_save_needs_a_known_extension(tmp_path, gradient):
    with pytest.raises(NSTError, match="format"):
        save_image(tmp_path / "x.unknown", gradient)


@pytest.fixture
def large_jpeg(tmp_path):
    """A 2400x1600 JPEG (the bundled photo enlarged)."""
    path = tmp_path / "large.jpg"
    Image.open(IMAGES_DIR / "chelsea.jpg").resize((2400, 1600), Image.LANCZOS).save(path)
    return path


def test_large_images_are_decoded_only_as_large_as_needed(tmp_path, large_jpeg, monkeypatch):
    import nst_utils.images as images

    Image.open(large_jpeg).save(tmp_path / "large.png")
    decoded, rgb = [], images._rgb
    monkeypatch.setattr(images, "_rgb", lambda image: decoded.append(image.size) or rgb(image))
    for path in (large_jpeg, tmp_path / "large.png"):
        small = load_image(path, max_size=64)
        with Image.open(path) as full:  # the reference: full decode, then Lanczos
            reference = np.asarray(full.convert("RGB").resize((64, 43), Image.LANCZOS), float)
        assert small.shape == (43, 64, 3) and np.abs(small - reference).mean() < 3  # of 255
    # JPEG: decoded at 1/8 (300x200); PNG: decoded whole, then averaged 12x12 at once
    assert decoded == [(300, 200), (2400, 1600)]


def test_one_pixel_limit_without_pillow_warnings(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow warns above, refuses above 2x
    Image.new("RGB", (40, 30)).save(tmp_path / "warned.png")    # 1200 pixels
    Image.new("RGB", (80, 30)).save(tmp_path / "refused.png")   # 2400 pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not leak
        assert load_image(tmp_path / "warned.png").shape == (30, 40, 3)
        with pytest.raises(NSTError, match=r"more than 0.002 megapixels, more than nst decodes"):
            load_image(tmp_path / "refused.png")


def test_too_large_a_size_is_refused_before_decoding(large_jpeg, tmp_path, monkeypatch):
    from nst_utils import style_transfer

    monkeypatch.setattr("nst_utils.images._decode", None)  # decoding would fail
    started = time.perf_counter()
    with pytest.raises(NSTError, match="A 2400x1600 transfer with VGG16 needs about"):
        style_transfer(large_jpeg, large_jpeg, tmp_path / "o.png", max_size=20000,
                       memory_limit=4e9, progress=False)
    assert time.perf_counter() - started < 5 and not list(tmp_path.glob("o*"))
