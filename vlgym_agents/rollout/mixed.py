"""Several environments in one run: one vector env per env setting, addressed as one by global env index.

Envs of different ids (or kwargs) may have different observation spaces, which one gymnasium vector env
cannot hold; each setting gets its own vector env (a *part*), and env ``i`` of the whole is env
``i - offset`` of its part. Only calls to some envs exist (``send_steps``/``send_resets``, then ``receive``);
the collector's prompts batch the envs of all parts together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym


class MixedVectorEnv:
    """Parts (vector envs with ``send_steps``/``send_resets``/``receive``) seen as one list of envs.

    >>> from vlgym.vector import make_vector_env
    >>> envs = MixedVectorEnv([make_vector_env("vlgym/GymCards-NumberLine-v0", 1),
    ...                        make_vector_env("vlgym/GymCards-EZPoints-v0", 1)])
    >>> envs.send_resets([0, 1], [3, 4])
    >>> [obs["image"].shape for obs, info in envs.receive([0, 1])]
    [(300, 300, 3), (300, 300, 3)]
    >>> envs.close()
    """

    def __init__(self, parts: Sequence[gym.vector.VectorEnv]):
        self.parts = list(parts)
        self.where = [(k, local) for k, part in enumerate(self.parts) for local in range(part.num_envs)]
        self.num_envs = len(self.where)

    @property
    def processes(self) -> list:
        """The worker processes, in env order (parts in-process have none)."""
        return [p for part in self.parts for p in getattr(part, "processes", [])]

    def _split(self, indices: Sequence[int], values: Sequence[Any]) -> list[tuple[Any, list[int], list[Any]]]:
        """``(part, local indices, values)`` per part that ``indices`` reach."""
        calls: dict[int, tuple[list[int], list[Any]]] = {}
        for i, value in zip(indices, values, strict=True):
            k, local = self.where[i]
            calls.setdefault(k, ([], []))
            calls[k][0].append(local)
            calls[k][1].append(value)
        return [(self.parts[k], *call) for k, call in calls.items()]

    def send_steps(self, indices: Sequence[int], actions: Sequence[Any]) -> None:
        for part, locals_, actions_ in self._split(indices, actions):
            part.send_steps(locals_, actions_)

    def send_resets(self, indices: Sequence[int], seeds: Sequence[int | None]) -> None:
        for part, locals_, seeds_ in self._split(indices, seeds):
            part.send_resets(locals_, seeds_)

    def receive(self, indices: Sequence[int], timeout: float | None = None) -> list[tuple]:
        return [self.parts[k].receive([local], timeout)[0] for k, local in (self.where[i] for i in indices)]

    def close(self, **kwargs: Any) -> None:
        for part in self.parts:
            part.close(**kwargs)
