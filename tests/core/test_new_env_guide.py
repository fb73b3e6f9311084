"""docs/new_env.md runs: its python blocks make a working env, which then meets the contract."""

from __future__ import annotations

import re
import sys
import types
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vlgym.core import registration
from vlgym.core.base import INFO_KEYS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "new_env.md"
GUIDE_ID = "vlgym/Guide-NumberLine-v0"
MODULE = "new_env_guide"


@pytest.fixture(scope="module")
def guide():
    """The guide's code as a module (so that its string entry point imports), its id registered meanwhile."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    module = types.ModuleType(MODULE)
    sys.modules[MODULE] = module
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for block in blocks:
                exec(compile(block, str(GUIDE), "exec"), module.__dict__)  # our own docs, not model output
        yield module, blocks, [str(w.message) for w in caught]
    finally:
        gym.registry.pop(GUIDE_ID, None)
        registration._CATALOGUE.pop(GUIDE_ID, None)
        sys.modules.pop(MODULE, None)


def test_the_guide_registers_its_env_and_its_checks_pass_without_warnings(guide):
    module, blocks, caught = guide
    assert len(blocks) == 3 and caught == []
    assert GUIDE_ID in registration.list_envs("guide")
    assert isinstance(gym.make(GUIDE_ID).unwrapped, module.NumberLineDemo)


def test_the_guide_env_meets_the_contract(guide):
    env = gym.make(GUIDE_ID, render_mode="rgb_array")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        assert set(INFO_KEYS) <= set(info) and info["success"] is False
        done, steps = False, 0
        while not done:
            action = env.unwrapped.expert_action()
            assert action in info["available_actions"]
            obs, _, terminated, truncated, info = env.step(action)
            assert np.array_equal(env.render(), obs["image"])
            done, steps = terminated or truncated, steps + 1
        assert info["success"] and steps <= env.spec.max_episode_steps == 20


def test_the_guide_env_keeps_its_state_on_invalid_answers_and_its_time_limit_on_both_paths(guide):
    env = gym.make(GUIDE_ID, max_episode_steps=3)
    bare = gym.make(GUIDE_ID, max_episode_steps=3).unwrapped
    obs, info = env.reset(seed=1)
    bare.reset(seed=1)
    for answer in ("jump", "", "3"):
        new_obs, reward, terminated, truncated, new_info = env.step(answer)
        _, _, bare_terminated, bare_truncated, _ = bare.step(answer)
        assert (terminated, truncated) == (bare_terminated, bare_truncated)
        assert np.array_equal(new_obs["image"], obs["image"]) and new_info["parse_failure"] and reward == -1.0
        assert (new_info["target"], new_info["current"]) == (info["target"], info["current"])
    assert truncated and not terminated
