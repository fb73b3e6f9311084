"""The mechanism of registration and the table of ids beside the envs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import tomllib

import vlgym
from vlgym.core import registration
from vlgym.core.registration import env_entry, register

ROOT = Path(__file__).resolve().parents[2]


def test_every_entry_names_its_family_and_an_extra_that_exists():
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for env_id in vlgym.list_envs():
        entry = env_entry(env_id)
        assert entry.id == env_id and entry.description
        assert entry.extra == ("" if entry.family == "cards" else entry.family)
        assert entry.extra == "" or entry.extra in extras, entry


def test_importing_vlgym_registers_every_id_without_loading_a_simulator_or_an_env_module():
    code = ("import sys, vlgym; print(len(vlgym.list_envs())); "
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
            "('miniworld', 'pyglet', 'textworld', 'selenium', 'bm25s', 'torch', 'vlgym_agents') "
            "or m.startswith(('vlgym.envs.cards', 'vlgym.envs.webshop', 'vlgym.envs.alfworld'))))")
    count, loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.split("\n")[:2]
    assert int(count) == len(vlgym.list_envs()) and loaded == ""


def test_a_limit_given_to_register_reaches_the_env_like_a_gym_make_argument():
    env_id = "vlgym/RegistrationTest-NumberLine-v0"
    try:
        register(env_id, "vlgym.envs.cards.numberline:NumberLineEnv", family="cards", description="test",
                 max_episode_steps=7, max_position=20)
        env = gym.make(env_id)
        assert env.spec.max_episode_steps == env.unwrapped.max_episode_steps == 7
        assert gym.make(env_id, max_episode_steps=4).unwrapped.max_episode_steps == 4
    finally:
        gym.registry.pop(env_id, None)
        registration._CATALOGUE.pop(env_id, None)
