"""Spatial control (Gatys et al. 2017, section 4): one style per region of the content image.

A region is given by a mask: a one-channel image in [0, 1] of the content's size, 1 where the
region's style should go. At each style layer the mask is shrunk to the layer's resolution and
the generated image's features are multiplied by it before their Gram matrix is taken (the
paper's "guided Gram matrix"), divided by the mask's area instead of the whole map's. Features
where the mask is 0 then contribute nothing to that region's Gram matrix, so each region is only
compared with its own style.
"""

import os

import numpy as np
from PIL import Image

from .errors import NSTError
from .images import image_size, load_image_near

#: A mask drawn for another image is refused when its aspect ratio differs by more than this.
MAX_ASPECT_CHANGE = 0.05


def load_mask(mask, dims):
    """A mask (a path, or an array (H, W) or (H, W, 1 or 3)) as float32 (height, width) in [0, 1].

    Image files may have any mode: colour masks become gray, white means 1. Arrays must hold
    values in [0, 1], or be uint8 (then 0-255). The mask is resized to `dims`, the content's
    (height, width), and refused if it is empty or was made for a differently shaped image.
    """
    is_file = isinstance(mask, (str, os.PathLike))
    name = f"'{mask}'" if is_file else "an array"
    height, width = int(dims[0]), int(dims[1])
    if is_file:
        # The header gives the shape; the pixels are decoded near the size needed, not in full.
        mask_height, mask_width = image_size(mask)
    else:
        values = _array_mask(mask)
        mask_height, mask_width = values.shape
    if abs(mask_width / mask_height - width / height) > MAX_ASPECT_CHANGE * width / height:
        raise NSTError(f"The mask {name} is {mask_width}x{mask_height} pixels, a different "
                       f"shape from the content image ({width}x{height}); draw the mask on the "
                       "content image so they match.")
    if is_file:
        values = load_image_near(mask, (height, width)).mean(axis=2) / 255.0
    values = resize_mask(values, (height, width))
    if values.max() < 0.5 / 255:
        raise NSTError(f"The mask {name} is empty (all black): paint the region its style should "
                       "cover in white.")
    return values


def load_masks(masks, dims, styles):
    """Load one mask per style (see `load_mask`), or refuse when the counts differ."""
    check_mask_count(masks, styles)
    return [load_mask(mask, dims) for mask in masks]


def check_mask_count(masks, styles):
    """Refuse a list of masks that does not give one mask per style."""
    if len(masks) != styles:
        raise NSTError(f"Got {len(masks)} style masks for {styles} "
                       f"{'style' if styles == 1 else 'styles'}; give one mask per style, in "
                       "the same order.")


def _array_mask(mask):
    """A user's mask array as float32 (H, W) in [0, 1], or NSTError."""
    array = np.asarray(mask)
    is_uint8 = array.dtype == np.uint8
    if array.ndim == 3 and array.shape[2] in (1, 3):
        array = array.mean(axis=2)  # colour masks become gray
    if array.ndim != 2 or min(array.shape) < 1:
        raise NSTError(f"A mask array must have shape (H, W), (H, W, 1) or (H, W, 3); got "
                       f"{np.shape(mask)}.")
    array = array.astype(np.float32) / (255.0 if is_uint8 else 1.0)
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise NSTError("A float mask array must hold values in [0, 1] (or pass a uint8 array "
                       "in 0-255).")
    return array


def resize_mask(mask, dims):
    """A (H, W) mask resized to (height, width) by area averaging, so its mean is kept."""
    height, width = int(dims[0]), int(dims[1])
    if mask.shape == (height, width):
        return mask.astype(np.float32)
    image = Image.fromarray(np.ascontiguousarray(mask, dtype=np.float32), mode="F")
    resized = np.asarray(image.resize((width, height), Image.Resampling.BOX))
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


def layer_dims(height, width, layer):
    """The (height, width) of VGG layer `layer`'s feature map for a height x width input.

    Each block before the layer's ends in a 2x2 pooling with stride 2, which floors odd sizes.
    """
    for _ in range(int(layer[5]) - 1):  # "block3_conv1" -> two poolings before it
        height, width = height // 2, width // 2
    return height, width


def layer_masks(mask, layers):
    """A content-sized mask shrunk to each layer's resolution: {layer: (h, w, 1) float32}."""
    height, width = mask.shape
    return {layer: resize_mask(mask, layer_dims(height, width, layer))[:, :, None]
            for layer in layers}
