"""Vector envs of vlgym ids, in worker processes, that say which env died when one does.

gymnasium's ``AsyncVectorEnv`` works with every vlgym id as it is. ``make_vector_env`` adds one thing: when a
worker process dies (a crash in a simulator, the OOM killer), the error names the env id, its index and
the episode it was playing, instead of a bare ``BrokenPipeError``/``EOFError``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium.vector.async_vector_env import AsyncState

from vlgym.workers import EnvFactory, WorkerDiedError

__all__ = ["EnvFactory", "VLGymAsyncVectorEnv", "WorkerDiedError", "make_vector_env"]


class VLGymAsyncVectorEnv(gym.vector.AsyncVectorEnv):
    """An ``AsyncVectorEnv`` over named vlgym ids that reports dead workers by env id and episode seed."""

    def __init__(self, env_ids: Sequence[str], env_kwargs: dict[str, Any] | None = None, *, history: int = 0,
                 **kwargs: Any):
        self.env_ids = list(env_ids)
        kwargs_ = dict(env_kwargs or {})
        super().__init__([EnvFactory(env_id, kwargs_, history) for env_id in self.env_ids], **kwargs)
        self._seeds: list[int | None] = [None] * self.num_envs
        self._episodes_since_seed = [0] * self.num_envs

    def reset_async(self, seed: int | Sequence[int | None] | None = None, options: dict | None = None):
        seeds = [None] * self.num_envs if seed is None else (
            [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else list(seed))
        self._seeds, self._episodes_since_seed = seeds, [0] * self.num_envs
        return self._guard(super().reset_async, seed=seed, options=options)

    def reset_wait(self, *args, **kwargs):
        return self._guard(super().reset_wait, *args, **kwargs)

    def step_async(self, actions) -> None:
        self._guard(super().step_async, actions)

    def step_wait(self, *args, **kwargs):
        result = self._guard(super().step_wait, *args, **kwargs)
        for i in np.flatnonzero(np.logical_or(result[2], result[3])):
            self._episodes_since_seed[i] += 1
        return result

    def _guard(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except (BrokenPipeError, EOFError, ConnectionResetError) as error:
            deadline = time.monotonic() + 2.0  # a killed worker closes its pipe a moment before it is reaped
            while not (dead := [i for i, p in enumerate(self.processes) if not p.is_alive()]):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
            details = "; ".join(self._describe(i) for i in dead)
            self._state = AsyncState.DEFAULT  # nothing more will come from the pending call
            self.close(terminate=True)
            raise WorkerDiedError(f"vector env worker died: {details}") from error

    def _describe(self, i: int) -> str:
        code = self.processes[i].exitcode
        episode = (f"episode reset with seed {self._seeds[i]}" if self._episodes_since_seed[i] == 0 else
                   f"episode {self._episodes_since_seed[i]} after the reset with seed {self._seeds[i]}")
        return f"worker {i} running {self.env_ids[i]} ({episode}) exited with code {code}"


def make_vector_env(env_ids: str | Sequence[str], num_envs: int | None = None, *,
                    env_kwargs: dict[str, Any] | None = None, history: int = 0, context: str | None = "forkserver",
                    backend: Literal["processes", "ray"] = "processes", ray_address: str | None = None,
                    ray_actor_options: dict[str, Any] | None = None, **kwargs: Any) -> gym.vector.VectorEnv:
    """``num_envs`` copies of one id, or one worker per id in a list; extra kwargs go to AsyncVectorEnv.

    ``history=k`` wraps each env in :class:`vlgym.wrappers.History` with ``k`` frames.

    Workers start with ``forkserver`` by default: forking a process that already renders with OpenGL
    (MiniWorld) or holds a browser (WebShop) is unsafe.

    ``backend="ray"`` runs each env as a Ray actor instead (the ``ray`` extra), on the cluster at
    ``ray_address`` (default: a local Ray) with ``ray_actor_options`` as each actor's resources
    (default ``{"num_cpus": 1}``); see :mod:`vlgym.remote.ray_vector`.

    >>> envs = make_vector_env("vlgym/GymCards-NumberLine-v0", 2)
    >>> obs, infos = envs.reset(seed=0)
    >>> obs["image"].shape, list(infos["available_actions"][0])
    ((2, 300, 300, 3), ['-', '+'])
    >>> envs.close()
    """
    if isinstance(env_ids, str):
        env_ids = [env_ids] * (num_envs or 1)
    elif num_envs is not None and num_envs != len(env_ids):
        raise ValueError("num_envs must match the number of ids given")
    if backend == "ray":
        from vlgym.remote.ray_vector import RayVectorEnv

        return RayVectorEnv(env_ids, env_kwargs, history=history, address=ray_address,
                            actor_options=ray_actor_options, **kwargs)
    if backend != "processes":
        raise ValueError(f"backend must be 'processes' or 'ray', got {backend!r}")
    return VLGymAsyncVectorEnv(env_ids, env_kwargs, history=history, context=context, **kwargs)
