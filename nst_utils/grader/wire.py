"""The messages between the grader and its sandbox, and their strict parsing.

The grader sends the sandbox one JSON request on its standard input; the sandbox answers with one
JSON line per step on a dedicated pipe. Arrays travel as dtype, shape and base64 bytes. Everything
that comes back is parsed as hostile: `decode_value` accepts only the few shapes of value a probe
returns, within fixed sizes, and raises `Malformed` for anything else.
"""

import base64
import json
import math

import numpy as np

from ..exercises.probing import Failure

#: What a probe may return, at most: array elements, dimensions, dictionary keys, message length.
MAX_ELEMENTS, MAX_DIMS, MAX_KEYS, MAX_TEXT = 1 << 16, 6, 10, 300
#: The dtypes an array may have.
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64"}


class Malformed(ValueError):
    """A message from the sandbox that does not follow the format."""


def encode_array(array):
    array = np.asarray(array).copy(order="C")  # ascontiguousarray would make 0-d arrays 1-d
    return {"dtype": array.dtype.name, "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_array(obj):
    """A NumPy array from `encode_array`'s dict, checked field by field."""
    if not isinstance(obj, dict) or set(obj) != {"dtype", "shape", "data"}:
        raise Malformed("an array needs exactly dtype, shape and data")
    dtype, shape, data = obj["dtype"], obj["shape"], obj["data"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise Malformed("unknown dtype")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape)):
        raise Malformed("bad shape")
    size = math.prod(shape)  # Python's integers: a product of large sizes cannot wrap round
    if size > MAX_ELEMENTS or not isinstance(data, str):
        raise Malformed("array too large")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise Malformed("bad array data") from None
    if len(raw) != size * np.dtype(dtype).itemsize:
        raise Malformed("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def encode_value(value):
    """A probe's raw output as JSON-ready data."""
    if isinstance(value, Failure):
        return {"failure": str(value)[:MAX_TEXT]}
    if value is True:
        return {"done": True}
    if isinstance(value, list):
        return {"keys": [str(key)[:MAX_TEXT] for key in value[:MAX_KEYS]]}
    array = np.asarray(value)
    if array.size > MAX_ELEMENTS or array.ndim > MAX_DIMS:
        return {"failure": f"returned an array of shape {array.shape}, far larger than expected"}
    return {"array": encode_array(array)}


def decode_value(obj):
    """The inverse of `encode_value`, for a value that may come from hostile code."""
    if not isinstance(obj, dict) or len(obj) != 1:
        raise Malformed("a value needs exactly one field")
    (kind, content), = obj.items()
    if kind == "failure" and isinstance(content, str) and len(content) <= MAX_TEXT:
        return Failure(clean_text(content))
    if kind == "done" and content is True:
        return True
    if (kind == "keys" and isinstance(content, list) and len(content) <= MAX_KEYS
            and all(isinstance(key, str) and len(key) <= MAX_TEXT for key in content)):
        return [clean_text(key) for key in content]
    if kind == "array":
        return decode_array(content)
    raise Malformed(f"unexpected value of kind {str(kind)[:20]!r}")


def clean_text(text, limit=MAX_TEXT):
    """Text from the sandbox, safe to print and to put in a CSV cell: no control characters."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))[:limit]


def parse_line(line):
    """One reply line as a dict, or `Malformed`."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        raise Malformed("a reply line is not JSON") from None
    if not isinstance(message, dict):
        raise Malformed("a reply line is not a JSON object")
    return message
