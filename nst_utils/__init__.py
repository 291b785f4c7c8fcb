"""nst_utils: neural style transfer (Gatys et al., CVPR 2016) with Keras 3, built to be read.

Three rooms, one per audience, and imports that run one way (grader -> exercises -> library):

* The method, which a student reads next to the paper (this package's own modules): `images`
  (I/O and VGG preprocessing), `weights` (finding ImageNet weights), `models` (VGG feature
  extractors), `losses`, `backend` (gradients and compilation on TensorFlow, JAX or PyTorch),
  `optimize` (the Evaluator and optimisers), `transfer` (`style_transfer()`), `defaults` (names,
  defaults and presets), `preflight` (the checks before any work), `files`, `errors`,
  `bundled`, `animation`, `display` (the notebooks' figures), and beyond Gatys 2016: `memory`,
  `color` and `regions`.
* `nst_utils.exercises`: one module and one record per exercise, and the students' checks.
* `nst_utils.grader`: student versions, nbgrader and otter export, and `nst grade`'s sandboxed
  grading.

`commandline` and `cli` are the `nst` command (`nst_command` imports `commandline` before this
file runs, so that it answers without Keras); `checks` is the exercises' old name.
"""

import os
import sys

# TensorFlow's C++ logging (CPU feature lines, XLA notices) goes to stderr and would drown the
# notebooks' output; keep warnings and errors. Must be set before TensorFlow loads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: pyproject.toml leaves TensorFlow to the environment (a preinstalled one is never doubled).
NO_TENSORFLOW = ("nst runs on Keras's TensorFlow backend (the default), and TensorFlow is not "
                 "installed: pip install 'nst[cpu]' for the small CPU build, or pip install "
                 "tensorflow; or choose another backend, such as KERAS_BACKEND=jax with "
                 "pip install 'nst[jax]'")


def _import_keras_quietly():
    """Import Keras, and with it its backend, with file descriptor 2 (stderr) sent to /dev/null.

    TensorFlow prints its oneDNN start-up notice before the log level above is read, and Jupyter
    shows it under the first cell of every notebook. Python exceptions are unaffected.
    """
    if "keras" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
    except ModuleNotFoundError as error:
        if error.name != "tensorflow":
            raise
        raise ModuleNotFoundError(NO_TENSORFLOW, name="tensorflow") from None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_keras_quietly()

from .errors import NSTError  # noqa: E402
from .images import deprocess_image, load_image, preprocess_image, save_image  # noqa: E402
from .losses import (  # noqa: E402
    feature_reconstruction_loss,
    gram_matrix,
    style_reconstruction_loss,
    total_variation_loss,
)
from .models import build_vgg, vgg_layer_names  # noqa: E402
from .optimize import Evaluator, minimize  # noqa: E402
from .transfer import STYLE_LAYERS, style_transfer  # noqa: E402
from .weights import weights_path  # noqa: E402

__all__ = ["NSTError", "load_image", "preprocess_image", "deprocess_image", "save_image",
           "feature_reconstruction_loss", "gram_matrix", "style_reconstruction_loss",
           "total_variation_loss", "build_vgg", "vgg_layer_names", "Evaluator", "minimize",
           "STYLE_LAYERS", "style_transfer", "weights_path"]
