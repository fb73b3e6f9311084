"""Evaluate an agent on an env over fixed seeds: success rate and score with 95% confidence intervals.

An agent is anything with ``act(obs, info) -> str`` (and optionally ``reset(seed)``), or a plain callable
``(obs, info) -> str``. Built-in agents: ``"expert"`` (the env's ``expert_action()``) and ``"random"``
(uniform over ``info["available_actions"]``, seeded per episode).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np


class Agent(Protocol):
    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> str: ...


class ExpertAgent:
    """Plays ``env.unwrapped.expert_action()``."""

    name = "expert"

    def __init__(self, env: gym.Env):
        self.env = env

    def act(self, obs, info):
        return self.env.unwrapped.expert_action()


class RandomAgent:
    """Uniform over the available actions; episode ``seed`` fixes its choices."""

    name = "random"

    def __init__(self, env: gym.Env | None = None):
        self.rng = random.Random(0)

    def reset(self, seed: int | None) -> None:
        self.rng = random.Random(f"random-agent-{seed}")

    def act(self, obs, info):
        actions = info.get("available_actions") or [""]
        return self.rng.choice(actions)


class CallableAgent:
    """Adapts ``f(obs, info) -> str``."""

    def __init__(self, function: Callable[[dict, dict], str], name: str | None = None):
        self.function, self.name = function, name or getattr(function, "__name__", "callable")

    def act(self, obs, info):
        return self.function(obs, info)


BUILTIN_AGENTS: dict[str, Callable[[gym.Env], Any]] = {"expert": ExpertAgent, "random": RandomAgent}


def make_agent(agent: str | Agent | Callable, env: gym.Env):
    """An agent from a name (``"expert"``, ``"random"``), an object with ``act``, or a callable."""
    if isinstance(agent, str):
        if agent not in BUILTIN_AGENTS:
            raise ValueError(f"unknown agent {agent!r}; built-in agents: {sorted(BUILTIN_AGENTS)}")
        return BUILTIN_AGENTS[agent](env)
    if hasattr(agent, "act"):
        return agent
    if callable(agent):
        return CallableAgent(agent)
    raise TypeError(f"an agent is a name, an object with act(obs, info), or a callable; got {type(agent)}")


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    score: float
    episode_return: float
    length: int
    invalid_actions: int


@dataclass
class EvalResult:
    env_id: str
    agent: str
    episodes: list[EpisodeResult]
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def success_rate(self) -> float:
        return float(np.mean([e.success for e in self.episodes])) if self.episodes else float("nan")

    @property
    def success_ci(self) -> tuple[float, float]:
        return wilson_interval(sum(e.success for e in self.episodes), len(self.episodes))

    @property
    def mean_score(self) -> float:
        return float(np.mean([e.score for e in self.episodes])) if self.episodes else float("nan")

    @property
    def score_ci(self) -> tuple[float, float]:
        return bootstrap_interval([e.score for e in self.episodes])

    def summary(self) -> dict[str, Any]:
        steps = sum(e.length for e in self.episodes)
        return {
            "env_id": self.env_id,
            "agent": self.agent,
            "episodes": len(self.episodes),
            "success_rate": self.success_rate,
            "success_ci95": list(self.success_ci),
            "mean_score": self.mean_score,
            "score_ci95": list(self.score_ci),
            "mean_return": float(np.mean([e.episode_return for e in self.episodes])) if self.episodes else None,
            "mean_length": steps / len(self.episodes) if self.episodes else None,
            "invalid_action_rate": sum(e.invalid_actions for e in self.episodes) / steps if steps else 0.0,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "env_kwargs": self.env_kwargs, "per_episode": [asdict(e) for e in self.episodes]}


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0 and 1, unlike the normal one)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_interval(values: Sequence[float], *, resamples: int = 2000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (seeded, so reruns give the same numbers)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return (float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)))


def run_episode(env: gym.Env, agent, seed: int, *, on_step: Callable | None = None) -> EpisodeResult:
    """Play one episode from ``reset(seed=seed)`` to its end."""
    if hasattr(agent, "reset"):
        agent.reset(seed)
    obs, info = env.reset(seed=seed)
    total, length, invalid = 0.0, 0, 0
    done = False
    while not done:
        action = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        if on_step is not None:
            on_step(obs, reward, terminated, truncated, info)
        total += float(reward)
        length += 1
        invalid += not info["action_valid"]
        done = terminated or truncated
    return EpisodeResult(seed, bool(info["success"]), float(info["score"]), total, length, invalid)


def evaluate(env_id: str, agent: str | Agent | Callable, *, episodes: int = 100, seed: int = 0,
             seeds: Sequence[int] | None = None, env_kwargs: dict[str, Any] | None = None,
             progress: Callable[[int], None] | None = None) -> EvalResult:
    """Run ``agent`` on ``env_id`` over ``seeds`` (default ``seed .. seed + episodes - 1``)."""
    env_kwargs = dict(env_kwargs or {})
    seeds = list(seeds) if seeds is not None else list(range(seed, seed + episodes))
    env = gym.make(env_id, **env_kwargs)
    try:
        player = make_agent(agent, env)
        name = agent if isinstance(agent, str) else getattr(player, "name", type(player).__name__)
        results = []
        for s in seeds:
            results.append(run_episode(env, player, s))
            if progress is not None:
                progress(1)
    finally:
        env.close()
    return EvalResult(env_id, name, results, env_kwargs)
