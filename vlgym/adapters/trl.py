"""vlgym envs as TRL environments: ``GRPOTrainer(environment_factory=trl_environment_factory(env_id))``.

TRL (1.x) takes a zero-argument factory of environment objects. For every rollout it calls
``reset(**example)`` with the dataset row (its returned text or content items are appended to the prompt),
offers every public method as a tool the model can call (with keyword arguments, schema from the type hints
and the Google-style docstring), and, when the object has ``get_reward()``, uses it as the rollout's reward.
:class:`TRLEnvironment` maps that onto one vlgym env: the dataset row's ``seed`` fixes the episode, the
``take_action`` tool is ``env.step``, and the reward is the episode's return. Pass ``remote=URL`` to play
envs served by ``vlgym serve``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image

from vlgym.prompts import prompt_text


class TRLEnvironment:
    """One vlgym env in the shape of TRL's ``environment_factory`` environments.

    Args:
        env_id: a registered vlgym id.
        seed_key: the dataset column holding each episode's seed.
        images: ``True``: observations are content items (the image, then the text); ``False``: text only.
        **make_kwargs: ``gym.make`` arguments (``remote=URL`` included).
    """

    def __init__(self, env_id: str, *, seed_key: str = "seed", images: bool = True, **make_kwargs: Any):
        self._env = gym.make(env_id, **make_kwargs)
        self._seed_key, self._images = seed_key, images
        self._return, self._over = 0.0, True

    def reset(self, **example: Any) -> str | list[dict[str, Any]]:
        """Start the episode of the example's seed; returns what the model sees first."""
        seed = example.get(self._seed_key)
        obs, info = self._env.reset(seed=None if seed is None else int(seed))
        self._return, self._over = 0.0, False
        return self._view(obs, info)

    def take_action(self, action: str) -> str | list[dict[str, Any]]:
        """Take one action in the environment and see what it leads to.

        Args:
            action: One of the available actions listed in the observation, written exactly as shown.

        Returns:
            The new observation: the task, the state and the actions available now.
        """
        if self._over:
            raise ValueError("the episode is over: no more actions")
        obs, reward, terminated, truncated, info = self._env.step(action)
        self._return += float(reward)
        self._over = bool(terminated or truncated)
        view = self._view(obs, info)
        if self._over:
            end = f"\nThe episode is over (success: {info['success']})."
            return view + end if isinstance(view, str) else [*view, {"type": "text", "text": end}]
        return view

    def get_reward(self) -> float:
        """The return of the episode so far (TRL's reward for the rollout)."""
        return self._return

    def _view(self, obs: dict, info: dict) -> str | list[dict[str, Any]]:
        text = prompt_text(obs, info, answer_format="Call take_action with one of the available actions.")
        if not self._images:
            return text
        return [{"type": "image", "image": Image.fromarray(np.asarray(obs["image"]))}, {"type": "text", "text": text}]

    def __del__(self) -> None:  # TRL never closes its environments; free the simulator (or remote session) here
        env = getattr(self, "_env", None)
        if env is not None:
            env.close()


def trl_environment_factory(env_id: str, **kwargs: Any) -> Callable[[], TRLEnvironment]:
    """The zero-argument factory TRL's ``environment_factory`` takes.

    >>> factory = trl_environment_factory("vlgym/GymCards-NumberLine-v0", images=False)
    >>> env = factory()
    >>> env.reset(seed=0).startswith("Task:")
    True
    """
    return functools.partial(TRLEnvironment, env_id, **kwargs)
