"""The MiniWorld expert (vlgym.envs.miniworld.planner) solves the tasks from the simulator state."""

from __future__ import annotations

import gymnasium as gym
import pytest

from vlgym.envs.miniworld import planner
from vlgym.envs.miniworld.gl import ensure_headless_gl

ensure_headless_gl()  # headless GL (and its load order) before MiniWorld loads pyglet.gl
import miniworld  # noqa: E402, F401  (registers the MiniWorld-* ids)

SEEDS = range(6)


@pytest.fixture(scope="module")
def make():
    """One env per task id, reused through reset() (small frames, small window: fast and no GL memory leak)."""
    envs = {}

    def get(task: str):
        if task not in envs:
            envs[task] = gym.make(f"MiniWorld-{task}-v0", obs_width=80, obs_height=60, window_width=80,
                                  window_height=60)
        return envs[task]

    yield get
    for env in envs.values():
        env.close()


def run_episode(env, seed: int, expert=None) -> tuple[list[int], bool, int]:
    """Play one episode with the expert; returns its actions, whether the goal was reached, and blocked moves."""
    expert = expert or planner.MiniWorldExpert()
    base = env.unwrapped
    env.reset(seed=seed)
    actions, blocked = [], 0
    while True:
        action = expert(base)
        assert env.action_space.contains(action)
        pos, heading = base.agent.pos.copy(), base.agent.dir
        _, _, terminated, truncated, _ = env.step(action)
        actions.append(action)
        if action == planner.MOVE_FORWARD and (base.agent.pos == pos).all():
            blocked += 1
        if action in (planner.TURN_LEFT, planner.TURN_RIGHT) and base.agent.dir == heading:
            blocked += 1
        if terminated or truncated or planner.is_success(base):
            return actions, planner.is_success(base), blocked


@pytest.mark.parametrize("task", ["OneRoom", "Hallway", "FourRooms", "WallGap", "TMaze", "MazeS3"])
def test_reaches_the_goal_every_time(make, task):
    env = make(task)
    for seed in SEEDS:
        actions, success, blocked = run_episode(env, seed)
        assert success, f"{task} seed {seed}: goal not reached in {len(actions)} steps"
        assert len(actions) <= env.unwrapped.max_episode_steps
        assert env.unwrapped.near(env.unwrapped.box)
        # Every move is checked against the collision model first, so none is refused by the simulator.
        assert blocked == 0, f"{task} seed {seed}: {blocked} blocked moves"


@pytest.mark.parametrize("task", ["Sidewalk", "Sign", "PickupObjects", "PutNext"])
def test_other_tasks(make, task):
    env = make(task)
    for seed in range(3):
        actions, success, _ = run_episode(env, seed)
        assert success, f"{task} seed {seed}: not solved in {len(actions)} steps"


def test_sidewalk_stays_off_the_street(make):
    env = make("Sidewalk")
    run_episode(env, 0)
    assert not env.unwrapped.street.point_inside(env.unwrapped.agent.pos)


def test_deterministic(make):
    env = make("MazeS3")
    for seed in (3, 4):
        first, _, _ = run_episode(env, seed)
        again, _, _ = run_episode(env, seed)  # same env, new episode: the cached grid must be rebuilt
        shared, _, _ = run_episode(env, seed, expert=planner.MiniWorldExpert())
        assert first == again == shared
    # Different seeds give different worlds and so, here, different action sequences.
    assert run_episode(env, 3)[0] != run_episode(env, 4)[0]


def test_module_function_and_wrapped_env(make):
    env = make("OneRoom")
    env.reset(seed=1)
    assert planner.expert_action(env) == planner.expert_action(env.unwrapped)
    assert planner.expert_action(env) in (planner.TURN_LEFT, planner.TURN_RIGHT, planner.MOVE_FORWARD)


@pytest.mark.parametrize("task", sorted(planner.UNSUPPORTED_TASKS))
def test_unsupported_tasks_raise_with_a_reason(make, task):
    env = make(task)
    env.reset(seed=0)
    with pytest.raises(NotImplementedError, match=task) as info:
        planner.expert_action(env)
    assert planner.UNSUPPORTED_TASKS[task] in str(info.value)
