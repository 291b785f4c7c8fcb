"""Reading, writing and VGG-preprocessing images.

Every image in nst_utils is, at the boundary with the user, a float32 RGB array of shape (H, W, 3)
with values in 0-255. The network sees a different thing: a batch (1, H, W, 3) in the channel
order and centring that VGG was trained with ("Caffe" style: BGR, minus the ImageNet mean).
`preprocess_image` and `deprocess_image` convert between the two.
"""

import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import NSTError
from .files import atomic_write

#: The ImageNet mean pixel in BGR order, the one VGG was trained with.
VGG_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

#: The EXIF tag that says how the camera was held, and how to turn each of its values upright
#: (the table of `PIL.ImageOps.exif_transpose`, which would first copy the full-size image).
ORIENTATION_TAG = 0x0112
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


def load_image(image, max_size=None, size=None):
    """Read an image file (or take an array) as a float32 RGB array of shape (H, W, 3) in 0-255.

    Any mode Pillow reads is accepted: the EXIF orientation is applied, grayscale and palette
    images become RGB, transparent pixels are composited on white, CMYK is converted and 16-bit
    images are scaled down to 0-255. A file is decoded no larger than needed: a JPEG at the
    smallest of its built-in 1/2, 1/4 and 1/8 scales that keeps twice the target size, other
    formats shrunk by whole-pixel averaging to the same, so memory follows the size asked for,
    not the file's. Files of more than `max_pixels()` pixels are refused before decoding.

    Args:
        image: the image file, or an array (H, W), (H, W, 3) or (H, W, 4), uint8 or float in
            0-255 (see `image_array`).
        max_size: if given, shrink (never enlarge) so that the longest side is at most this many
            pixels, keeping the aspect ratio.
        size: if given, an exact (height, width) to resize to; it overrides `max_size`.
    """
    if not isinstance(image, (str, os.PathLike)):
        array = image_array(image)
        target = _target(array.shape[1], array.shape[0], max_size, size)
        return array if target == (array.shape[1], array.shape[0]) else resize(array, target[::-1])
    with _opened(image) as opened:
        width, height = _oriented_size(opened)
        target = _target(width, height, max_size, size)
        picture = _decode(opened, image, target)
    if target != picture.size:
        picture = picture.resize(target, Image.Resampling.LANCZOS)
    return _rgb_array(picture)


def load_image_near(path, size):
    """An image file as `load_image` reads it, decoded no larger than needed for a (height,
    width) `size` but not resized to it, for callers that resize with a filter of their own.

    The whole-number shrinking of `load_image` leaves at least twice and less than four times
    `size` on each side (or the file's own size, when smaller).
    """
    with _opened(path) as opened:
        return _rgb_array(_decode(opened, path, (int(size[1]), int(size[0]))))


def _rgb_array(picture):
    """A decoded Pillow image as a float32 RGB array (H, W, 3) in 0-255."""
    array = np.asarray(picture, dtype=np.float32)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.clip(array, 0.0, 255.0)


def image_size(image):
    """The (height, width) of an image file, read from its header (EXIF rotation applied), or
    of an array."""
    if not isinstance(image, (str, os.PathLike)):
        return image_array(image).shape[:2]
    with _opened(image) as opened:
        width, height = _oriented_size(opened)
    return height, width


def image_array(array):
    """A user's image array as float32 RGB (H, W, 3) in 0-255, or NSTError saying what is
    accepted: (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA (composited on white), uint8 or
    float in 0-255."""
    if isinstance(array, Image.Image):
        array = np.asarray(array.convert("RGBA"))
    if not isinstance(array, np.ndarray):
        raise NSTError(f"Expected an image file path or an image array, got "
                       f"{type(array).__name__}.")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if (array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4))
            or min(array.shape[:2]) < 1 or not np.issubdtype(array.dtype, np.number)):
        raise NSTError(f"An image array must have shape (H, W), (H, W, 3) or (H, W, 4) with "
                       f"numbers in 0-255; got shape {array.shape} of {array.dtype}.")
    values = array.astype(np.float32)
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 255:
        raise NSTError("An image array must hold finite values in 0-255 (uint8, or float "
                       "scaled to 0-255).")
    if array.dtype != np.uint8 and array.size > 1 and 0 < values.max() <= 1.0:
        raise NSTError("This float image array holds values in 0-1; nst takes 0-255: multiply "
                       "it by 255.")
    if values.ndim == 2:
        values = np.repeat(values[:, :, None], 3, axis=2)
    if values.shape[2] == 4:  # composite on white, as for files
        alpha = values[:, :, 3:] / 255.0
        values = values[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    return values


def max_pixels():
    """The most pixels an image file may have: twice Pillow's `Image.MAX_IMAGE_PIXELS`, the
    size from which Pillow refuses to open a file as a possible decompression bomb."""
    return 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None


def _target(width, height, max_size, size):
    """The (width, height) an image of width x height pixels is to be resized to."""
    if size is not None:
        return int(size[1]), int(size[0])
    if max_size is not None and max(width, height) > max_size:
        scale = max_size / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))
    return width, height


