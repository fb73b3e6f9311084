"""Throughput of an env: steps per second under random valid actions, and reset time."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym


@dataclass
class BenchResult:
    env_id: str
    image_shape: tuple[int, ...]
    steps: int
    steps_per_s: float
    resets: int
    reset_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bench_env(env_id: str, *, seconds: float = 3.0, seed: int = 0, env_kwargs: dict[str, Any] | None = None,
              max_steps: int | None = None) -> BenchResult:
    """Step ``env_id`` (made with ``gym.make``, wrappers included) for ``seconds``, then time resets.

    Actions are drawn uniformly from ``info["available_actions"]`` as canonical strings, so the number
    includes the full text path: parsing, game logic, rendering and info.
    """
    env = gym.make(env_id, **(env_kwargs or {}))
    rng = random.Random(seed)
    try:
        _, info = env.reset(seed=seed)
        shape = env.observation_space["image"].shape
        steps, episode = 0, 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds and (max_steps is None or steps < max_steps):
            _, _, terminated, truncated, info = env.step(rng.choice(info["available_actions"]))
            steps += 1
            if terminated or truncated:
                episode += 1
                _, info = env.reset(seed=seed + episode)
        stepping = time.perf_counter() - start
        resets, start = 0, time.perf_counter()
        while resets < 5 or (time.perf_counter() - start < seconds / 3 and resets < 1000):
            env.reset(seed=seed + episode + resets)
            resets += 1
        reset_time = time.perf_counter() - start
    finally:
        env.close()
    return BenchResult(env_id, tuple(shape), steps, steps / stepping, resets, 1000 * reset_time / resets)
