"""A real uvicorn env server on 127.0.0.1 (an ephemeral port), started by the test and stopped after it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from vlgym.remote.server import Limits, make_server


class RunningServer:
    def __init__(self, limits: Limits, token: str | None):
        with socket.socket() as probe:  # an ephemeral port that is free now
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
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
def running_server(limits: Limits | None = None, token: str | None = None) -> Iterator[RunningServer]:
    server = RunningServer(limits or Limits(), token).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with running_server() as running:
        yield running
