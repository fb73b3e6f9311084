"""Chat messages for vision-language models, built from an observation and its info.

The answer format is the one used by RL4VLM and VL-DAC: a JSON object ``{"thoughts": ..., "action": ...}``,
which every vlgym env parses (see :mod:`vlgym.core.parsing`). Messages follow the Hugging Face chat format,
so ``processor.apply_chat_template(messages, add_generation_prompt=True)`` renders them for any VLM; the
images travel inside the content items (``{"type": "image", "image": PIL.Image}``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image

ANSWER_FORMAT = (
    'Answer with a single JSON object and nothing else: {"thoughts": "<your step-by-step reasoning>", '
    '"action": "<one of the available actions>"}'
)
SYSTEM_PROMPT = (
    "You are an agent acting in an environment. Look at the image(s), read the state, and choose one action."
)


def observation_images(obs: dict[str, Any]) -> list[Image.Image]:
    """The images a prompt should show: the real history frames (oldest first) if present, else the image."""
    if "frames" in obs:
        count = int(obs.get("num_frames", len(obs["frames"])))
        frames = obs["frames"][len(obs["frames"]) - count :] if count else obs["frames"][-1:]
        return [Image.fromarray(np.asarray(f)) for f in frames]
    return [Image.fromarray(np.asarray(obs["image"]))]


def check_action_index(env_id: str, action_index: bool) -> None:
    """Refuse prompts that number the actions of an env that does not take numbers for actions.

    ``action_index=True`` in :func:`build_messages` lists actions as ``0: ...``, ``1: ...``; only envs whose
    ``action_index`` flag is set (MiniWorld) read ``"1"`` as the second action. Elsewhere (NumberLine, where
    ``"1"`` is no action) every numbered answer would be rejected.

    >>> check_action_index("vlgym/MiniWorld-OneRoom-v0", True)
    >>> check_action_index("vlgym/GymCards-NumberLine-v0", True)
    Traceback (most recent call last):
    ...
    ValueError: vlgym/GymCards-NumberLine-v0 does not accept action numbers (its action_index is False): ...
    """
    if action_index and not getattr(gym.envs.registration.load_env_creator(gym.spec(env_id).entry_point),
                                    "action_index", False):
        raise ValueError(f"{env_id} does not accept action numbers (its action_index is False): prompts that "
                         "number its actions would make every numbered answer invalid; list them by name")


def prompt_text(obs: dict[str, Any], info: dict[str, Any], *, action_index: bool = False,
                answer_format: str = ANSWER_FORMAT, num_images: int = 1) -> str:
    """The text part of the prompt: task, state, recent steps, available actions (numbered with
    ``action_index``, for envs that take the numbers: see :func:`check_action_index`), answer format."""
    parts = [f"Task: {info.get('instruction', '')}"]
    if num_images > 1:
        parts.append(f"The {num_images} images show your last {num_images} observations, oldest first.")
    if obs.get("text"):
        parts.append(f"Current state:\n{obs['text']}")
    if obs.get("history"):
        parts.append(f"Your recent steps:\n{obs['history']}")
    actions: Sequence[str] = info.get("available_actions", [])
    if actions:
        listed = [f"{i}: {a}" for i, a in enumerate(actions)] if action_index else [repr(a) for a in actions]
        joiner = "\n" if action_index else ", "
        parts.append("Available actions" + (" (answer with the action or its number)" if action_index else "")
                     + ":" + ("\n" if action_index else " ") + joiner.join(listed))
    parts.append(answer_format)
    return "\n\n".join(parts)


def build_messages(obs: dict[str, Any], info: dict[str, Any], *, system: str | None = SYSTEM_PROMPT,
                   action_index: bool = False, answer_format: str = ANSWER_FORMAT) -> list[dict[str, Any]]:
    """One user turn (optionally after a system turn) with the images first, then the text."""
    images = observation_images(obs)
    text = prompt_text(obs, info, action_index=action_index, answer_format=answer_format,
                       num_images=len(images))
    content = [{"type": "image", "image": image} for image in images] + [{"type": "text", "text": text}]
    messages = [{"role": "user", "content": content}]
    if system:
        messages.insert(0, {"role": "system", "content": [{"type": "text", "text": system}]})
    return messages


def format_answer(action: str, thoughts: str = "") -> str:
    """The answer a model should produce for ``action``: used for demonstrations and tests."""
    return json.dumps({"thoughts": thoughts, "action": action}, ensure_ascii=False)
