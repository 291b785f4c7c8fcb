"""The names, presets and defaults of a style transfer, in one place free of NumPy and Keras.

`style_transfer()` takes its defaults from here and the `nst transfer` command shows them in its
help, which it prints before Keras is loaded (`nst_utils.commandline`); this module must
therefore import nothing but `errors` (the standard library only).
"""

from .errors import NSTError, option

#: Gatys et al.'s layers: the content is matched at one layer, the style at the first
#: convolution of each block.
CONTENT_LAYER = "block4_conv2"
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]

#: The library's own names, which the command's choices and every "unknown ..." message list.
NAMES = {"convnet": ("vgg16", "vgg19"), "pooling": ("max", "avg"),
         "optimizer": ("lbfgs", "lbfgs-restarts", "adam", "gd"),
         "init": ("noise", "content", "style", "average"),
         "preserve_color": ("luminance", "histogram")}
CONVNETS, POOLINGS, OPTIMIZERS, INIT_NAMES, PRESERVE_COLOR = (
    NAMES[name] for name in ("convnet", "pooling", "optimizer", "init", "preserve_color"))

#: The settings of a preset's loss (what is minimised; the rest is how long and how large),
#: and of its weights alone.
WEIGHT_KEYS = ("content_weight", "style_weights", "tv_weight")
LOSS_KEYS = ("convnet", "content_layer", "style_layers", *WEIGHT_KEYS)

_HOMEWORK_LAYERS = dict(convnet="vgg16", content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS)

#: The course homework's parameter sets, named as the homework names their results: its
#: `style_transfer()`'s own defaults ("homework"), the three sets of "Generate pictures" and
#: part F's. Each keeps the images at their own size (max_size None) for 50 iterations, and
#: leaves the start and the scales to `TRANSFER`; the homework's own run starts from noise at one
#: scale (``init="noise", scales=(1.0,)``). "demo" is what `nst transfer` paints with no options
#: (and `make demo`): the "starry_tubingen" weights, on photos shrunk to 384 px, 65 iterations
#: at full size after at most as many at half size (whose loss levels off after 125 at
#: this size, so the demo runs 65 + 65, as it did before issue 21 as an equal split of 130).
PRESETS = {
    "homework": dict(_HOMEWORK_LAYERS, content_weight=3e-2, style_weights=(20000, 500, 12, 1, 1),
                     tv_weight=5e-2, iterations=50, max_size=None),
    "wave_chicago": dict(_HOMEWORK_LAYERS, content_weight=500, style_weights=(20, 20, 30, 10, 10),
                         tv_weight=200, iterations=50, max_size=None),
    "starry_tubingen": dict(_HOMEWORK_LAYERS, content_weight=100,
                            style_weights=(1000, 100, 12, 1, 1), tv_weight=200, iterations=50,
                            max_size=None),
    "portrait_of_pavlos": dict(_HOMEWORK_LAYERS, content_weight=1000,
                               style_weights=(500, 100, 12, 1, 1), tv_weight=200, iterations=50,
                               max_size=None),
    "pavlos_grandma_woman_with_hat": dict(
        convnet="vgg19", content_layer=CONTENT_LAYER,
        style_layers=["block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4",
                      "block5_conv4"],
        content_weight=1000, style_weights=(500, 100, 12, 1, 1), tv_weight=200, iterations=50,
        max_size=None),
}
PRESETS["demo"] = dict(PRESETS["starry_tubingen"], iterations=65, max_size=384)

#: The options no preset sets. `init` and `scales` are the fastest recipe measured, not the
#: homework's (`benchmarks/default_recipe.py`, and with the half size left once its loss levels
#: off, `benchmarks/time_to_quality.py`).
TRANSFER = dict(init="content", seed=0, optimizer="lbfgs", pooling="max", scales=(0.5, 1.0),
                style_scale=1.0, init_noise=0.0, animation_every=10, jit_compile="auto")

#: The preset `style_transfer()` and `nst transfer` share as their default, so that
#: ``style_transfer("a.jpg", "b.jpg", out)`` paints what ``nst transfer a.jpg b.jpg`` paints.
#: The demo's, not the homework function's: a default must suit any photo, and the homework's
#: sets keep an image at its own size (a 12-megapixel photo would need about 76 GB, as
#: `nst_utils.memory` predicts), while the demo's 384 px need 1.6 GB and about two and a half
#: CPU minutes; its weights are the homework's own "starry_tubingen", and `make demo`'s picture
#: stays what it was.
DEFAULT_PRESET = "demo"

#: Every default of `style_transfer()` that `nst transfer` shares: the default preset and
#: `TRANSFER`.
DEFAULTS = {**TRANSFER, **PRESETS[DEFAULT_PRESET]}


def loss_settings(name, keys=LOSS_KEYS):
    """The preset `name`'s loss alone (`LOSS_KEYS`: network, layers and weights; or `keys`, such
    as `WEIGHT_KEYS`), as a dict to combine with a run's own length, size and start."""
    return {key: PRESETS[check_name("preset", name, PRESETS)][key] for key in keys}


def check_name(keyword, value, names=None):
    """`value` if it is one of the library's names for `keyword` (`NAMES[keyword]`, or `names`),
    else NSTError listing them."""
    names = NAMES[keyword] if names is None else names
    if not isinstance(value, str) or value not in names:
        raise NSTError(f"Unknown {option(keyword)} {value!r}; choose one of "
                       f"{', '.join(map(repr, names))}.")
    return value
