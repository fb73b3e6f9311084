"""Hostile and random model output: nothing escapes ``step``, invalid text changes nothing, the expert recovers."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import testkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlgym.core.parsing import MATCHING_MODES, normalize, parse_action
from vlgym.core.registration import env_family

IDS = testkit.IDS
IGNORED_INFO = {"action_valid", "parsed_action", "parse_reason", "parse_failure", "feedback"}

# One env per id for the whole module; each example starts with a reset.
_ENVS: dict[str, gym.Env] = {}


def get_env(env_id: str) -> gym.Env:
    if env_id not in _ENVS:
        _ENVS[env_id] = testkit.make(env_id, **SLOW_FAMILIES.get(env_family(env_id), {}))
    return _ENVS[env_id]


@pytest.fixture(scope="module", autouse=True)
def _close_envs():
    yield
    for env in _ENVS.values():
        env.close()
    _ENVS.clear()


HOSTILE = testkit.HOSTILE

json_with_odd_action = st.builds(
    lambda thoughts, value: json.dumps({"thoughts": thoughts, "action": value}),
    st.text(max_size=40),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.lists(st.integers(-5, 20), max_size=3),
        st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    ),
)

not_strings = st.one_of(
    st.none(),
    st.integers(-(10**30), 10**30),
    st.floats(),
    st.binary(max_size=40),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
)

hostile_actions = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3FF), max_size=200),
    st.sampled_from(HOSTILE),
    json_with_odd_action,
    not_strings,
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# 3D tasks cost milliseconds per step and their episodes run to hundreds of steps: fewer examples, and a
# time limit so that "the expert finishes the episode" stays bounded (MiniWorld's own tests check that the
# expert still reaches the goal after invalid actions).
FUZZ_SLOW = settings(FUZZ, max_examples=12)
SLOW_FAMILIES = {"miniworld": {"max_episode_steps": 80}}
FAST_IDS = [i for i in IDS if env_family(i) not in SLOW_FAMILIES]
SLOW_IDS = [i for i in IDS if env_family(i) in SLOW_FAMILIES]


def state_of(info) -> dict:
    return {k: v for k, v in info.items() if k not in IGNORED_INFO}


@pytest.mark.parametrize("env_id", FAST_IDS)
@FUZZ
@given(seed=st.integers(0, 9), actions=st.lists(hostile_actions, min_size=1, max_size=5))
def test_hostile_actions_then_the_expert_finishes(env_id, seed, actions):
    hostile_actions_then_the_expert_finishes(env_id, seed, actions)


@pytest.mark.parametrize("env_id", SLOW_IDS)
@FUZZ_SLOW
@given(seed=st.integers(0, 9), actions=st.lists(hostile_actions, min_size=1, max_size=5))
def test_hostile_actions_then_the_expert_finishes_3d(env_id, seed, actions):
    hostile_actions_then_the_expert_finishes(env_id, seed, actions)


def hostile_actions_then_the_expert_finishes(env_id, seed, actions):
    env = get_env(env_id)
    obs, info = env.reset(seed=seed)
    penalty = env.unwrapped.invalid_action_penalty
    all_invalid, done = True, False
    for action in actions:
        new_obs, reward, terminated, truncated, new_info = env.step(action)
        assert isinstance(reward, float)
        assert env.observation_space.contains(new_obs)
        assert isinstance(new_info["parse_reason"], str) and new_info["parse_reason"]
        if new_info["action_valid"]:
            all_invalid = False
            assert new_info["parsed_action"] in info["available_actions"]
        else:
            assert reward == -penalty
            assert new_info["parsed_action"] is None
            assert not terminated
            assert np.array_equal(new_obs["image"], obs["image"])
            assert new_obs["text"] == obs["text"]
            assert state_of(new_info) == state_of(info)
        obs, info = new_obs, new_info
        if terminated or truncated:
            done = True
            break
    steps = 0
    while not done:
        _, _, terminated, truncated, info = env.step(testkit.policy_action(env))
        assert info["action_valid"] is True
        done = terminated or truncated
        steps += 1
        assert steps <= 2000, "the expert did not finish the episode"
    if all_invalid:
        # Invalid actions change nothing: where the expert wins this episode from its start with room to spare
        # under the time limit, it wins after them too.
        won, expert_steps = expert_outcome(env, seed)
        if won and len(actions) + expert_steps <= step_limit(env):
            assert info["success"] is True


def expert_outcome(env, seed: int) -> tuple[bool, int]:
    """Whether the expert wins the episode of ``seed`` from its start, and in how many steps."""
    env.reset(seed=seed)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, info = env.step(testkit.policy_action(env))
        done, steps = terminated or truncated, steps + 1
    return info["success"], steps


def step_limit(env) -> int:
    base = env.unwrapped
    return min(n for n in (base._game_step_limit(), base.max_episode_steps) if n is not None)


# --------------------------------------------------------------------------------- the parser alone
action_names = st.text(alphabet="abxyz0123+-*=() ", min_size=1, max_size=8).filter(lambda a: normalize(a) != "")
action_lists = st.lists(action_names, min_size=1, max_size=6, unique_by=normalize)


@settings(max_examples=200, deadline=None, database=None)
@given(
    text=hostile_actions,
    actions=action_lists,
    matching=st.sampled_from(MATCHING_MODES),
    action_index=st.booleans(),
)
def test_parse_action_never_raises_and_only_returns_available_actions(text, actions, matching, action_index):
    result = parse_action(text, actions, matching=matching, action_index=action_index)
    assert result.action is None or result.action in actions
    assert isinstance(result.reason, str) and result.reason.strip()


@settings(max_examples=200, deadline=None, database=None)
@given(
    actions=action_lists,
    pick=st.integers(0, 5),
    thoughts=st.text(alphabet=st.characters(blacklist_characters="`"), max_size=60),
    matching=st.sampled_from(MATCHING_MODES),
    action_index=st.booleans(),
)
def test_every_available_action_resolves_to_itself(actions, pick, thoughts, matching, action_index):
    action = actions[pick % len(actions)]
    for text in (action, action.upper(), f"  {action}\n", json.dumps({"thoughts": thoughts, "action": action})):
        result = parse_action(text, actions, matching=matching, action_index=action_index)
        assert result.action == action, (text, result)
