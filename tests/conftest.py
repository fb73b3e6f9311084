"""Shared fixtures: a factory that makes vlgym envs and closes them after the test."""

from __future__ import annotations

import pytest
import testkit


@pytest.fixture
def make_env():
    """``make_env(id, **kwargs)``: ``testkit.make`` whose envs are closed when the test ends."""
    made = []

    def make(env_id: str, **kwargs):
        env = testkit.make(env_id, **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
