"""The ``server`` fixture: a real uvicorn env server on 127.0.0.1, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from remote_kit import RunningServer, running_server


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with running_server() as running:
        yield running
