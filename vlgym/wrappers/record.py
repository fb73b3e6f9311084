"""RecordEpisode: save episodes (frames, texts, prompts, answers, parse results, rewards) in the recording layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
from PIL import Image

from vlgym.record.writer import EpisodeWriter, claim_episode_dir


class RecordEpisode(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Writes ``<path>/episode_<n>/`` for each episode, in the layout of docs/recording.md:

    * ``frames/<t>.png``: the image observed before step ``t`` (and the final one); a frame equal to the
      previous one is not written again (the step names the earlier file);
    * ``steps.jsonl``: one JSON object per step: ``t``, ``text``, ``frame``, ``instruction`` and
      ``available_actions`` (what the agent saw), ``prompt`` and ``answer`` (when ``notes`` supplies them),
      ``action``, ``reward``, ``terminated``, ``truncated`` and the outcome (``action_valid``,
      ``parsed_action``, ``parse_reason``, ``success``, ``score``, ...); the first line (``t = -1``) holds the
      env id, kwargs, seed and options, and the reset observation;
    * ``episode.json``: return, length, outcome, success, score, invalid answers;
    * ``episode.gif``: all frames, for viewing (``gif=False`` skips it).

    ``notes``: called before each step, returns extra step fields (see :func:`vlgym.record.agent_notes`).
    ``max_episodes``: record only the first N episodes, then pass through. Episode folders are claimed
    atomically, so several wrappers can record into one folder. ``close()`` finishes a partial episode.

    >>> import gymnasium as gym, tempfile, vlgym
    >>> env = RecordEpisode(gym.make("vlgym/GymCards-NumberLine-v0"), tempfile.mkdtemp(), gif=False)
    >>> _ = env.reset(seed=0); _ = env.step("+"); env.close()
    """

    def __init__(self, env: gym.Env, path: str | Path, *, gif: bool = True, gif_fps: float = 2.0,
                 max_episodes: int | None = None, notes: Callable[[], dict[str, Any]] | None = None,
                 env_id: str | None = None, env_kwargs: dict[str, Any] | None = None):
        gym.utils.RecordConstructorArgs.__init__(self, path=path, gif=gif, gif_fps=gif_fps, max_episodes=max_episodes,
                                                 env_id=env_id, env_kwargs=env_kwargs)
        super().__init__(env)
        self.root = Path(path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.gif, self.gif_fps, self.max_episodes, self.notes = gif, gif_fps, max_episodes, notes
        spec = env.spec
        self.env_id = env_id if env_id is not None else (spec.id if spec else None)
        self.env_kwargs = env_kwargs if env_kwargs is not None else (dict(spec.kwargs) if spec else {})
        self.recorded = 0
        self._writer: EpisodeWriter | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._finish()
        obs, info = self.env.reset(seed=seed, options=options)
        if self.max_episodes is None or self.recorded < self.max_episodes:
            self.recorded += 1
            self._writer = EpisodeWriter(claim_episode_dir(self.root), env_id=self.env_id,
                                         env_kwargs=self.env_kwargs, seed=seed, options=options)
            self._writer.start(obs, info)
        return obs, info

    def step(self, action):
        notes = self.notes() if self.notes is not None and self._writer is not None else None
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self._writer is not None:
            self._writer.step(action, obs, reward, terminated, truncated, info, notes)
            if terminated or truncated:
                self._finish()
        return obs, reward, terminated, truncated, info

    def close(self):
        self._finish()
        super().close()

    def _finish(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.finish()
        if self.gif and writer.frames:
            images = [Image.fromarray(f) for f in writer.frames]
            images[0].save(writer.folder / "episode.gif", save_all=True, append_images=images[1:],
                           duration=int(1000 / self.gif_fps), loop=0)