@contextmanager
def _opened(path):
    """Open an image file lazily (header only), or raise NSTError saying what is wrong.

    Pillow's DecompressionBombWarning is silenced: `max_pixels()` is the one limit, and above
    it Pillow's error becomes our message.
    """
    path = Path(path)
    if not path.exists():
        raise NSTError(f"No image at '{path}'. Check the path, or run `nst transfer` with no "
                       "images to use the bundled ones.")
    if path.is_dir():
        raise NSTError(f"'{path}' is a folder, not an image file.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            opened = Image.open(path)
        except Image.DecompressionBombError:
            raise NSTError(f"'{path}' has more than {max_pixels() / 1e6:.3g} megapixels, more "
                           "than nst decodes (Pillow's decompression-bomb limit); shrink it "
                           "first.") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise _unreadable(path, error) from None
        with opened:
            yield opened


def _unreadable(path, error):
    return NSTError(f"Cannot read '{path}' as an image ({error}). The file may be corrupt or in "
                    "a format Pillow does not know: re-save it as PNG or JPEG.")


def _orientation(opened):
    """The EXIF orientation of an opened image (1 = upright), 1 where the EXIF is unreadable."""
    try:
        return opened.getexif().get(ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError):
        return 1


def _oriented_size(opened):
    """(width, height) of an opened image once its EXIF orientation is applied."""
    width, height = opened.size
    return (height, width) if _orientation(opened) in (5, 6, 7, 8) else (width, height)


def _decode(opened, path, target):
    """Decode an opened image no larger than twice `target` allows (see `load_image`), as an
    upright RGB or single-channel float ("F") Pillow image."""
    orientation = _orientation(opened)
    keep = (2 * target[0], 2 * target[1])
    if orientation in (5, 6, 7, 8):  # the file holds the image on its side
        keep = keep[::-1]
    try:
        if opened.format == "JPEG":
            opened.draft(opened.mode, keep)  # decodes at 1/2, 1/4 or 1/8 of the size
        opened.load()
        image = _rgb(opened)  # before reducing: palette indices cannot be averaged
        factor = min(image.size[0] // keep[0], image.size[1] // keep[1])
        if factor >= 2:
            image = image.reduce(factor)
        if orientation in _TRANSPOSE:
            image = image.transpose(_TRANSPOSE[orientation])
        return image
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise _unreadable(path, error) from None


def _rgb(image):
    """An upright image as RGB, or as single-channel float ("F") for 16- and 32-bit gray."""
    if image.mode in _SIXTEEN_BIT_MODES:
        # 16-bit (and 32-bit) grayscale: Pillow's convert("RGB") would clip, not rescale.
        values = np.asarray(image, dtype=np.float32)
        if values.max(initial=0.0) > 255.0:
            values = values * (255.0 / 65535.0)
        return Image.fromarray(values, mode="F")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def preprocess_image(img_or_path, dims=None):
    """Turn an image (array or file) into the (1, H, W, 3) batch VGG expects.

    RGB becomes BGR and the ImageNet mean is subtracted, exactly as
    `keras.applications.vgg16.preprocess_input` does ("caffe" mode).

    Args:
        img_or_path: a file path, or an RGB array (H, W, 3) in 0-255.
        dims: optional (height, width) to resize to first.
    """
    if isinstance(img_or_path, (str, os.PathLike)):
        image = load_image(img_or_path, size=dims)
    else:
        image = np.asarray(img_or_path, dtype=np.float32)
        if image.ndim != 3 or image.shape[2] != 3:
            raise NSTError(f"Expected an RGB image of shape (H, W, 3), got shape {image.shape}.")
        if dims is not None and tuple(dims) != image.shape[:2]:
            image = resize(image, dims)
    return (image[None, :, :, ::-1] - VGG_MEAN_BGR).astype(np.float32)


def deprocess_image(x, height, width):
    """Undo `preprocess_image`: a batch or flat vector back to a uint8 RGB image (H, W, 3).

    Values outside 0-255 are clipped, and values are rounded (not truncated), so that
    preprocess followed by deprocess gives back the original uint8 image exactly.
    """
    image = np.asarray(x, dtype=np.float32).reshape((height, width, 3)) + VGG_MEAN_BGR
    return to_uint8(image[:, :, ::-1])


def to_uint8(image):
    """An image in 0-255 as uint8: rounded (not truncated) and clipped; uint8 passes unchanged."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def resize(image, dims):
    """Resize an RGB array (H, W, 3) in 0-255 to (height, width) with a Lanczos filter."""
    height, width = int(dims[0]), int(dims[1])
    channels = [Image.fromarray(np.ascontiguousarray(image[:, :, c], dtype=np.float32), mode="F")
                .resize((width, height), Image.Resampling.LANCZOS) for c in range(3)]
    return np.clip(np.stack([np.asarray(c) for c in channels], axis=2), 0.0, 255.0)


def save_image(path, img, overwrite=False):
    """Write an RGB image (uint8, or float in 0-255) to `path` atomically.

    The image goes to a temporary file in the same folder first and is then moved into place, so
    a crash never leaves half a file. An existing file is never replaced unless `overwrite=True`.
    Returns the path written.
    """
    return atomic_write(path, image_writer(path, img), overwrite)


def image_writer(path, img):
    """A function that writes `img` to a binary handle in the format `path`'s extension names
    (for `nst_utils.files.atomic_write`); NSTError for an unknown extension."""
    image = to_uint8(img)
    image_format = Image.registered_extensions().get(Path(path).suffix.lower())
    if image_format is None:
        raise NSTError(f"Cannot tell the image format from '{Path(path).name}': use a name "
                       "ending in .png or .jpg.")
    return lambda handle: Image.fromarray(image).save(handle, format=image_format)
