"""Reading, writing and VGG-preprocessing images.

Every image in nst_utils is, at the boundary with the user, a float32 RGB array of shape (H, W, 3)
with values in 0-255. The network sees a different thing: a batch (1, H, W, 3) in the channel
order and centring that VGG was trained with ("Caffe" style: BGR, minus the ImageNet mean).
`preprocess_image` and `deprocess_image` convert between the two.
"""

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import NSTError
from .files import atomic_write

#: The ImageNet mean pixel in BGR order, the one VGG was trained with.
VGG_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


def load_image(path, max_size=None, size=None):
    """Read an image file as a float32 RGB array of shape (H, W, 3) in 0-255.

    Any mode Pillow reads is accepted: the EXIF orientation is applied, grayscale and palette
    images become RGB, transparent pixels are composited on white, CMYK is converted and 16-bit
    images are scaled down to 0-255.

    Args:
        path: the image file.
        max_size: if given, shrink (never enlarge) so that the longest side is at most this many
            pixels, keeping the aspect ratio.
        size: if given, an exact (height, width) to resize to; it overrides `max_size`.
    """
    image = _open(path)
    width, height = image.size
    if size is not None:
        target = (int(size[1]), int(size[0]))
    elif max_size is not None and max(width, height) > max_size:
        scale = max_size / max(width, height)
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
    else:
        target = (width, height)
    if target != image.size:
        image = image.resize(target, Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.clip(array, 0.0, 255.0)


def _open(path):
    """Open `path` as an RGB or single-channel float ("F") Pillow image, or raise NSTError."""
    path = Path(path)
    if not path.exists():
        raise NSTError(f"No image at '{path}'. Check the path, or run `nst transfer` with no "
                       "images to use the bundled ones.")
    if path.is_dir():
        raise NSTError(f"'{path}' is a folder, not an image file.")
    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise NSTError(f"Cannot read '{path}' as an image ({error}). The file may be corrupt or "
                       "in a format Pillow does not know: re-save it as PNG or JPEG.") from None
    except Image.DecompressionBombError:
        raise NSTError(f"'{path}' is too large to decode safely; shrink it below 90 megapixels "
                       "first.") from None
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
    return image.convert("RGB")


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
    path = Path(path)
    image = to_uint8(img)
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format is None:
        raise NSTError(f"Cannot tell the image format from '{path.name}': use a name ending in "
                       ".png or .jpg.")
    return atomic_write(
        path, lambda handle: Image.fromarray(image).save(handle, format=image_format), overwrite)
