"""RecordEpisode: save every episode's frames, texts, actions and rewards to disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image

#: info entries copied into each step record (the rest is env-specific and may not be JSON).
RECORDED_INFO = ("instruction", "available_actions", "action_valid", "parsed_action", "parse_reason",
                 "parse_failure", "feedback", "success", "score")


class RecordEpisode(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Writes ``<path>/episode_<n>/`` for each episode:

    * ``frames/<t>.png``: the image observed before step ``t`` (and the final one);
    * ``steps.jsonl``: one JSON object per step: ``t``, ``text`` (observation text before the action),
      ``action`` (raw), ``reward``, ``terminated``, ``truncated``, ``frame``, and the info schema entries
      after the step; the first line (``t = -1``) holds the reset info and seed;
    * ``episode.gif``: all frames, for viewing (``gif=False`` skips it).

    Records are usable as demonstrations: pair each frame and text with the action taken from it.
    An episode's files are complete once it ends; ``close()`` finishes a partial one.

    >>> import tempfile
    >>> import gymnasium as gym
    >>> import vlgym
    >>> folder = Path(tempfile.mkdtemp())
    >>> env = RecordEpisode(gym.make("vlgym/GymCards-NumberLine-v0"), folder, gif=False)
    >>> _ = env.reset(seed=0)
    >>> _ = env.step("+")
    >>> env.close()
    >>> sorted(p.name for p in (folder / "episode_00000").iterdir())
    ['frames', 'steps.jsonl']
    """

    def __init__(self, env: gym.Env, path: str | Path, *, gif: bool = True, gif_fps: float = 2.0):
        gym.utils.RecordConstructorArgs.__init__(self, path=path, gif=gif, gif_fps=gif_fps)
        super().__init__(env)
        self.root = Path(path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.gif, self.gif_fps = gif, gif_fps
        self.episode_index = len(list(self.root.glob("episode_*")))
        self._dir: Path | None = None
        self._frames: list[np.ndarray] = []
        self._last_obs: dict[str, Any] | None = None
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._finish()
        obs, info = self.env.reset(seed=seed, options=options)
        self._dir = self.root / f"episode_{self.episode_index:05d}"
        self.episode_index += 1
        (self._dir / "frames").mkdir(parents=True, exist_ok=True)
        self._frames, self._t = [], 0
        self._write({"t": -1, "seed": seed, "text": obs["text"], **_recorded(info)})
        self._save_frame(obs)
        self._last_obs = obs
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self._dir is not None:
            record = {"t": self._t, "text": self._last_obs["text"], "action": _jsonable(action),
                      "reward": float(reward), "terminated": bool(terminated), "truncated": bool(truncated),
                      "frame": f"frames/{self._t:04d}.png", **_recorded(info)}
            self._write(record)
            self._t += 1
            self._save_frame(obs)
            self._last_obs = obs
            if terminated or truncated:
                self._finish()
        return obs, reward, terminated, truncated, info

    def close(self):
        self._finish()
        super().close()

    def _save_frame(self, obs):
        Image.fromarray(obs["image"]).save(self._dir / "frames" / f"{self._t:04d}.png")
        self._frames.append(obs["image"])

    def _write(self, record: dict[str, Any]) -> None:
        with open(self._dir / "steps.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _finish(self) -> None:
        if self._dir is not None and self.gif and self._frames:
            images = [Image.fromarray(f) for f in self._frames]
            images[0].save(self._dir / "episode.gif", save_all=True, append_images=images[1:],
                           duration=int(1000 / self.gif_fps), loop=0)
        self._dir, self._frames = None, []


def _recorded(info: dict[str, Any]) -> dict[str, Any]:
    return {key: info[key] for key in RECORDED_INFO if key in info}


def _jsonable(action: Any) -> Any:
    return action if isinstance(action, str | int | float | bool) or action is None else repr(action)
