import itertools
import json

import gymnasium as gym
from PIL import Image

import vlgym  # noqa: F401
from vlgym.wrappers import RecordEpisode


def test_record_episode_writes_frames_steps_and_gif(tmp_path):
    env = RecordEpisode(gym.make("vlgym/GymCards-EZPoints-v0"), tmp_path)
    for seed in (0, 1):
        _obs, _info = env.reset(seed=seed)
        done, actions = False, []
        while not done:
            action = env.unwrapped.expert_action()
            actions.append(action)
            _, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    env.close()
    episodes = sorted(tmp_path.glob("episode_*"))
    assert [e.name for e in episodes] == ["episode_00000", "episode_00001"]
    records = [json.loads(line) for line in (episodes[1] / "steps.jsonl").read_text().splitlines()]
    assert records[0]["t"] == -1 and records[0]["seed"] == 1
    steps = records[1:]
    assert [r["action"] for r in steps] == actions
    assert steps[-1]["terminated"] and steps[-1]["success"] and steps[-1]["reward"] == 10.0
    for record in steps:
        assert (episodes[1] / record["frame"]).exists()
    # The frame of step t is what the agent saw before acting: the formula so far.
    assert len(list((episodes[1] / "frames").glob("*.png"))) == len(steps) + 1
    # The GIF holds every frame (Pillow merges consecutive identical ones, such as the frame after "=").
    frames = [Image.open(p).tobytes() for p in sorted((episodes[1] / "frames").glob("*.png"))]
    distinct = 1 + sum(a != b for a, b in itertools.pairwise(frames))
    assert Image.open(episodes[1] / "episode.gif").n_frames == distinct


def test_record_episode_appends_to_an_existing_folder(tmp_path):
    for _ in range(2):
        env = RecordEpisode(gym.make("vlgym/GymCards-NumberLine-v0"), tmp_path, gif=False)
        env.reset(seed=0)
        env.step("+")
        env.close()
    assert len(list(tmp_path.glob("episode_*"))) == 2
    assert not list(tmp_path.glob("episode_*/episode.gif"))
