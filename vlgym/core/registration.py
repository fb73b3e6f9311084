"""The mechanism of registration: ``register()`` puts an id into gymnasium's registry and vlgym's catalogue.

The table of ids lives with the envs (:mod:`vlgym.envs`); this module imports no env.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from vlgym.core.time_limit import SHARE_TIME_LIMIT


@dataclass(frozen=True)
class EnvEntry:
    """One registered id: its family (also the name of the pip extra it needs) and what it is, in a line."""

    id: str
    family: str
    description: str

    @property
    def extra(self) -> str:
        """The ``pip install vlgym[<extra>]`` this id needs; the card games need none."""
        return "" if self.family == "cards" else self.family


_CATALOGUE: dict[str, EnvEntry] = {}


class EnvCreator(str):
    """An id's ``"module:Class"`` entry point, and what ``gym.make`` calls with it: the env in this process, or
    with ``remote=URL(s)`` a client of env servers (:mod:`vlgym.remote`). It is the entry point string itself,
    so code that reads ``spec.entry_point`` as a string keeps working."""

    def __new__(cls, entry_point: str, id: str):
        creator = super().__new__(cls, entry_point)
        creator.id = id
        return creator

    def __reduce__(self):
        return EnvCreator, (str(self), self.id)

    @property
    def metadata(self) -> dict:
        """The env class's metadata: ``gym.make`` reads its render modes from here."""
        try:
            return load_env_creator(str(self)).metadata
        except ImportError:  # the family's extra is not installed here: a remote env needs none (a local one fails
            return {}        # when it is made, with the install command)

    def __call__(self, remote: str | list[str] | None = None, **kwargs) -> gym.Env:
        if remote is not None:
            from vlgym.remote.client import RemoteEnv  # only a remote env needs the HTTP client installed

            return RemoteEnv(self.id, remote, **kwargs)
        return load_env_creator(str(self))(**kwargs)


def register(id: str, entry_point: str, *, family: str, description: str,
             max_episode_steps: int | None = None, **kwargs) -> None:
    """Register ``id`` with gymnasium (idempotent) and add it to the catalogue.

    ``entry_point`` is a ``"module:Class"`` string, imported only by ``gym.make``. vlgym's own ids leave
    ``max_episode_steps`` to the env class (``default_max_episode_steps``); given here, it is gymnasium's
    default for ``gym.make`` and reaches the env through ``env.spec`` like any ``gym.make`` argument.
    """
    if id not in gym.registry:
        gym.register(id=id, entry_point=EnvCreator(entry_point, id), max_episode_steps=max_episode_steps,
                     kwargs=kwargs, additional_wrappers=(SHARE_TIME_LIMIT,))
    _CATALOGUE[id] = EnvEntry(id, family, description)


def list_envs(family: str | None = None) -> dict[str, str]:
    """Every vlgym id (optionally of one family: ``"cards"``, ...) with its one-line description.

    >>> import vlgym
    >>> vlgym.list_envs("cards")["vlgym/GymCards-NumberLine-v0"]
    "Move a number to a target on a number line with '+' and '-'."
    """
    return {s.id: s.description for s in _CATALOGUE.values() if family is None or s.family == family}


def env_entry(env_id: str) -> EnvEntry:
    """The catalogue row of a registered vlgym id."""
    return _CATALOGUE[env_id]


def env_family(env_id: str) -> str:
    """The family of a registered vlgym id."""
    return _CATALOGUE[env_id].family
