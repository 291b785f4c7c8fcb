"""One source of defaults: `nst transfer` and `style_transfer()` paint the same picture, and a
wrong name is refused with the library's valid names, wherever it is given."""

import inspect
import re

import numpy as np
import pytest

import nst_utils.cli
from nst_utils import NSTError, build_vgg, style_transfer, weights_path
from nst_utils.cli import main
from nst_utils.commandline import parse, transfer_call
from nst_utils.defaults import DEFAULTS, NAMES, PRESETS, loss_settings
from nst_utils.transfer import IMAGES_DIR

CONTENT, STYLE = IMAGES_DIR / "rocket.jpg", IMAGES_DIR / "klimt_the_kiss.jpg"


def test_the_command_passes_style_transfers_own_defaults():
    *_, keywords = transfer_call(parse(["transfer"]))
    defaults = {name: parameter.default
                for name, parameter in inspect.signature(style_transfer).parameters.items()}
    passed = {name: list(value) if isinstance(value, (list, tuple)) else value
              for name, value in keywords.items()}
    assert passed == {name: list(value) if isinstance(value, (list, tuple)) else value
                      for name, value in defaults.items() if name in keywords}
    assert {name: defaults[name] for name in DEFAULTS} == DEFAULTS


def test_no_options_paint_the_same_picture_with_the_same_loss(tmp_path, monkeypatch):
    """The command and the function with no options but the same small size and length."""
    runs = []

    def recorded(*args, **keywords):
        runs.append(style_transfer(*args, **keywords))
        return runs[-1]

    monkeypatch.setattr(nst_utils.cli, "style_transfer", recorded)
    assert main(["transfer", str(CONTENT), str(STYLE), "-o", str(tmp_path / "command.png"),
                 "--max-size", "64", "--iterations", "4"]) == 0
    image, history = style_transfer(CONTENT, STYLE, tmp_path / "library.png", max_size=64,
                                    iterations=4, progress=False)
    (command_image, command_history), = runs
    assert [record["scale"] for record in history] == [0.5] * 4 + [1.0] * 4
    assert command_history[-1]["loss"] == pytest.approx(history[-1]["loss"], rel=1e-6)
    np.testing.assert_array_equal(command_image, image)


def test_presets_are_the_homeworks_and_the_demo_is_one_of_them():
    assert set(PRESETS) == {"homework", "wave_chicago", "starry_tubingen", "portrait_of_pavlos",
                            "pavlos_grandma_woman_with_hat", "demo"}
    assert loss_settings("demo") == loss_settings("starry_tubingen")
    assert PRESETS["pavlos_grandma_woman_with_hat"]["convnet"] == "vgg19"
    with pytest.raises(NSTError, match="Unknown preset 'starry'; choose one of 'homework', "):
        loss_settings("starry")


@pytest.mark.parametrize("call", [
    lambda tmp_path: build_vgg("alexnet", layers=["block1_conv1"], weights=None),
    lambda tmp_path: weights_path("alexnet"),
    lambda tmp_path: style_transfer(CONTENT, STYLE, tmp_path / "o.png", convnet="alexnet"),
])
def test_an_unknown_convnet_gets_one_message_listing_the_networks(call, tmp_path):
    with pytest.raises(NSTError) as error:
        call(tmp_path)
    assert str(error.value) == "Unknown convnet 'alexnet'; choose one of 'vgg16', 'vgg19'."


@pytest.mark.parametrize("call", [
    lambda tmp_path: build_vgg("vgg16", layers=["block1_conv1", "nope"], weights=None),
    lambda tmp_path: style_transfer(CONTENT, STYLE, tmp_path / "o.png", content_layer="nope"),
])
def test_an_unknown_layer_gets_one_message_listing_the_layers(call, tmp_path):
    valid = r"block1_conv1, block1_conv2, block1_pool, .*block5_pool"
    with pytest.raises(NSTError, match=rf"^VGG16 has no layer named 'nope'\. Valid names: "
                                       rf"{valid}\.$"):
        call(tmp_path)


@pytest.mark.parametrize("keyword", ["optimizer", "pooling", "preserve_color"])
def test_every_unknown_name_lists_the_valid_ones(tmp_path, keyword):
    listed = ", ".join(map(repr, NAMES[keyword]))
    with pytest.raises(NSTError, match=re.escape(f"Unknown {keyword} 'bogus'; choose one of "
                                                 f"{listed}.")):
        style_transfer(CONTENT, STYLE, tmp_path / "o.png", **{keyword: "bogus"})
