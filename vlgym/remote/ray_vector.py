"""A vector env whose envs are Ray actors, on this machine or across a Ray cluster (the ``ray`` extra).

``make_vector_env(..., backend="ray")`` builds it. It is gymnasium's ``SyncVectorEnv`` (same batching, same
autoreset modes, hence the same batches as the other backends) over envs that live in actors: every step is
sent to all actors first and then gathered, so the envs step in parallel. An actor that dies (a crash of its
process, a lost node) is reported as :class:`vlgym.vector.WorkerDiedError`, naming the env and its episode,
after the vector env has closed itself: the same contract as the worker-process backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import ray
from gymnasium.vector.utils import iterate
from ray.exceptions import RayActorError

from vlgym.workers import EnvFactory, WorkerDiedError

#: Resources each actor asks for unless told otherwise.
DEFAULT_ACTOR_OPTIONS = {"num_cpus": 1}


class EnvActor:
    """Holds one env inside a Ray actor."""

    def __init__(self, factory: EnvFactory):
        self.env = factory()

    def describe(self) -> tuple:
        return self.env.observation_space, self.env.action_space, dict(self.env.metadata), self.env.render_mode

    def reset(self, seed: int | None, options: dict | None):
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any):
        return self.env.step(action)

    def expert_action(self) -> str:
        return self.env.unwrapped.expert_action()

    def close(self) -> None:
        self.env.close()


class ActorEnv(gym.Env):
    """The driver's handle on one actor: calls can be sent ahead (:meth:`send`) and collected by reset/step."""

    def __init__(self, index: int, env_id: str, factory: EnvFactory, actor_options: dict[str, Any]):
        self.index, self.env_id = index, env_id
        self.actor = ray.remote(EnvActor).options(**actor_options).remote(factory)
        self._pending = None
        self._seed: int | None = None
        self._steps = 0
        self.observation_space, self.action_space, self.metadata, self.render_mode = self._get(
            self.actor.describe.remote())

    def send(self, method: str, *args) -> None:
        self._pending = getattr(self.actor, method).remote(*args)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if self._pending is None:
            self.send("reset", seed, options)
        self._seed, self._steps = seed, 0
        return self._collect()

    def step(self, action):
        if self._pending is None:
            self.send("step", action)
        self._steps += 1
        return self._collect()

    def expert_action(self) -> str:
        return self._get(self.actor.expert_action.remote())

    def _collect(self):
        pending, self._pending = self._pending, None
        return self._get(pending)

    def _get(self, ref):
        try:
            return ray.get(ref)
        except RayActorError as error:
            raise WorkerDiedError(f"ray actor {self.index} running {self.env_id} (episode reset with seed "
                                  f"{self._seed}, step {self._steps}) died: {type(error).__name__}") from error

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a dead or hung actor is killed all the same
            ray.get(self.actor.close.remote(), timeout=30)
        ray.kill(self.actor)


class RayVectorEnv(gym.vector.SyncVectorEnv):
    """``SyncVectorEnv`` semantics over Ray actors that step in parallel.

    Args:
        env_ids: one id per env.
        env_kwargs: ``gym.make`` arguments of every env.
        history: > 0 wraps each env in :class:`vlgym.wrappers.History` (inside its actor).
        address: the Ray cluster to join when Ray is not initialised yet (``None``: start a local one).
        actor_options: resources and placement of each actor (``ray.remote`` options, e.g. ``{"num_cpus": 2}``).
        **kwargs: ``SyncVectorEnv`` arguments (``autoreset_mode``, ``copy``).
    """

    def __init__(self, env_ids: Sequence[str], env_kwargs: dict[str, Any] | None = None, *, history: int = 0,
                 address: str | None = None, actor_options: dict[str, Any] | None = None, **kwargs: Any):
        if not ray.is_initialized():
            ray.init(address=address)
        self.env_ids = list(env_ids)
        options = {**DEFAULT_ACTOR_OPTIONS, **(actor_options or {})}
        handles = [ActorEnv(i, env_id, EnvFactory(env_id, dict(env_kwargs or {}), history), options)
                   for i, env_id in enumerate(self.env_ids)]
        super().__init__([lambda handle=handle: handle for handle in handles], **kwargs)

    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None):
        seeds = [None] * self.num_envs if seed is None else (
            [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else list(seed))
        mask = (options or {}).get("reset_mask")
        rest = None if options is None else {k: v for k, v in options.items() if k != "reset_mask"}
        for i, env in enumerate(self.envs):
            if mask is None or mask[i]:
                env.send("reset", seeds[i], rest)
        return self._guard(super().reset, seed=seed, options=options)

    def step(self, actions):
        autoreset = self.autoreset_mode == gym.vector.AutoresetMode.NEXT_STEP
        for i, (env, action) in enumerate(zip(self.envs, iterate(self.action_space, actions), strict=True)):
            if autoreset and self._autoreset_envs[i]:
                env.send("reset", None, None)
            else:
                env.send("step", action)
        return self._guard(super().step, actions)

    def _guard(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except WorkerDiedError:
            self.close()  # like the process backend: a dead worker ends the vector env; the caller makes a new one
            raise
