"""The benchmarks' one problem: the photo and the painting at a size, and the loss to minimise.

VGG19, block4_conv2 for content, the five style layers, and the demo's weights
(`nst_utils.defaults.PRESETS["demo"]`: content_weight=100, style_weights=(1000, 100, 12, 1, 1),
tv_weight=200). Imports no backend of its own, so that `backends.py` can run it on each of
Keras's.
"""

import numpy as np

from nst_utils.defaults import CONTENT_LAYER, STYLE_LAYERS, WEIGHT_KEYS, loss_settings
from nst_utils.images import load_image, preprocess_image
from nst_utils.models import build_vgg
from nst_utils.transfer import IMAGES_DIR, weighted_transfer_loss

LAYERS = [CONTENT_LAYER, *STYLE_LAYERS]
WEIGHTS = loss_settings("demo", WEIGHT_KEYS)


def images(size):
    """Content at `size` px and the style resized to the same dims (the homework concatenates).

    The photo is 451x300; beyond that it is enlarged (load_image's max_size never enlarges).
    """
    dims = (round(size * 300 / 451), size)
    content = load_image(IMAGES_DIR / "chelsea.jpg", size=dims)
    style = load_image(IMAGES_DIR / "scream.jpg", size=dims)
    return content, np.rint(style)  # rounded: ours reads the same style back from a PNG


def benchmark_loss(content, style):
    """The library's transfer loss of this problem for images `content` and `style`."""
    return weighted_transfer_loss(build_vgg("vgg19", "max", LAYERS), preprocess_image(content),
                                  preprocess_image(style), CONTENT_LAYER, STYLE_LAYERS, **WEIGHTS)
