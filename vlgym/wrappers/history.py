"""History: the last k frames and (action, feedback) pairs, for multi-step prompts."""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from PIL import Image

from vlgym.core.spaces import text_space


class History(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds the recent past to every observation.

    Observation: the wrapped env's ``image`` and ``text``, plus

    * ``frames``: uint8 ``(k, h, w, 3)``, the last ``k`` images, oldest first, the current one last;
      slots before the episode's first frame are black;
    * ``num_frames``: how many of the ``k`` slots hold real frames (the last ``num_frames``);
    * ``history``: the last ``k`` steps as text, one line each: ``step N: <action> -> <feedback>``.

    ``max_pixels`` bounds ``k * h * w``: when the full-size frames would exceed it, all frames are
    downscaled by the same factor (the current ``image`` stays full size), which bounds a VLM's visual
    tokens.

    >>> import gymnasium as gym
    >>> import vlgym
    >>> env = History(gym.make("vlgym/GymCards-NumberLine-v0"), k=2)
    >>> obs, info = env.reset(seed=0)
    >>> obs["frames"].shape, int(obs["num_frames"])
    ((2, 300, 300, 3), 1)
    >>> obs, *_ = env.step('{"action": "+"}')
    >>> int(obs["num_frames"]), obs["history"]
    (2, 'step 1: + -> ...')
    """

    def __init__(self, env: gym.Env, k: int = 4, max_pixels: int | None = None):
        gym.utils.RecordConstructorArgs.__init__(self, k=k, max_pixels=max_pixels)
        super().__init__(env)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        height, width, _ = env.observation_space["image"].shape
        if max_pixels is not None and k * height * width > max_pixels:
            scale = (max_pixels / (k * height * width)) ** 0.5
            height, width = max(1, int(height * scale)), max(1, int(width * scale))
        self.k, self.frame_size = k, (height, width)
        self.observation_space = spaces.Dict(
            {
                **env.observation_space.spaces,
                "frames": spaces.Box(0, 255, (k, height, width, 3), np.uint8),
                "num_frames": spaces.Box(0, k, (), np.int64),
                "history": text_space(),
            }
        )
        self._frames: deque[np.ndarray] = deque(maxlen=k)
        self._steps: deque[str] = deque(maxlen=k)
        self._step_count = 0

    def _frame(self, image: np.ndarray) -> np.ndarray:
        if image.shape[:2] == self.frame_size:
            return image.copy()
        height, width = self.frame_size
        return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))

    def _augment(self, obs: dict[str, Any]) -> dict[str, Any]:
        self._frames.append(self._frame(obs["image"]))
        frames = np.zeros(self.observation_space["frames"].shape, np.uint8)
        frames[self.k - len(self._frames) :] = np.stack(self._frames)
        return {**obs, "frames": frames, "num_frames": np.array(len(self._frames), dtype=np.int64),
                "history": "\n".join(self._steps)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._frames.clear()
        self._steps.clear()
        self._step_count = 0
        return self._augment(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._step_count += 1
        shown = info.get("parsed_action") or _one_line(str(action))
        self._steps.append(f"step {self._step_count}: {shown} -> {_one_line(info.get('feedback', ''))}")
        return self._augment(obs), reward, terminated, truncated, info


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
