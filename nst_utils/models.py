"""VGG feature extractors: a preprocessed batch in, a dict {layer name: activation} out."""

import keras

from .defaults import check_name
from .errors import NSTError
from .memory import truncated_table
from .weights import weights_path

_APPLICATIONS = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}


def vgg_layer_names(convnet="vgg19"):
    """The names of VGG's convolution and pooling layers, input to output."""
    return [layer.name for layer in _vgg(convnet, weights=None).layers[1:]]


def build_vgg(convnet="vgg19", pooling="max", layers=("block5_conv1",), weights="imagenet"):
    """A Keras model mapping a preprocessed batch (N, H, W, 3) to {layer: activation}.

    The network is cut after the deepest requested layer, so no time is spent on layers nobody
    looks at. With ``pooling="avg"`` every MaxPooling2D is replaced by an AveragePooling2D, as
    Gatys et al. recommend for image synthesis; the convolution weights are the same.

    Args:
        convnet: "vgg16" or "vgg19".
        pooling: "max" or "avg".
        layers: names of the layers whose activations are returned.
        weights: "imagenet" (found by `weights_path`), a path to a weights file, or None for
            random weights.
    """
    check_name("pooling", pooling)
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise NSTError("Ask for at least one layer.")
    deepest = len(truncated_table(convnet, layers)) - 1  # checks the convnet and the layers
    base = _vgg(convnet, weights)
    names = [layer.name for layer in base.layers[1:]]
    x = inputs = keras.Input(shape=(None, None, 3), name="image")
    outputs = {}
    for layer in base.layers[1:deepest + 2]:
        if pooling == "avg" and isinstance(layer, keras.layers.MaxPooling2D):
            layer = keras.layers.AveragePooling2D(pool_size=2, strides=2, name=layer.name)
        x = layer(x)
        if layer.name in layers:
            outputs[layer.name] = x
    model = keras.Model(inputs, {name: outputs[name] for name in layers},
                        name=f"{convnet}_{pooling}_to_{names[deepest]}")
    model.trainable = False
    return model


def _vgg(convnet, weights):
    application = _APPLICATIONS[check_name("convnet", convnet)]
    model = application(include_top=False, weights=None, input_shape=(None, None, 3))
    if weights is not None:
        path = weights_path(convnet) if weights == "imagenet" else weights
        try:
            model.load_weights(str(path))
        except (OSError, ValueError) as error:
            raise NSTError(f"Cannot load {convnet.upper()} weights from '{path}': {error}. "
                           "Pass a Keras weights file for this network with include_top=False."
                           ) from None
    return model
