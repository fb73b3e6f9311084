"""What crosses the wire: JSON values, with arrays as PNG (lossless) or raw bytes, and spaces as descriptions.

Every value an env returns (observations, infos) is turned into plain JSON by :func:`encode` and back by
:func:`decode`, exactly: floats keep every bit (JSON numbers written with ``repr``), numpy scalars and arrays
keep their dtype and shape, tuples stay tuples. Values JSON cannot say are tagged objects
``{"__vlgym__": KIND, ...}``. Nothing is ever pickled or evaluated: decoding only builds arrays, tuples and
numbers from the tags it knows, and rejects anything else.

Images (``uint8`` arrays of shape ``(H, W)``, ``(H, W, 1|3|4)``) travel as PNG by default; other arrays as
base64 of their bytes. An answer made with ``"raw"`` (:func:`pack`) is *frames*: an 8-byte little-endian
length, that many bytes of JSON, then the arrays' bytes, which the JSON points into (``"format": "blob"``,
``"offset"``, ``"nbytes"``): no compression, no base64, for peers that agree on it.
"""

from __future__ import annotations

import base64
import io
import json
import math
from typing import Any, Literal

import numpy as np
from gymnasium import spaces
from PIL import Image

from vlgym.core.spaces import UnicodeText

ImageFormat = Literal["png", "raw"]
#: The media type of :func:`pack`'s answers with raw arrays.
FRAMES_MEDIA_TYPE = "application/vnd.vlgym.frames"
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


def encode(value: Any, image_format: ImageFormat = "png", blobs: list[bytes] | None = None) -> Any:
    """``value`` as plain JSON (see the module docstring); with ``blobs``, arrays go there as bytes."""
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
        if blobs is not None:
            offset = sum(len(b) for b in blobs)
            blobs.append(array.tobytes())
            return {TAG: "ndarray", "format": "blob", "dtype": array.dtype.str, "shape": list(array.shape),
                    "offset": offset, "nbytes": array.nbytes}
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
            return {k: encode(v, image_format, blobs) for k, v in value.items()}
        return {TAG: "dict", "items": [[encode(k, image_format, blobs), encode(v, image_format, blobs)]
                                       for k, v in value.items()]}
    if isinstance(value, list):
        return [encode(v, image_format, blobs) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [encode(v, image_format, blobs) for v in value]}
    raise TypeError(f"values of type {type(value).__name__} cannot be sent")


def decode(value: Any, blobs: memoryview | None = None, _depth: int = 0) -> Any:
    """The value :func:`encode` was given (``blobs``: the arrays' bytes of frames); :class:`DecodeError` for
    anything it does not make."""
    if _depth > MAX_DEPTH:
        raise DecodeError(f"values nest at most {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, blobs, _depth + 1) for v in value]
    if not isinstance(value, dict):
        raise DecodeError(f"unexpected JSON value of type {type(value).__name__}")
    if TAG not in value:
        return {k: decode(v, blobs, _depth + 1) for k, v in value.items()}
    try:
        return _decode_tagged(value, blobs, _depth + 1)
    except DecodeError:
        raise
    except (KeyError, TypeError, ValueError, OSError, OverflowError) as error:  # bad tag fields, base64, PNG
        raise DecodeError(f"malformed {value.get(TAG)!r} value: {error}") from None


def _decode_tagged(value: dict, blobs: memoryview | None, depth: int) -> Any:
    kind = value[TAG]
    if kind == "tuple":
        return tuple(decode(v, blobs, depth) for v in _list(value["items"]))
    if kind == "dict":
        pairs = (_pair(item) for item in _list(value["items"]))
        return {_hashable(decode(k, blobs, depth)): decode(v, blobs, depth) for k, v in pairs}
    if kind == "float":
        if value["value"] not in ("nan", "inf", "-inf"):
            raise DecodeError(f"not a non-finite float: {value['value']!r}")
        return float(value["value"])
    if kind == "scalar":
        dtype, number = _dtype(value["dtype"]), decode(value["value"], None, depth)
        if not isinstance(number, (bool, int, float)):
            raise DecodeError("a scalar holds a number")
        return dtype.type(number)
    if kind == "ndarray":
        dtype, shape = _dtype(value["dtype"]), tuple(int(n) for n in _list(value["shape"]))
        if any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize > _MAX_ARRAY_BYTES:
            raise DecodeError(f"bad array shape {shape}")
        if value["format"] == "blob":
            offset, nbytes = int(value["offset"]), int(value["nbytes"])
            if blobs is None or offset < 0 or nbytes != math.prod(shape) * dtype.itemsize or offset + nbytes > len(
                    blobs):
                raise DecodeError("an array's bytes are not in this answer")
            return np.frombuffer(blobs[offset:offset + nbytes], dtype=dtype).reshape(shape).copy()
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


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON (non-finite floats must have been tagged by :func:`encode`)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def pack(payload: dict, image_format: ImageFormat) -> tuple[bytes, str]:
    """An answer body and its media type: JSON with PNG images, or for ``"raw"`` frames (module docstring)."""
    if image_format == "png":
        return dumps(encode(payload, "png")), "application/json"
    blobs: list[bytes] = []
    header = dumps(encode(payload, "raw", blobs))
    return b"".join([len(header).to_bytes(8, "little"), header, *blobs]), FRAMES_MEDIA_TYPE


def unpack(body: bytes, media_type: str) -> Any:
    """The payload :func:`pack` was given."""
    if not media_type.startswith(FRAMES_MEDIA_TYPE):
        return decode(json.loads(body))
    length = int.from_bytes(body[:8], "little")
    if len(body) < 8 + length:
        raise DecodeError("truncated frames")
    return decode(json.loads(body[8:8 + length]), memoryview(body)[8 + length:])


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
    """The space :func:`describe_space` described (after :func:`decode`); :class:`DecodeError` for anything else."""
    if not isinstance(description, dict):
        raise DecodeError("a space description is a JSON object")
    try:
        kind = description["type"]
        if kind == "UnicodeText":
            return UnicodeText(int(description["max_length"]), min_length=int(description["min_length"]))
        if kind == "Dict":
            return spaces.Dict({str(k): build_space(s) for k, s in description["spaces"].items()})
        if kind == "Box":
            return spaces.Box(low=np.asarray(description["low"]), high=np.asarray(description["high"]),
                              shape=tuple(description["shape"]), dtype=_dtype(description["dtype"]))
        if kind == "Discrete":
            return spaces.Discrete(int(description["n"]), start=int(description["start"]))
        if kind == "Text":
            return spaces.Text(int(description["max_length"]), min_length=int(description["min_length"]),
                               charset=str(description["charset"]))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DecodeError(f"malformed space description: {error}") from None
    raise DecodeError(f"unknown space type {kind!r}")
