"""nst_utils: neural style transfer (Gatys et al., CVPR 2016) with Keras 3, built to be read.

One module per idea: `images` (I/O and VGG preprocessing), `weights` (finding ImageNet weights),
`models` (VGG feature extractors), `losses`, `optimize` (the Evaluator and optimisers) and
`transfer` (`style_transfer()`).
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature lines) goes to stderr and would
# drown the notebooks' output; keep warnings and errors. Must be set before TensorFlow loads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .errors import NSTError  # noqa: E402
from .images import deprocess_image, load_image, preprocess_image, save_image  # noqa: E402
from .losses import (feature_reconstruction_loss, gram_matrix,  # noqa: E402
                     style_reconstruction_loss, total_variation_loss)
from .models import build_vgg, vgg_layer_names  # noqa: E402
from .optimize import Evaluator, minimize  # noqa: E402
from .transfer import STYLE_LAYERS, style_transfer  # noqa: E402
from .weights import weights_path  # noqa: E402

__all__ = ["NSTError", "load_image", "preprocess_image", "deprocess_image", "save_image",
           "feature_reconstruction_loss", "gram_matrix", "style_reconstruction_loss",
           "total_variation_loss", "build_vgg", "vgg_layer_names", "Evaluator", "minimize",
           "STYLE_LAYERS", "style_transfer", "weights_path"]
