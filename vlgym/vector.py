"""Vector envs of vlgym ids, in worker processes, that say which env died when one does.

gymnasium's ``AsyncVectorEnv`` works with every vlgym id as it is. ``make_vector_env`` adds one thing: when a
worker process dies (a crash in a simulator, the OOM killer), the error names the env id, its index and
the episode it was playing, instead of a bare ``BrokenPipeError``/``EOFError``.

It can also step or reset only some of its envs (``send_steps``/``send_resets``, then ``receive``), so that a
caller works with one group of envs while another group's calls run in their workers; and with ``step_timeout``
/ ``reset_timeout`` a worker that does not answer in time is killed and reported as a :class:`WorkerHungError`.
"""

from __future__ import annotations

import copy
import multiprocessing
import time
from collections.abc import Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium.vector.async_vector_env import AsyncState

from vlgym.workers import EnvFactory, WorkerDiedError

__all__ = ["EnvFactory", "VLGymAsyncVectorEnv", "WorkerDiedError", "make_vector_env", "split_infos", "split_obs"]


class WorkerHungError(WorkerDiedError):
    """A worker did not answer a step or reset within its timeout; it was killed (the message names it)."""


class VLGymAsyncVectorEnv(gym.vector.AsyncVectorEnv):
    """An ``AsyncVectorEnv`` over named vlgym ids that reports dead workers by env id and episode seed."""

    def __init__(self, env_ids: Sequence[str], env_kwargs: dict[str, Any] | None = None, *, history: int = 0,
                 step_timeout: float | None = None, reset_timeout: float | None = None, **kwargs: Any):
        self.env_ids = list(env_ids)
        self.step_timeout, self.reset_timeout = step_timeout, reset_timeout
        kwargs_ = dict(env_kwargs or {})
        super().__init__([EnvFactory(env_id, kwargs_, history) for env_id in self.env_ids], **kwargs)
        self._seeds: list[int | None] = [None] * self.num_envs
        self._episodes_since_seed = [0] * self.num_envs
        self._sent: dict[int, str] = {}  # env -> "step" or "reset" sent by send_steps/send_resets, not received

    def reset_async(self, seed: int | Sequence[int | None] | None = None, options: dict | None = None):
        seeds = [None] * self.num_envs if seed is None else (
            [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else list(seed))
        self._seeds, self._episodes_since_seed = seeds, [0] * self.num_envs
        return self._guard(super().reset_async, seed=seed, options=options)

    def reset_wait(self, timeout: float | None = None, **kwargs):
        own = timeout is None and self.reset_timeout is not None  # an explicit timeout (close's) stays gymnasium's
        return self._guard(super().reset_wait, timeout=self.reset_timeout if own else timeout, hung_is_error=own,
                           **kwargs)

    def step_async(self, actions) -> None:
        self._guard(super().step_async, actions)

    def step_wait(self, timeout: float | None = None, **kwargs):
        own = timeout is None and self.step_timeout is not None
        result = self._guard(super().step_wait, timeout=self.step_timeout if own else timeout, hung_is_error=own,
                             **kwargs)
        for i in np.flatnonzero(np.logical_or(result[2], result[3])):
            self._episodes_since_seed[i] += 1
        return result

    # -- calls to some of the envs ---------------------------------------------------------------------------
    def send_steps(self, indices: Sequence[int], actions: Sequence[Any]) -> None:
        """Start a step in envs ``indices``; ``receive(indices)`` returns ``(obs, reward, terminated, truncated,
        info)`` per env. The envs must not be in a whole-batch call."""
        for i, action in zip(indices, actions, strict=True):
            self._guard(self.parent_pipes[i].send, ("step", action))
            self._sent[i] = "step"

    def send_resets(self, indices: Sequence[int], seeds: Sequence[int | None]) -> None:
        """Start a reset of envs ``indices`` with these seeds; ``receive(indices)`` returns ``(obs, info)``."""
        for i, seed in zip(indices, seeds, strict=True):
            self._guard(self.parent_pipes[i].send, ("reset", {"seed": seed, "options": None}))
            self._seeds[i], self._episodes_since_seed[i] = seed, 0
            self._sent[i] = "reset"

    def receive(self, indices: Sequence[int], timeout: float | None = None) -> list[tuple]:
        """The results of the calls sent to envs ``indices``; each waits at most ``timeout`` seconds (default: the
        ``step_timeout`` or ``reset_timeout`` of the call)."""
        return [self._receive_one(i, timeout) for i in indices]

    def _receive_one(self, i: int, timeout: float | None) -> tuple:
        pipe = self.parent_pipes[i]
        if timeout is None:
            timeout = self.step_timeout if self._sent.pop(i, "step") == "step" else self.reset_timeout
        if timeout is not None and not self._guard(pipe.poll, timeout):
            self._kill_hung([i], timeout)
        result, success = self._guard(pipe.recv)
        if not success:  # the env raised: gymnasium's report (it counts failures over all envs)
            self._raise_if_errors([j != i for j in range(self.num_envs)])
        obs = result[0]
        if self.shared_memory:  # the worker wrote it into its slot
            obs = {key: copy.deepcopy(value[i]) for key, value in self.observations.items()}
        if len(result) == 5 and (result[2] or result[3]):
            self._episodes_since_seed[i] += 1
        return (obs, *result[1:])

    def _kill_hung(self, hung: Sequence[int], timeout: float | None) -> None:
        details = "; ".join(self._describe(i) for i in hung)
        for i in hung:
            self.processes[i].kill()
            self.processes[i].join()
        self._state = AsyncState.DEFAULT
        self.close(terminate=True)
        raise WorkerHungError(f"vector env worker gave no answer in {timeout} s and was killed: {details}")

    def _guard(self, call, *args, hung_is_error: bool = False, **kwargs):
        try:
            return call(*args, **kwargs)
        except multiprocessing.TimeoutError:
            if not hung_is_error:
                raise
            # a whole-batch wait ran out of step_timeout/reset_timeout: the workers with no answer hung
            self._kill_hung([i for i, pipe in enumerate(self.parent_pipes) if not pipe.poll()], kwargs["timeout"])
        except (BrokenPipeError, EOFError, ConnectionResetError) as error:
            deadline = time.monotonic() + 2.0  # a killed worker closes its pipe a moment before it is reaped
            while not (dead := [i for i, p in enumerate(self.processes) if not p.is_alive()]):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
            details = "; ".join(f"{self._describe(i)} exited with code {self.processes[i].exitcode}" for i in dead)
            self._state = AsyncState.DEFAULT  # nothing more will come from the pending call
            self.close(terminate=True)
            raise WorkerDiedError(f"vector env worker died: {details}") from error

    def _describe(self, i: int) -> str:
        episode = (f"episode reset with seed {self._seeds[i]}" if self._episodes_since_seed[i] == 0 else
                   f"episode {self._episodes_since_seed[i]} after the reset with seed {self._seeds[i]}")
        return f"worker {i} running {self.env_ids[i]} ({episode})"


class InProcessVectorEnv(gym.vector.SyncVectorEnv):
    """A ``SyncVectorEnv`` with the same calls to some envs as :class:`VLGymAsyncVectorEnv` (for debugging and
    tests: each call runs at once in this process; there are no workers, so no timeouts)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._results: dict[int, tuple] = {}

    def send_steps(self, indices: Sequence[int], actions: Sequence[Any]) -> None:
        for i, action in zip(indices, actions, strict=True):
            self._results[i] = self.envs[i].step(action)

    def send_resets(self, indices: Sequence[int], seeds: Sequence[int | None]) -> None:
        for i, seed in zip(indices, seeds, strict=True):
            self._results[i] = self.envs[i].reset(seed=seed)

    def receive(self, indices: Sequence[int], timeout: float | None = None) -> list[tuple]:
        return [self._results.pop(i) for i in indices]


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


def split_infos(infos: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Vector-env info (arrays with ``_key`` masks) to one dict per env (only the keys that env reported).

    A nested dict in an env's info (WebShop's ``purchase``) arrives as a nested dict of arrays: split it too.
    """
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, values in infos.items():
        if key.startswith("_"):
            continue
        present = infos.get(f"_{key}", np.ones(num_envs, dtype=bool))
        per_env = split_infos(values, num_envs) if isinstance(values, dict) else values
        for i in range(num_envs):
            if present[i]:
                out[i][key] = per_env[i]
    return out


def split_obs(obs: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """A batched ``Dict`` observation to one observation per env."""
    return [{key: value[i] for key, value in obs.items()} for i in range(num_envs)]
