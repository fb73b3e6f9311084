"""A verl-agent-style environment manager over a vlgym vector env (any backend: processes, Ray, remote).

verl-agent's rollout loop talks to an *environment manager*: ``reset(kwargs)`` gives a batch of observations
(``{"text": [...], "image": array, "anchor": [...]}``) and infos, ``step(text_actions)`` takes the model's raw
answers for the whole batch and gives observations, rewards, dones and infos, and ``success_evaluator`` turns
the collected infos into success rates. Environments come in groups that share a seed (GRPO/GiGPO compare
answers within a group). :class:`VerlEnvManager` gives that shape to any vlgym id: vlgym envs parse model
output themselves, so the projection from text to action is the env's own parser, and
``info["is_action_valid"]`` is its ``action_valid``. An env whose episode is over is left alone (its reward
is 0 and it stays done) until the next ``reset``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from vlgym.prompts import prompt_text
from vlgym.vector import make_vector_env, split_infos


class VerlEnvManager:
    """``group_n`` copies of each of ``env_num`` seeds, as one batch, in verl-agent's manager shape.

    Args:
        env_id: a registered vlgym id.
        env_num: distinct episodes per batch; ``group_n``: copies of each (same seed).
        seed: the first batch's seeds are ``seed, seed + 1, ...``; every ``reset`` moves on by ``env_num``.
        env_kwargs: ``gym.make`` arguments (``remote=URL`` included).
        **vector_kwargs: ``make_vector_env`` arguments (``backend="ray"``, ``ray_address=...``).
    """

    def __init__(self, env_id: str, env_num: int, group_n: int = 1, *, seed: int = 0,
                 env_kwargs: dict[str, Any] | None = None, **vector_kwargs: Any):
        self.env_num, self.group_n, self.next_seed = env_num, group_n, seed
        self.envs = make_vector_env(env_id, env_num * group_n, env_kwargs=env_kwargs,
                                    autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP, **vector_kwargs)
        self.done = np.ones(self.batch_size, dtype=bool)
        self._obs: list[dict] = [{} for _ in range(self.batch_size)]  # per env: what it shows now
        self._last_infos: list[dict] = [{} for _ in range(self.batch_size)]

    @property
    def batch_size(self) -> int:
        return self.env_num * self.group_n

    def reset(self, kwargs: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """New episodes: seed ``s`` for the ``group_n`` envs of group ``s``."""
        seeds = [self.next_seed + i // self.group_n for i in range(self.batch_size)]
        self.next_seed += self.env_num
        obs, infos = self.envs.reset(seed=seeds)
        self.done[:] = False
        infos = split_infos(infos, self.batch_size)
        return self._observations(obs, infos, range(self.batch_size)), infos

    def step(self, text_actions: Sequence[str]) -> tuple[dict[str, Any], np.ndarray, np.ndarray, list[dict]]:
        """One step of every running env with the model's raw answers (done envs ignore theirs)."""
        was_done = self.done.copy()
        obs, rewards, terminated, truncated, infos = self.envs.step(np.array(list(text_actions), dtype=object))
        infos = split_infos(infos, self.batch_size)
        running = np.flatnonzero(~was_done)
        rewards = np.where(was_done, 0.0, rewards)
        self.done |= np.logical_or(terminated, truncated)
        for i in np.flatnonzero(was_done):  # an env that was done got an autoreset: keep what it showed last
            infos[i] = {**self._last_infos[i], "is_action_valid": False}
        for i in running:
            infos[i]["is_action_valid"] = bool(infos[i].get("action_valid", False))
        return self._observations(obs, infos, running), rewards, self.done.copy(), infos

    def success_evaluator(self, *, total_infos: Sequence[Sequence[dict]], total_batch_list=None,
                          **_: Any) -> dict[str, np.ndarray]:
        """Per env: whether its episode succeeded (from the last info of each env's trajectory)."""
        return {"success_rate": np.array([float(bool(infos[-1].get("success", False))) if infos else 0.0
                                          for infos in total_infos])}

    def close(self) -> None:
        self.envs.close()

    def _observations(self, obs: dict[str, Any], infos: list[dict], fresh: Sequence[int]) -> dict[str, Any]:
        for i in fresh:
            self._obs[i] = {"image": np.array(obs["image"][i]), "text": obs["text"][i]}
            self._last_infos[i] = infos[i]
        return {"text": [prompt_text(o, info) for o, info in zip(self._obs, self._last_infos, strict=True)],
                "image": np.stack([o["image"] for o in self._obs]),
                "anchor": [o["text"] for o in self._obs]}

