"""The time limit has one owner, the env: ``env.step`` (through gym.make's TimeLimit) and ``env.unwrapped.step``
give the same flags, for every registered id (docs/design.md, "Time limit")."""

from __future__ import annotations

import gymnasium as gym
import pytest
import testkit
from testkit import policy_action

LIMIT = 3


def play_both(wrapped, bare, seed: int, steps: int):
    """Steps ``wrapped`` (through every gym.make wrapper) and ``bare`` (an unwrapped twin) with the same actions;
    returns the list of (terminated, truncated) pairs of both."""
    wrapped.reset(seed=seed)
    bare.reset(seed=seed)
    flags = []
    for _ in range(steps):
        action = policy_action(wrapped)
        _, r1, t1, u1, i1 = wrapped.step(action)
        _, r2, t2, u2, i2 = bare.step(action)
        assert (r1, i1["success"], i1["available_actions"]) == (r2, i2["success"], i2["available_actions"])
        flags.append(((t1, u1), (t2, u2)))
        if t1 or u1:
            break
    return flags


@pytest.mark.parametrize("env_id", testkit.IDS)
def test_both_paths_give_the_same_flags_at_the_time_limit(make_env, env_id):
    wrapped = make_env(env_id, max_episode_steps=LIMIT)
    bare = make_env(env_id, max_episode_steps=LIMIT).unwrapped
    assert wrapped.spec.max_episode_steps == bare.max_episode_steps == bare.spec.max_episode_steps == LIMIT
    flags = play_both(wrapped, bare, seed=0, steps=LIMIT + 1)
    assert all(through == unwrapped for through, unwrapped in flags), flags
    last_terminated, last_truncated = flags[-1][0]
    assert len(flags) <= LIMIT and (last_terminated or last_truncated)
    assert last_truncated == (len(flags) == LIMIT)


@pytest.mark.parametrize("env_id", testkit.IDS)
def test_the_default_limit_is_the_class_attribute_on_every_path(make_env, env_id):
    env = make_env(env_id, max_episode_steps=None)  # not testkit's shorter limit
    base = env.unwrapped
    assert base.max_episode_steps == base.default_max_episode_steps
    # Every episode ends: by the time limit, or (NumberLine: 2 * max_position steps) by the game's own rule.
    limit = base.max_episode_steps if base.max_episode_steps is not None else base._game_step_limit()
    assert isinstance(limit, int) and limit > 0
    assert env.spec.max_episode_steps == base.spec.max_episode_steps == base.max_episode_steps
    assert gym.spec(env_id).max_episode_steps is None  # no second owner in gymnasium's registry


def test_a_step_that_wins_on_the_last_allowed_step_is_terminated_and_truncated_on_both_paths():
    env_id = "vlgym/GymCards-NumberLine-v0"
    probe = gym.make(env_id)
    _, info = probe.reset(seed=3)
    distance = abs(info["target"] - info["current"])  # the expert wins in exactly this many steps
    wrapped, bare = gym.make(env_id, max_episode_steps=distance), gym.make(env_id, max_episode_steps=distance)
    flags = play_both(wrapped, bare.unwrapped, seed=3, steps=distance)
    assert len(flags) == distance
    assert flags[-1] == ((True, True), (True, True))
    assert all(pair == ((False, False), (False, False)) for pair in flags[:-1])


def test_an_env_built_without_gym_make_keeps_its_default_and_max_episode_steps_minus_one_keeps_it_too():
    from vlgym.envs.cards.points import EZPointsEnv

    env = EZPointsEnv()
    env.reset(seed=0)
    truncated, steps = False, 0
    while not truncated:
        _, _, terminated, truncated, _ = env.step("fly")  # invalid: the state stays, the step counts
        steps += 1
        assert not terminated
    assert steps == EZPointsEnv.default_max_episode_steps == 20
    unlimited = gym.make("vlgym/GymCards-EZPoints-v0", max_episode_steps=-1)
    assert unlimited.unwrapped.max_episode_steps == 20


def test_numberline_has_no_time_limit_beyond_its_own_rule_of_two_steps_per_position():
    from vlgym.envs.cards.numberline import NumberLineEnv

    env = NumberLineEnv(max_position=40)
    env.reset(seed=0)
    truncated, steps = False, 0
    while not truncated:
        _, _, terminated, truncated, _ = env.step("+" if steps % 2 else "-")
        steps += 1
        assert not terminated
    assert NumberLineEnv.default_max_episode_steps is None and steps == 2 * 40
