"""What crosses the wire: JSON values, with arrays as PNG (lossless) or raw bytes, and spaces as descriptions.

Every value an env returns (observations, infos) is turned into plain JSON by :func:`encode` and back by
:func:`decode`, exactly: floats keep every bit (JSON numbers written with ``repr``), numpy scalars and arrays
keep their dtype and shape, tuples stay tuples. Values JSON cannot say are tagged objects
``{"__vlgym__": KIND, ...}``. Nothing is ever pickled or evaluated: decoding only builds arrays, tuples and
numbers from the tags it knows, and rejects anything else.

Images (``uint8`` arrays of shape ``(H, W)``, ``(H, W, 1|3|4)``) travel as PNG by default; ``"raw"`` sends
the bytes as they are (faster, larger), for peers that agree on it. Other arrays always travel raw.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any, Literal

import numpy as np
from gymnasium import spaces
from PIL import Image

from vlgym.core.spaces import UnicodeText

ImageFormat = Literal["png", "raw"]
IMAGE_FORMATS = ("png", "raw")
TAG = "__vlgym__"
#: Dtypes an array may have on the wire (no object arrays: they could hold anything).
_DTYPES = {np.dtype(t).str for t in (np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32,
                                      np.uint64, np.int64, np.float16, np.float32, np.float64)}
_MAX_ARRAY_BYTES = 256 * 1024 * 1024
#: Deepest nesting of lists/dicts a wire value may have (env values are shallow; this bounds recursion).
MAX_DEPTH = 32


class DecodeError(ValueError):
    """A wire value that does not describe a value :func:`encode` makes."""


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # Level 1: PNG is lossless at every level; the lowest costs least time per step for a few more bytes.
    Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array).save(
        buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _is_image(array: np.ndarray) -> bool:
    return array.dtype == np.uint8 and (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4)))


def encode(value: Any, image_format: ImageFormat = "png") -> Any:
    """``value`` as plain JSON (see the module docstring)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.str not in _DTYPES and value.dtype.newbyteorder().str not in _DTYPES:
            raise TypeError(f"arrays of dtype {value.dtype} cannot be sent")
        array = np.ascontiguousarray(value)
        if image_format == "png" and _is_image(array):
            data, fmt = _png(array), "png"
        else:
            data, fmt = array.tobytes(), "raw"
        return {TAG: "ndarray", "format": fmt, "dtype": array.dtype.str, "shape": list(array.shape),
                "data": base64.b64encode(data).decode("ascii")}
    if isinstance(value, np.generic):
        return {TAG: "scalar", "dtype": value.dtype.str, "value": encode(value.item())}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode(v, image_format) for k, v in value.items()}
        return {TAG: "dict", "items": [[encode(k, image_format), encode(v, image_format)] for k, v in value.items()]}
    if isinstance(value, list):
        return [encode(v, image_format) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [encode(v, image_format) for v in value]}
    raise TypeError(f"values of type {type(value).__name__} cannot be sent")


