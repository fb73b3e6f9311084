"""Test helpers: a real uvicorn env server on 127.0.0.1 (an ephemeral port) started and stopped by the test,
and comparing what a remote env returns with the local env, value by value, type by type."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import numpy as np
from testkit import free_port

from vlgym.remote.server import Limits, make_server


def assert_identical(remote: Any, local: Any, where: str = "value") -> None:
    """Same types, same values; arrays with the same dtype, shape and bytes."""
    assert type(remote) is type(local), f"{where}: {type(remote).__name__} != {type(local).__name__}"
    if isinstance(local, np.ndarray):
        assert remote.dtype == local.dtype and remote.shape == local.shape, where
        if local.dtype == object:  # vector envs' infos: compare the items
            assert_identical(remote.tolist(), local.tolist(), where)
        else:
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


class RunningServer:
    def __init__(self, limits: Limits, token: str | None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, token=token, limits=limits)
        self.app = self.server.config.app
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the env server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    @property
    def sessions(self):
        return self.app.state.sessions

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, **kwargs)

    def post(self, path: str, **kwargs) -> httpx.Response:
        return httpx.post(self.url + path, **kwargs)


@contextmanager
def running_server(limits: Limits | None = None, token: str | None = None,
                   port: int | None = None) -> Iterator[RunningServer]:
    server = RunningServer(limits or Limits(), token, port).start()
    try:
        yield server
    finally:
        server.stop()
