import itertools
import json

import gymnasium as gym
import numpy as np
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
    # The frame of step t is what the agent saw before acting; an unchanged frame is stored once.
    replay = gym.make("vlgym/GymCards-EZPoints-v0")
    obs, _ = replay.reset(seed=1)
    for record, action in zip(steps, actions, strict=True):
        assert np.array_equal(np.asarray(Image.open(episodes[1] / record["frame"])), obs["image"])
        obs, *_ = replay.step(action)
    files = sorted((episodes[1] / "frames").glob("*.png"))
    frames = [Image.open(p).tobytes() for p in files]
    assert all(a != b for a, b in itertools.pairwise(frames))  # deduplicated
    summary = json.loads((episodes[1] / "episode.json").read_text())
    named = {r["frame"] for r in steps} | {summary["final_frame"]}
    assert [f"frames/{p.name}" for p in files] == sorted(named) and len(files) < len(steps) + 1
    assert np.array_equal(np.asarray(Image.open(episodes[1] / summary["final_frame"])), obs["image"])
    assert Image.open(episodes[1] / "episode.gif").n_frames == len(files)
    assert summary["seed"] == 1 and summary["env_id"] == "vlgym/GymCards-EZPoints-v0"
    assert summary["length"] == len(steps) and summary["outcome"] == "success"
    assert summary["return"] == sum(r["reward"] for r in steps)


def test_record_episode_appends_to_an_existing_folder(tmp_path):
    for _ in range(2):
        env = RecordEpisode(gym.make("vlgym/GymCards-NumberLine-v0"), tmp_path, gif=False)
        env.reset(seed=0)
        env.step("+")
        env.close()
    assert len(list(tmp_path.glob("episode_*"))) == 2
    assert not list(tmp_path.glob("episode_*/episode.gif"))


class PromptingAgent:
    """Follows the recording protocol: sets last_prompt and last_answer when it acts."""

    def __init__(self, env):
        self.env, self.last_prompt, self.last_answer = env, None, None

    def act(self, obs, info):
        self.last_prompt = f"Task: {info['instruction']}\nState: {obs['text']}"
        self.last_answer = json.dumps({"thoughts": "closer", "action": self.env.unwrapped.expert_action()})
        return self.last_answer


def test_record_episode_stores_prompts_answers_parse_results_and_the_limit(tmp_path):
    from vlgym.record import agent_notes

    inner = gym.make("vlgym/GymCards-NumberLine-v0", max_position=3)
    agent = PromptingAgent(inner)
    env = RecordEpisode(inner, tmp_path, gif=False, max_episodes=1, notes=agent_notes(agent))
    for seed in (4, 5):
        obs, info = env.reset(seed=seed)
        prompts = []
        for action in ("fly", None, None):
            answer = action or agent.act(obs, info)
            prompts.append(agent.last_prompt if action is None else None)
            if action is not None:
                agent.last_prompt = agent.last_answer = None
            obs, _, terminated, truncated, info = env.step(answer)
            if terminated or truncated:
                break
    env.close()
    (episode,) = tmp_path.glob("episode_*")  # only the first episode was recorded
    steps = [json.loads(line) for line in (episode / "steps.jsonl").read_text().splitlines()][1:]
    assert steps[0]["answer"] == "fly" and steps[0]["prompt"] is None
    assert steps[0]["action_valid"] is False and steps[0]["parsed_action"] is None and steps[0]["parse_reason"]
    assert steps[1]["prompt"] == prompts[1] and steps[1]["prompt"].startswith("Task: ")
    assert steps[1]["answer"].startswith('{"thoughts": "closer"') and steps[1]["action_valid"] is True
    assert steps[1]["available_actions"] and steps[1]["instruction"]
    summary = json.loads((episode / "episode.json").read_text())
    assert summary["seed"] == 4 and summary["invalid_actions"] == 1 and summary["env_kwargs"]["max_position"] == 3


def test_two_recorders_share_a_folder_without_clashing(tmp_path):
    envs = [RecordEpisode(gym.make("vlgym/GymCards-NumberLine-v0"), tmp_path, gif=False) for _ in range(2)]
    for seed, env in enumerate(envs):
        env.reset(seed=seed)
    for env in envs:
        env.step("+")
        env.close()
    seeds = sorted(json.loads((p / "episode.json").read_text())["seed"] for p in tmp_path.glob("episode_*"))
    assert seeds == [0, 1]
