"""What every vector-env backend shares: the picklable factory a worker (process or Ray actor) builds its env with,
and the error that reports a worker's death. A leaf module, so that :mod:`vlgym.vector` and the backends it
chooses between (:mod:`vlgym.remote.ray_vector`, the HTTP client) import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym


class WorkerDiedError(RuntimeError):
    """A worker of a vector env (a process, a Ray actor, a server) died; the message names the env and its episode."""


@dataclass(frozen=True)
class EnvFactory:
    """Makes one env in a worker; a module-level class, so unpickling it imports (and registers) vlgym."""

    env_id: str
    env_kwargs: dict[str, Any]
    history: int = 0  # > 0: wrap in vlgym.wrappers.History(k=history)

    def __call__(self) -> gym.Env:
        env = gym.make(self.env_id, **self.env_kwargs)
        if self.history > 0:
            from vlgym.wrappers import History

            env = History(env, self.history)
        return env
