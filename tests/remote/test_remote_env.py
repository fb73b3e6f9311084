"""``gym.make(id, remote=URL)``: the same episodes as the local env, through a real uvicorn server."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import testkit
from gymnasium.utils.env_checker import check_env
from remote_kit import assert_identical, running_server

from vlgym.remote.client import RemoteEnv, ServerLostError
from vlgym.vector import WorkerDiedError

NUMBERLINE = "vlgym/GymCards-NumberLine-v0"
#: One id per family.
FAMILY_IDS = ["vlgym/GymCards-Points24-v0", "vlgym/MiniWorld-OneRoom-v0", "vlgym/ALFWorld-v0", "vlgym/WebShop-v0"]


def play_both(remote: gym.Env, local: gym.Env, seed: int, steps: int) -> int:
    """Reset both with ``seed``, then play the local expert's actions (and one invalid action) in both."""
    assert_identical(remote.reset(seed=seed), local.reset(seed=seed), "reset")
    played = 0
    for t in range(steps):
        action = "not an action" if t == 1 else testkit.policy_action(local)
        result = remote.step(action)
        assert_identical(result, local.step(action), f"step {t} ({action!r})")
        played += 1
        if result[2] or result[3]:
            break
    return played


@pytest.mark.parametrize("env_id", FAMILY_IDS)
def test_remote_episode_is_identical_to_local(server, make_env, env_id):
    local = make_env(env_id)
    remote = make_env(env_id, remote=server.url)
    assert isinstance(remote.unwrapped, RemoteEnv)
    assert remote.observation_space == local.observation_space and remote.action_space == local.action_space
    assert play_both(remote, local, seed=7, steps=6) >= 2
    assert remote.unwrapped.expert_action() == local.unwrapped.expert_action()


def test_remote_env_passes_check_env(server):
    env = gym.make(NUMBERLINE, remote=server.url)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_time_limit_and_image_options_reach_the_server(server, make_env):
    local = make_env(NUMBERLINE, max_episode_steps=3, invalid_action_penalty=0.5)
    remote = make_env(NUMBERLINE, max_episode_steps=3, invalid_action_penalty=0.5, remote=server.url,
                      image_format="raw")
    remote.reset(seed=1), local.reset(seed=1)
    for t in range(3):
        result = remote.step("nonsense")
        assert_identical(result, local.step("nonsense"), f"step {t}")
    assert result[3] and result[4]["success"] is False  # the third step hit the limit, in the server's env
    with pytest.raises(gym.error.ResetNeeded):
        remote.step("+")


def test_render_returns_the_current_image(server, make_env):
    remote = make_env(NUMBERLINE, remote=server.url, render_mode="rgb_array")
    obs, _ = remote.reset(seed=2)
    assert np.array_equal(remote.render(), obs["image"])


def test_failover_replays_the_episode_on_the_next_server(make_env):
    env_id = "vlgym/GymCards-Points24-v0"  # episodes of several steps: the replay has steps to redo
    local = make_env(env_id)
    with running_server() as first, running_server() as second:
        remote = make_env(env_id, remote=[first.url, second.url])
        remote.reset(seed=11), local.reset(seed=11)
        for _ in range(2):
            action = testkit.policy_action(local)
            assert_identical(remote.step(action), local.step(action))
        first.stop()
        action = testkit.policy_action(local)
        result = remote.step(action)
        assert_identical(result, local.step(action), "first step on the second server")
        assert not (result[2] or result[3])
        assert remote.unwrapped.server == second.url
        assert len(second.sessions.open) == 1


def test_no_server_is_a_clear_error_that_reads_as_a_dead_worker():
    with running_server() as gone:
        url = gone.url
    with pytest.raises(ServerLostError, match=rf"{NUMBERLINE}.*{url}") as caught:
        gym.make(NUMBERLINE, remote=[url], remote_wait=0)
    assert isinstance(caught.value, WorkerDiedError) and isinstance(caught.value, ConnectionResetError)


def test_a_server_lost_mid_episode_names_the_seed(make_env):
    with running_server() as only:
        remote = make_env(NUMBERLINE, remote=only.url, remote_retries=1, remote_wait=0.5)
        remote.reset(seed=5)
    with pytest.raises(ServerLostError, match=r"episode seed 5\) within 0.5 s"):
        remote.step("+")


@pytest.mark.parametrize("env_id", FAMILY_IDS[1:])
def test_concurrent_sessions_play_like_local_envs(server, make_env, env_id):
    from concurrent.futures import ThreadPoolExecutor

    seeds, expected, actions = [1, 2, 3], {}, {}
    for seed in seeds:  # local episodes first (expert actions), then the same actions in 3 sessions at once
        local = make_env(env_id)
        expected[seed], actions[seed] = [local.reset(seed=seed)], []
        for _ in range(5):
            actions[seed].append(testkit.policy_action(local))
            expected[seed].append(local.step(actions[seed][-1]))
            if expected[seed][-1][2] or expected[seed][-1][3]:
                break

    def play(seed, env):
        return [env.reset(seed=seed)] + [env.step(action) for action in actions[seed]]

    remotes = [make_env(env_id, remote=server.url) for _ in seeds]
    with ThreadPoolExecutor(len(seeds)) as pool:
        played = list(pool.map(play, seeds, remotes))
    for seed, results in zip(seeds, played, strict=True):
        assert_identical(results, expected[seed], f"seed {seed}")
