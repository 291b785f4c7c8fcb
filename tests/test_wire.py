"""The sandbox's replies are parsed as hostile: only the few shapes of value a probe returns."""

import numpy as np
import pytest

from nst_utils.exercises.probing import Failure
from nst_utils.grader.wire import Malformed, clean_text, decode_value, encode_value, parse_line


@pytest.mark.parametrize("value", [np.arange(12, dtype=np.float32).reshape(3, 4),
                                   np.array(3, dtype=np.int64), np.zeros((0, 2), np.uint8),
                                   np.array([True, False])])
def test_arrays_round_trip_with_their_dtype_and_shape(value):
    decoded = decode_value(encode_value(value))
    assert decoded.dtype == value.dtype and decoded.shape == value.shape
    assert np.array_equal(decoded, value)


def test_failures_keys_and_done_round_trip():
    assert decode_value(encode_value(Failure("raised ValueError: x"))) == "raised ValueError: x"
    assert isinstance(decode_value(encode_value(Failure("x"))), Failure)
    assert decode_value(encode_value(["content", "tv"])) == ["content", "tv"]
    assert decode_value(encode_value(True)) is True


@pytest.mark.parametrize("obj", [
    {"array": {"dtype": "object", "shape": [1], "data": ""}},
    {"array": {"dtype": "float64", "shape": [2], "data": "AAAAAAAAAAA="}},  # 8 bytes, not 16
    {"array": {"dtype": "float32", "shape": [1 << 17], "data": ""}},
    {"array": {"dtype": "float32", "shape": [-1], "data": ""}},
    {"array": {"dtype": "float32", "shape": [1.5], "data": ""}},
    {"array": {"dtype": "float32", "shape": [1], "data": "!!!"}},
    {"array": {"dtype": "float32", "shape": [1], "data": "AAAAAA==", "extra": 1}},
    {"points": "2"}, {"failure": 2}, {"failure": "x" * 301}, {"done": "yes"},
    {"keys": ["a"] * 11}, {"keys": [1]}, {"failure": "x", "done": True}, [], "2", None])
def test_anything_else_is_malformed(obj):
    with pytest.raises(Malformed):
        decode_value(obj)


def test_lines_must_be_json_objects_and_text_is_cleaned():
    for line in (b"not json", b"[1, 2]", b"1e999999" * 0 + b'"x"', b"[" * 100000):
        with pytest.raises(Malformed):
            parse_line(line)
    assert clean_text("a\x1b[2Jb\nc\x00" + "d" * 400) == "a [2Jb c " + "d" * 291
