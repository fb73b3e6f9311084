"""The wire format: exact round trips, frames with raw arrays, and refusal of what encode never makes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from remote_kit import assert_identical

from vlgym.remote.codec import FRAMES_MEDIA_TYPE, DecodeError, decode, encode, pack, unpack

VALUE = {"image": np.arange(48, dtype=np.uint8).reshape(4, 4, 3), "mask": np.array([True, False]),
         "scores": np.array([0.1, 1 / 3], dtype=np.float32), "n": np.int64(7), "pair": (1, "a"), "nan": float("nan"),
         "third": 1 / 3, "text": "é♠中", "nested": {"list": [None, True, -2]}, 3: "int key"}


@pytest.mark.parametrize("image_format", ["png", "raw"])
def test_pack_then_unpack_is_exact(image_format):
    body, media_type = pack(VALUE, image_format)
    assert media_type == (FRAMES_MEDIA_TYPE if image_format == "raw" else "application/json")
    assert_identical(unpack(body, media_type), VALUE)


def test_frames_that_point_outside_their_bytes_are_refused():
    body, media_type = pack({"image": np.zeros((8, 8, 3), np.uint8)}, "raw")
    length = int.from_bytes(body[:8], "little")
    header = json.loads(body[8:8 + length])
    header["image"]["offset"] = 10_000
    tampered = json.dumps(header).encode()
    with pytest.raises(DecodeError, match="not in this answer"):
        unpack(len(tampered).to_bytes(8, "little") + tampered + body[8 + length:], media_type)
    with pytest.raises(DecodeError, match="not in this answer"):
        decode(encode({"a": np.zeros(3)}, "raw", blobs=[]))  # a blob outside frames


@pytest.mark.parametrize("wire", [
    {"__vlgym__": "pickle", "data": "gASV"},
    {"__vlgym__": "ndarray", "format": "raw", "dtype": "|O", "shape": [1], "data": "AA=="},
    {"__vlgym__": "ndarray", "format": "raw", "dtype": "<f8", "shape": [2], "data": "AA=="},
    {"__vlgym__": "scalar", "dtype": "<i8", "value": [1, 2]},
    {"__vlgym__": "float", "value": "1e5"},
    json.loads("[" * 40 + "]" * 40),
])
def test_what_encode_never_makes_is_refused(wire):
    with pytest.raises(DecodeError):
        decode(wire)
