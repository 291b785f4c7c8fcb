"""Real ImageNet weights, the feature extractors and their errors."""

import hashlib

import numpy as np
import pytest

from nst_utils import NSTError, build_vgg, vgg_layer_names, weights_path
from nst_utils.weights import OFFICIAL


def test_vgg19_file_is_keras_own():
    path = weights_path("vgg19")
    assert hashlib.md5(path.read_bytes()).hexdigest() == "253f8cb515780f3b799900260a226db6"
    assert path.name == OFFICIAL["vgg19"][0]


def test_vgg16_weights_are_imagenet():
    model = build_vgg("vgg16", layers=["block1_conv1"])
    kernel, bias = model.get_layer("block1_conv1").get_weights()
    assert kernel.shape == (3, 3, 3, 64)
    assert bias[0] == pytest.approx(0.734298, abs=1e-6)


def test_vgg19_weights_are_imagenet():
    bias = build_vgg("vgg19", layers=["block1_conv1"]).get_layer("block1_conv1").get_weights()[1]
    assert bias[0] == pytest.approx(0.7301776, abs=1e-6)


def test_extractor_returns_the_requested_layers_and_stops_there():
    model = build_vgg("vgg16", layers=["block1_conv2", "block3_conv1"])
    features = model(np.zeros((1, 32, 48, 3), np.float32))
    assert set(features) == {"block1_conv2", "block3_conv1"}
    assert tuple(features["block1_conv2"].shape) == (1, 32, 48, 64)
    assert tuple(features["block3_conv1"].shape) == (1, 8, 12, 256)
    assert model.layers[-1].name == "block3_conv1"


def test_features_of_a_real_image_are_sensible():
    from nst_utils.images import preprocess_image
    from nst_utils.transfer import IMAGES_DIR

    model = build_vgg("vgg19", layers=["block5_conv1"])
    features = np.asarray(model(preprocess_image(IMAGES_DIR / "chelsea.jpg", (64, 96)))
                          ["block5_conv1"])
    assert features.shape == (1, 4, 6, 512)
    assert features.min() >= 0 and 0.01 < (features > 0).mean() < 0.9  # ReLU, sparse


def test_average_pooling_keeps_weights_and_changes_activations():
    layers = ["block2_conv1"]
    max_model = build_vgg("vgg16", "max", layers)
    avg_model = build_vgg("vgg16", "avg", layers)
    assert "AveragePooling2D" in [type(layer).__name__ for layer in avg_model.layers]
    np.testing.assert_array_equal(max_model.get_layer("block2_conv1").get_weights()[0],
                                  avg_model.get_layer("block2_conv1").get_weights()[0])
    x = np.random.default_rng(0).normal(0, 50, (1, 16, 16, 3)).astype(np.float32)
    assert not np.allclose(max_model(x)["block2_conv1"], avg_model(x)["block2_conv1"])


def test_unknown_layer_lists_the_valid_names():
    with pytest.raises(NSTError, match="no layer named 'block6_conv1'.*block5_conv4"):
        build_vgg("vgg19", layers=["block6_conv1"], weights=None)


def test_unknown_convnet_and_pooling():
    with pytest.raises(NSTError, match="choose one of 'vgg16', 'vgg19'"):
        build_vgg("resnet", weights=None)
    with pytest.raises(NSTError, match="choose one of 'max', 'avg'"):
        build_vgg("vgg16", pooling="min", weights=None)


def test_layer_names():
    names = vgg_layer_names("vgg16")
    assert names[:3] == ["block1_conv1", "block1_conv2", "block1_pool"]
    assert len(names) == 18 and len(vgg_layer_names("vgg19")) == 21


def test_missing_weights_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(NSTError, match="place Keras's 'vgg19_weights.*--weights"):
        weights_path("vgg19", download=False)


def test_a_wrong_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"junk")
    with pytest.raises(NSTError, match="Cannot load VGG16 weights"):
        build_vgg("vgg16", weights=bad)
