"""Comparing what a remote env returns with the local env, value by value, type by type."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_identical(remote: Any, local: Any, where: str = "value") -> None:
    """Same types, same values; arrays with the same dtype, shape and bytes."""
    assert type(remote) is type(local), f"{where}: {type(remote).__name__} != {type(local).__name__}"
    if isinstance(local, np.ndarray):
        assert remote.dtype == local.dtype and remote.shape == local.shape, where
        assert remote.tobytes() == local.tobytes(), f"{where}: array bytes differ"
    elif isinstance(local, dict):
        assert list(remote) == list(local), f"{where}: keys {list(remote)} != {list(local)}"
        for key in local:
            assert_identical(remote[key], local[key], f"{where}[{key!r}]")
    elif isinstance(local, (list, tuple)):
        assert len(remote) == len(local), f"{where}: lengths differ"
        for i, (item, expected) in enumerate(zip(remote, local, strict=True)):
            assert_identical(item, expected, f"{where}[{i}]")
    elif isinstance(local, float) and np.isnan(local):
        assert np.isnan(remote), where
    else:
        assert remote == local, f"{where}: {remote!r} != {local!r}"
