"""The MiniWorld adapter: contract details, rewards, and the GL traps of MiniWorld 2.1.0."""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import math
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest

import vlgym
from vlgym.envs.miniworld.gl import ensure_headless_gl
from vlgym.envs.miniworld.tasks import TASKS
from vlgym.vector import WorkerDiedError, make_vector_env

SMALL = {"image_size": (60, 80)}
# Turning only: the view changes every step and no episode can end by reaching the goal.
TURNS = ["turn left", "turn left", "turn right", "turn left", "turn left", "turn left", "turn right"]


def frames(env, seed: int, actions) -> list[np.ndarray]:
    obs, _ = env.reset(seed=seed)
    out = [obs["image"].copy()]
    for action in actions:
        obs, *_ = env.step(action)
        out.append(obs["image"].copy())
    return out


def test_every_installed_miniworld_task_is_registered_with_its_actions_and_time_limit():
    ensure_headless_gl()
    import miniworld  # noqa: F401

    installed = {i.removeprefix("MiniWorld-").removesuffix("-v0") for i in gym.registry if i.startswith("MiniWorld-")}
    assert installed == set(TASKS)
    assert set(vlgym.list_envs("miniworld")) == {f"vlgym/MiniWorld-{t}-v0" for t in TASKS}
    for name, task in TASKS.items():
        with contextlib.redirect_stdout(io.StringIO()):
            raw = gym.make(f"MiniWorld-{name}-v0", window_width=16, window_height=16).unwrapped
        n = raw.action_space.n
        # Navigation tasks stop at move_forward (3 actions); vlgym adds move back, as the paper's prompt does.
        assert len(task.actions) == (4 if n == 3 else n), name
        limit = raw.max_episode_steps
        assert task.time_limit == (limit if math.isfinite(limit) else 1000), name
        raw.close()


def test_default_observation_and_numbered_actions():
    env = gym.make("vlgym/MiniWorld-OneRoom-v0")
    obs, info = env.reset(seed=0)
    assert obs["image"].shape == (256, 256, 3) and obs["image"].std() > 5  # a real view, not a blank frame
    assert info["available_actions"] == ["turn left", "turn right", "move forward", "move back"]
    assert info["instruction"] == "Go to the red box in the room."
    for index, name in enumerate(info["available_actions"]):
        *_, info = env.step(str(index))
        assert info["parsed_action"] == name
    *_, info = env.step('{"thoughts": "the box is left", "action": 0}')
    assert info["parsed_action"] == "turn left"
    env.close()


def test_image_size_can_be_miniworlds_own_or_large(make_env):
    for size in [(60, 80), (512, 512)]:
        obs, _ = make_env("vlgym/MiniWorld-Hallway-v0", image_size=size).reset(seed=1)
        assert obs["image"].shape == (*size, 3)


def test_move_back_really_moves_back(make_env):
    env = make_env("vlgym/MiniWorld-OneRoom-v0", **SMALL)
    _, info = env.reset(seed=3)
    start = np.array(info["agent_pos"])
    *_, info = env.step("move back")
    assert np.linalg.norm(np.array(info["agent_pos"]) - start) > 0.05 or "bumped" in info["feedback"]


def test_expert_reaches_the_box_with_miniworlds_reward(make_env):
    env = make_env("vlgym/MiniWorld-OneRoom-v0", **SMALL)
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        steps += 1
        done = terminated or truncated
    assert terminated and info["success"] and info["score"] == 1.0
    assert reward == pytest.approx(1 - 0.2 * steps / 180)


def test_failure_penalty_applies_at_the_time_limit(make_env):
    env = make_env("vlgym/MiniWorld-OneRoom-v0", max_episode_steps=3, failure_penalty=1.0, **SMALL)
    env.reset(seed=0)
    rewards = [env.step("turn left")[1] for _ in range(2)]
    _, reward, terminated, truncated, info = env.step("not an action")  # invalid steps count toward the limit
    assert rewards == [0.0, 0.0]
    assert truncated and not terminated and not info["success"]
    assert reward == -1.0
    # Without the option, MiniWorld's reward passes through unchanged.
    plain = make_env("vlgym/MiniWorld-OneRoom-v0", max_episode_steps=3, **SMALL)
    plain.reset(seed=0)
    assert [plain.step("turn left")[1] for _ in range(3)] == [0.0, 0.0, 0.0]


def test_sign_says_the_goal_shape_in_text(make_env):
    env = make_env("vlgym/MiniWorld-Sign-v0", **SMALL)
    obs, info = env.reset(seed=0)
    assert obs["text"] == "The goal object is a box."
    assert info["available_actions"][-1] == "done"
    _, _, terminated, _, info = env.step("done")  # ending the episode at once is not a success
    assert terminated and not info["success"]


def test_threerooms_ends_at_the_box(make_env):
    env = make_env("vlgym/MiniWorld-ThreeRooms-v0", **SMALL)
    env.reset(seed=2)
    for _ in range(400):
        _, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        if terminated or truncated:
            break
    assert terminated and info["success"] and reward > 0


