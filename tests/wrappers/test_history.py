import gymnasium as gym
import numpy as np
import pytest

import vlgym  # noqa: F401
from vlgym.wrappers import History

NUMBERLINE = "vlgym/GymCards-NumberLine-v0"


def test_history_keeps_the_last_k_frames_oldest_first():
    env = History(gym.make(NUMBERLINE, start_distribution="uniform"), k=3)  # seed 1: three steps to the target
    obs, info = env.reset(seed=1)
    assert obs["frames"].shape == (3, 300, 300, 3)
    assert int(obs["num_frames"]) == 1
    assert not obs["frames"][:2].any()  # padding before the first frame is black
    np.testing.assert_array_equal(obs["frames"][-1], obs["image"])
    images = [obs["image"]]
    for _ in range(3):
        obs, *_ = env.step("+" if info["current"] < info["target"] else "-")
        images.append(obs["image"])
        if len(images) == 3:
            break
    assert int(obs["num_frames"]) == 3
    for slot, image in zip(obs["frames"], images[-3:], strict=True):
        np.testing.assert_array_equal(slot, image)
    assert env.observation_space.contains(obs)


def test_history_text_lists_actions_and_feedback_including_invalid_ones():
    env = History(gym.make(NUMBERLINE), k=2)
    env.reset(seed=3)
    env.step("jump")
    obs, *_ = env.step('{"action": "+"}')
    lines = obs["history"].splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("step 1: jump -> Invalid action")
    assert lines[1].startswith("step 2: + -> ")
    obs, *_ = env.step("-")
    assert obs["history"].splitlines()[0].startswith("step 2")  # window of k = 2


def test_history_pixel_budget_downscales_frames_only():
    env = History(gym.make(NUMBERLINE), k=4, max_pixels=4 * 100 * 100)
    obs, _ = env.reset(seed=0)
    assert obs["image"].shape == (300, 300, 3)
    k, height, width, _ = obs["frames"].shape
    assert k == 4 and k * height * width <= 4 * 100 * 100
    assert env.observation_space.contains(obs)


def test_history_resets_between_episodes():
    env = History(gym.make(NUMBERLINE), k=3)
    env.reset(seed=0)
    env.step("+")
    obs, _ = env.reset(seed=1)
    assert int(obs["num_frames"]) == 1 and obs["history"] == ""


def test_history_rejects_bad_k():
    with pytest.raises(ValueError):
        History(gym.make(NUMBERLINE), k=0)
