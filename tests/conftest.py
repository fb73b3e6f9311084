"""Shared fixtures: a factory that makes vlgym envs and closes them after the test."""

from __future__ import annotations

import gymnasium as gym
import pytest

import vlgym  # noqa: F401  (registers the ids)


@pytest.fixture
def make_env():
    """``make_env(id, **kwargs)``: ``gym.make`` whose envs are closed when the test ends."""
    made = []

    def make(env_id: str, **kwargs):
        env = gym.make(env_id, **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