# ------------------------------------------------------------------------------------------ the GL traps
def test_envs_in_one_process_do_not_see_each_others_scenes():
    # MazeS3 layouts differ per seed: with one shared display list, B's maze would appear in A's frames.
    alone = gym.make("vlgym/MiniWorld-MazeS3-v0", **SMALL)
    reference = frames(alone, 1, TURNS)
    alone.close()
    a, b = gym.make("vlgym/MiniWorld-MazeS3-v0", **SMALL), gym.make("vlgym/MiniWorld-MazeS3-v0", **SMALL)
    a.reset(seed=1)
    b.reset(seed=2)  # compiled after A's scene
    interleaved = [a.reset(seed=1)[0]["image"].copy()]
    for action in TURNS:
        b.step(action)
        interleaved.append(a.step(action)[0]["image"].copy())
    for i, (x, y) in enumerate(zip(reference, interleaved, strict=True)):
        assert np.array_equal(x, y), f"frame {i} differs from the env rendered alone"
    a.close()
    b.close()


def test_stepping_from_another_thread_never_returns_a_stale_frame():
    reference = frames(gym.make("vlgym/MiniWorld-OneRoom-v0", **SMALL), 4, TURNS)
    env = gym.make("vlgym/MiniWorld-OneRoom-v0", **SMALL)
    first = env.reset(seed=4)[0]["image"].copy()  # the world is made on this (main) thread
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        threaded = [first]
        for action in TURNS:  # each step may land on a different worker thread
            threaded.append(pool.submit(lambda a=action: env.step(a)[0]["image"].copy()).result())
    for i, (x, y) in enumerate(zip(reference, threaded, strict=True)):
        assert np.array_equal(x, y), f"frame {i} stale or wrong when stepped from a worker thread"
    assert not all(np.array_equal(threaded[0], f) for f in threaded[1:])  # the view did change
    env.close()


@pytest.mark.timeout(180)
def test_async_vector_env_with_forkserver_matches_single_envs():
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make("vlgym:vlgym/MiniWorld-MazeS3-v0", **SMALL)] * 2,
                                     context="forkserver")
    obs, _ = envs.reset(seed=[5, 6])
    for action in TURNS[:3]:
        obs, *_ = envs.step([action, action])
    envs.close()
    single = frames(gym.make("vlgym/MiniWorld-MazeS3-v0", **SMALL), 6, TURNS[:3])
    assert np.array_equal(obs["image"][1], single[-1])


@pytest.mark.timeout(180)
def test_fork_after_gl_is_a_clear_error_not_a_hang():
    gym.make("vlgym/MiniWorld-OneRoom-v0", **SMALL).reset(seed=0)  # GL is loaded in this process now
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make("vlgym/MiniWorld-OneRoom-v0", **SMALL)] * 2, context="fork")
    with pytest.raises(Exception, match="forkserver"):
        envs.reset(seed=0)
    envs.close(terminate=True)


@pytest.mark.timeout(180)
def test_fork_before_gl_works_because_envs_load_gl_lazily(tmp_path):
    # A fresh interpreter that has not rendered anything yet: gymnasium's default start method (fork) works.
    script = (
        "import gymnasium as gym, vlgym\n"
        "envs = gym.vector.AsyncVectorEnv([lambda: gym.make('vlgym/MiniWorld-OneRoom-v0', image_size=(60, 80))]"
        " * 2, context='fork')\n"
        "obs, _ = envs.reset(seed=0)\n"
        "obs, *_ = envs.step(['turn left', 'move forward'])\n"
        "print(obs['image'].shape, obs['image'].std() > 5)\n"
        "envs.close()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "(2, 60, 80, 3) True"


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_repeated_make_and_close_does_not_leak():
    def cycle():
        env = gym.make("vlgym/MiniWorld-FourRooms-v0", image_size=(128, 128))
        env.reset(seed=0)
        env.step("move forward")
        env.close()

    for _ in range(3):
        cycle()  # warm caches (textures, meshes)
    before = _rss_mb()
    for _ in range(15):
        cycle()
    growth = (_rss_mb() - before) / 15
    # MiniWorld leaked ~36 MB per cycle at its default window size; vlgym frees the frame buffers.
    assert growth < 2.0, f"{growth:.2f} MB per make/close cycle"


@pytest.mark.timeout(180)
def test_a_dead_worker_gives_an_error_naming_the_env_and_seed():
    envs = make_vector_env("vlgym/MiniWorld-OneRoom-v0", 2, env_kwargs=SMALL)
    envs.reset(seed=40)
    envs.step(["turn left", "turn left"])
    os.kill(envs.processes[1].pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(WorkerDiedError, match=r"worker 1 running vlgym/MiniWorld-OneRoom-v0 .*seed 41"):
        envs.step(["turn left", "turn left"])
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("task", ["OneRoom", "Hallway"])
def test_the_expert_still_succeeds_after_invalid_actions(make_env, task):
    env = make_env(f"vlgym/MiniWorld-{task}-v0")
    obs, _ = env.reset(seed=11)
    for junk in ["", "{'action': 'fly'}", "__import__('os')", 10**5000, "9", "turn  lefty"]:
        after, reward, terminated, truncated, info = env.step(junk)
        assert not info["action_valid"] and reward == 0.0 and not (terminated or truncated)
        assert np.array_equal(after["image"], obs["image"])
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        done = terminated or truncated
    assert info["success"]
