"""Throughput of an env: steps per second under random valid actions, and reset time.

``bench_env`` measures a vlgym id through ``gym.make`` (wrappers included), so the number covers the full
text path: parsing, game logic, rendering and info. ``bench_against_raw`` measures the same id beside the
simulator it adapts (e.g. raw MiniWorld at the same image size), in alternating rounds so that machine load
hits both alike, and reports the adapter's overhead. ``bench_vector`` measures several envs in worker
processes.
"""

from __future__ import annotations

import importlib
import random
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym

from vlgym.core.registration import env_family


@dataclass
class BenchResult:
    env_id: str
    image_shape: tuple[int, ...]
    steps: int
    steps_per_s: float
    resets: int
    reset_ms: float
    label: str = "vlgym"
    overhead_pct: float | None = None  # vs the raw simulator: median over paired rounds of the time ratio

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Stepper:
    """Steps one env with random actions; episodes restart with consecutive seeds."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None, seed: int = 0):
        self.env = gym.make(env_id, **(env_kwargs or {}))
        self.seed = seed
        self.image_shape = tuple(self.env.observation_space["image"].shape)
        _, self.info = self.env.reset(seed=seed)

    def reset(self) -> None:
        self.seed += 1
        _, self.info = self.env.reset(seed=self.seed)

    def step(self, rng: random.Random) -> bool:
        actions = self.info["available_actions"]
        _, _, terminated, truncated, self.info = self.env.step(actions[rng.randrange(len(actions))])
        return terminated or truncated

    def close(self) -> None:
        self.env.close()


def _run(stepper, rng: random.Random, seconds: float) -> tuple[int, float]:
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        if stepper.step(rng):
            stepper.reset()
        steps += 1
    return steps, time.perf_counter() - start


def _time_resets(stepper, seconds: float) -> tuple[int, float]:
    resets, start = 0, time.perf_counter()
    while resets < 5 or (time.perf_counter() - start < seconds and resets < 1000):
        stepper.reset()
        resets += 1
    return resets, time.perf_counter() - start


def _result(env_id, stepper, steps, elapsed, resets, reset_time, label) -> BenchResult:
    return BenchResult(env_id, stepper.image_shape, steps, steps / elapsed, resets, 1000 * reset_time / resets, label)


def bench_env(env_id: str, *, seconds: float = 3.0, seed: int = 0,
              env_kwargs: dict[str, Any] | None = None) -> BenchResult:
    """Steps/s over ``seconds`` (resets that episodes need included), then the mean reset time."""
    stepper = Stepper(env_id, env_kwargs, seed)
    try:
        steps, elapsed = _run(stepper, random.Random(seed), seconds)
        resets, reset_time = _time_resets(stepper, seconds / 3)
    finally:
        stepper.close()
    return _result(env_id, stepper, steps, elapsed, resets, reset_time, "vlgym")


#: Family -> ``"module:Class"`` of a stepper over the raw simulator behind a vlgym env, made as
#: ``Class(ours, seed)`` from the vlgym :class:`Stepper` (imported only when used, as gymnasium's entry points).
RAW_STEPPERS: dict[str, str] = {
    "miniworld": "vlgym.envs.miniworld.raw:RawMiniWorldStepper",
    "webshop": "vlgym.envs.webshop.raw:RawShopStepper",
    "alfworld": "vlgym.envs.alfworld.raw:RawALFWorldStepper",
}


def raw_stepper(family: str, ours: Stepper, seed: int):
    """The raw simulator's stepper of ``family`` beside ``ours``."""
    module, _, name = RAW_STEPPERS[family].partition(":")
    return getattr(importlib.import_module(module), name)(ours, seed)


def _run_fixed(stepper, seed: int, steps: int) -> float:
    """CPU seconds (rendering threads included) for ``steps`` random steps from ``reset(seed)``: the same
    states and actions on both sides. CPU time is far less disturbed by other load than wall time."""
    stepper.seed = seed - 1
    stepper.reset()
    rng, start = random.Random(seed), time.process_time()
    for _ in range(steps):
        if stepper.step(rng):
            stepper.reset()
    return time.process_time() - start


def bench_against_raw(env_id: str, *, seconds: float = 6.0, rounds: int = 16, seed: int = 0,
                      env_kwargs: dict[str, Any] | None = None) -> tuple[BenchResult, BenchResult]:
    """(vlgym, raw simulator) results for ``env_id``: in each round both replay the same episode (same seed,
    same actions), in alternating order, so that scene content and machine load hit both alike. Rates are
    steps per CPU second; the overhead is the median over rounds of the paired time ratio."""
    family = env_family(env_id)
    if family not in RAW_STEPPERS:
        raise ValueError(f"no raw simulator benchmark for the {family!r} family")
    ours = Stepper(env_id, env_kwargs, seed)
    raw = raw_stepper(family, ours, seed)
    totals = {"ours": [0, 0.0], "raw": [0, 0.0]}
    ratios = []
    try:
        probe, _ = _run(raw, random.Random(seed), min(1.0, seconds / rounds / 2))
        per_round = max(10, int(probe / min(1.0, seconds / rounds / 2) * seconds / rounds / 2))
        for r in range(rounds):
            times = {}
            for name, stepper in (("ours", ours), ("raw", raw)) if r % 2 == 0 else (("raw", raw), ("ours", ours)):
                times[name] = _run_fixed(stepper, seed + r, per_round)
                totals[name][0] += per_round
                totals[name][1] += times[name]
            ratios.append(times["ours"] / times["raw"])
        resets = {name: _time_resets(stepper, seconds / 6) for name, stepper in (("ours", ours), ("raw", raw))}
    finally:
        ours.close()
        raw.close()
    result = _result(env_id, ours, *totals["ours"], *resets["ours"], "vlgym, per CPU-s")
    result.overhead_pct = 100 * (statistics.median(ratios) - 1)
    return result, _result(env_id, raw, *totals["raw"], *resets["raw"], "raw, per CPU-s")


def bench_vector(env_id: str, workers: int, *, seconds: float = 3.0, seed: int = 0,
                 env_kwargs: dict[str, Any] | None = None) -> BenchResult:
    """Total env steps/s of ``workers`` copies of ``env_id`` in an AsyncVectorEnv (forkserver workers)."""
    from vlgym.vector import make_vector_env

    envs = make_vector_env(env_id, workers, env_kwargs=env_kwargs)
    rng = random.Random(seed)
    try:
        start = time.perf_counter()
        _, info = envs.reset(seed=seed)
        reset_time = time.perf_counter() - start
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            # A sub-env that just ended lists no actions; its next step is an autoreset that ignores the action.
            options = [list(a) or [""] for a in info["available_actions"]]
            actions = [a[rng.randrange(len(a))] for a in options]
            _, _, _, _, info = envs.step(actions)
            steps += workers
        elapsed = time.perf_counter() - start
        shape = tuple(envs.single_observation_space["image"].shape)
    finally:
        envs.close()
    return BenchResult(env_id, shape, steps, steps / elapsed, 1, 1000 * reset_time, f"{workers} async workers")
