"""The names and defaults of a style transfer, in one place that imports nothing.

`style_transfer()` takes its defaults from here and the `nst transfer` command shows them in its
help, which it prints before Keras is loaded (`nst_utils.commandline`); this module must
therefore stay free of NumPy, Keras and the rest of the package.
"""

#: Gatys et al.'s layers: the content is matched at one layer, the style at the first
#: convolution of each block.
CONTENT_LAYER = "block4_conv2"
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]

CONVNETS = ("vgg16", "vgg19")
POOLINGS = ("max", "avg")
OPTIMIZERS = ("lbfgs", "lbfgs-restarts", "adam", "gd")
INIT_NAMES = ("noise", "content", "style")
PRESERVE_COLOR = ("luminance", "histogram")

#: `style_transfer()`'s keyword defaults that the command shares. `init` and `scales` are the
#: fastest recipe measured, not the homework's (`benchmarks/default_recipe.py`).
TRANSFER = dict(convnet="vgg16", content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS,
                init="content", seed=0, optimizer="lbfgs", pooling="max", scales=(0.5, 1.0),
                style_scale=1.0, init_noise=0.0, animation_every=10, jit_compile="auto")

#: `style_transfer()`'s weights and length: the course homework's first preset.
HOMEWORK = dict(content_weight=3e-2, style_weights=(20000, 500, 12, 1, 1), tv_weight=5e-2,
                iterations=50, max_size=None)

#: What `nst transfer` paints with no options (and `make demo`): heavier content and TV weights
#: than the homework's, for photos at the command's 384 px, and 130 iterations split between
#: the two scales.
COMMAND = dict(content_weight=100.0, style_weights=(1000.0, 100.0, 12.0, 1.0, 1.0),
               tv_weight=200.0, iterations=130, max_size=384)