def decode(value: Any, _depth: int = 0) -> Any:
    """The value :func:`encode` was given; :class:`DecodeError` for anything it does not make."""
    if _depth > MAX_DEPTH:
        raise DecodeError(f"values nest at most {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, _depth + 1) for v in value]
    if not isinstance(value, dict):
        raise DecodeError(f"unexpected JSON value of type {type(value).__name__}")
    if TAG not in value:
        return {k: decode(v, _depth + 1) for k, v in value.items()}
    try:
        return _decode_tagged(value, _depth + 1)
    except DecodeError:
        raise
    except (KeyError, TypeError, ValueError, OSError, OverflowError) as error:  # bad tag fields, base64, PNG
        raise DecodeError(f"malformed {value.get(TAG)!r} value: {error}") from None


def _decode_tagged(value: dict, depth: int) -> Any:
    kind = value[TAG]
    if kind == "tuple":
        return tuple(decode(v, depth) for v in _list(value["items"]))
    if kind == "dict":
        pairs = (_pair(item) for item in _list(value["items"]))
        return {_hashable(decode(k, depth)): decode(v, depth) for k, v in pairs}
    if kind == "float":
        if value["value"] not in ("nan", "inf", "-inf"):
            raise DecodeError(f"not a non-finite float: {value['value']!r}")
        return float(value["value"])
    if kind == "scalar":
        dtype, number = _dtype(value["dtype"]), decode(value["value"], depth)
        if not isinstance(number, (bool, int, float)):
            raise DecodeError("a scalar holds a number")
        return dtype.type(number)
    if kind == "ndarray":
        dtype, shape = _dtype(value["dtype"]), tuple(int(n) for n in _list(value["shape"]))
        if any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize > _MAX_ARRAY_BYTES:
            raise DecodeError(f"bad array shape {shape}")
        data = base64.b64decode(value["data"], validate=True)
        if value["format"] == "png":
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height * 4 > _MAX_ARRAY_BYTES:
                    raise DecodeError("image too large")
                array = np.asarray(image)
            if array.dtype != dtype:
                raise DecodeError(f"PNG holds {array.dtype}, expected {dtype}")
            return array.reshape(shape)
        if value["format"] == "raw":
            return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
        raise DecodeError(f"unknown array format {value['format']!r}")
    raise DecodeError(f"unknown tag {kind!r}")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise DecodeError("expected a list")
    return value


def _pair(item: Any) -> tuple[Any, Any]:
    if not (isinstance(item, list) and len(item) == 2):
        raise DecodeError("expected a [key, value] pair")
    return item[0], item[1]


def _hashable(key: Any) -> Any:
    if isinstance(key, (list, dict, np.ndarray)):
        raise DecodeError("dict keys must be hashable")
    return key


def _dtype(name: Any) -> np.dtype:
    if not isinstance(name, str) or name not in _DTYPES:
        raise DecodeError(f"dtype {name!r} is not allowed")
    return np.dtype(name)


# --------------------------------------------------------------------------------------------------- spaces
def describe_space(space: spaces.Space) -> dict[str, Any]:
    """A JSON description of a space (the kinds vlgym envs use), from which :func:`build_space` rebuilds it."""
    if isinstance(space, UnicodeText):
        return {"type": "UnicodeText", "min_length": space.min_length, "max_length": space.max_length}
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: describe_space(s) for k, s in space.spaces.items()}}
    if isinstance(space, spaces.Box):
        return {"type": "Box", "dtype": space.dtype.str, "shape": list(space.shape),
                "low": encode(space.low, "raw"), "high": encode(space.high, "raw")}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Text):
        return {"type": "Text", "min_length": space.min_length, "max_length": space.max_length,
                "charset": "".join(sorted(space.character_set))}
    raise TypeError(f"spaces of type {type(space).__name__} cannot be described")


def build_space(description: Any) -> spaces.Space:
    """The space :func:`describe_space` described; :class:`DecodeError` for anything else."""
    if not isinstance(description, dict):
        raise DecodeError("a space description is a JSON object")
    try:
        kind = description["type"]
        if kind == "UnicodeText":
            return UnicodeText(int(description["max_length"]), min_length=int(description["min_length"]))
        if kind == "Dict":
            return spaces.Dict({str(k): build_space(s) for k, s in description["spaces"].items()})
        if kind == "Box":
            return spaces.Box(low=decode(description["low"]), high=decode(description["high"]),
                              shape=tuple(description["shape"]), dtype=_dtype(description["dtype"]))
        if kind == "Discrete":
            return spaces.Discrete(int(description["n"]), start=int(description["start"]))
        if kind == "Text":
            return spaces.Text(int(description["max_length"]), min_length=int(description["min_length"]),
                               charset=str(description["charset"]))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DecodeError(f"malformed space description: {error}") from None
    raise DecodeError(f"unknown space type {kind!r}")
