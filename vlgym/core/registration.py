"""Registering vlgym ids with gymnasium, and the catalogue behind ``vlgym.list_envs()``."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

from vlgym.core.time_limit import SHARE_TIME_LIMIT


@dataclass(frozen=True)
class EnvSpec:
    """One registered id: where it lives, which family it belongs to and what it is, in a line."""

    id: str
    family: str
    description: str


_CATALOGUE: dict[str, EnvSpec] = {}


def register(id: str, entry_point: str, *, family: str, description: str,
             max_episode_steps: int | None = None, **kwargs) -> None:
    """Register ``id`` with gymnasium (idempotent) and add it to the catalogue."""
    if id not in gym.registry:
        gym.register(id=id, entry_point=entry_point, max_episode_steps=max_episode_steps, kwargs=kwargs,
                     additional_wrappers=(SHARE_TIME_LIMIT,))
    _CATALOGUE[id] = EnvSpec(id, family, description)


def list_envs(family: str | None = None) -> dict[str, str]:
    """Every vlgym id (optionally of one family: ``"cards"``, ...) with its one-line description."""
    return {s.id: s.description for s in _CATALOGUE.values() if family is None or s.family == family}


def env_family(env_id: str) -> str:
    """The family of a registered vlgym id."""
    return _CATALOGUE[env_id].family


def register_all() -> None:
    cards = "vlgym.envs.cards"
    # NumberLine's own limit is 2 * max_position steps, whatever max_position is.
    register("vlgym/GymCards-NumberLine-v0", f"{cards}:NumberLineEnv", family="cards",
             description="Move a number to a target on a number line with '+' and '-'.")
    register("vlgym/GymCards-EZPoints-v0", f"{cards}:EZPointsEnv", family="cards", max_episode_steps=20,
             description="Make 12 from two cards with '+' and '*', one token per step.")
    register("vlgym/GymCards-Points24-v0", f"{cards}:Points24Env", family="cards", max_episode_steps=40,
             description="Make 24 from four cards with + - * / and brackets, one token per step.")
    register("vlgym/GymCards-Blackjack-v0", f"{cards}:BlackjackEnv", family="cards", max_episode_steps=20,
             description="Hit or stand against the dealer (gymnasium's Blackjack rules).")
    from vlgym.envs.miniworld.tasks import TASKS

    for task in TASKS.values():
        register(f"vlgym/MiniWorld-{task.name}-v0", "vlgym.envs.miniworld:MiniWorldTaskEnv", family="miniworld",
                 max_episode_steps=task.time_limit, description=task.description, task=task.name)
    register("vlgym/WebShop-v0", "vlgym.envs.webshop:WebShopEnv", family="webshop", max_episode_steps=50,
             description="Find and buy the product an instruction describes, in a web shop seen through a browser.")
    register("vlgym/ALFWorld-v0", "vlgym.envs.alfworld:ALFWorldEnv", family="alfworld", max_episode_steps=50,
             description="ALFWorld household tasks on its TextWorld/PDDL engine, with a drawn map of the room.")
