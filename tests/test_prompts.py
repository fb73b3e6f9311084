import json

import gymnasium as gym
from PIL import Image

import vlgym  # noqa: F401
from vlgym.core.parsing import parse_action
from vlgym.prompts import build_messages, format_answer, prompt_text
from vlgym.wrappers import History


def test_messages_have_images_first_then_text_with_task_state_and_actions():
    env = gym.make("vlgym/GymCards-Points24-v0", state_in_text=True)
    obs, info = env.reset(seed=0)
    messages = build_messages(obs, info)
    assert [m["role"] for m in messages] == ["system", "user"]
    content = messages[1]["content"]
    assert content[0]["type"] == "image" and isinstance(content[0]["image"], Image.Image)
    assert content[0]["image"].size == (300, 300)
    text = content[-1]["text"]
    assert info["instruction"] in text
    assert obs["text"] in text
    assert "'/'" in text and '"thoughts"' in text and '"action"' in text


def test_numbered_actions_and_history_frames():
    env = History(gym.make("vlgym/GymCards-NumberLine-v0"), k=3)
    obs, info = env.reset(seed=0)
    obs, _, _, _, info = env.step("+")
    messages = build_messages(obs, info, system=None, action_index=True)
    assert len(messages) == 1
    images = [c for c in messages[0]["content"] if c["type"] == "image"]
    assert len(images) == 2  # two real frames so far, no black padding
    text = messages[0]["content"][-1]["text"]
    assert "0: -" in text and "1: +" in text
    assert "step 1: +" in text


def test_format_answer_round_trips_through_the_parser():
    answer = format_answer("hit", thoughts='I have 12 and the dealer shows {"7"}')
    assert json.loads(answer)["action"] == "hit"
    assert parse_action(answer, ["stand", "hit"]).action == "hit"


def test_prompt_text_without_actions_after_episode_end():
    text = prompt_text({"text": ""}, {"instruction": "do it", "available_actions": []})
    assert "Available actions" not in text and "do it" in text
