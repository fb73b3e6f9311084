"""DiscreteActions: a Discrete action space and image-only observations, for classic RL libraries."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class DiscreteActions(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Exposes ``Discrete(n)`` actions and the image as the whole observation.

    * Envs with a fixed vocabulary (``env.unwrapped.action_vocabulary``, e.g. Gym-Cards): action ``i`` is
      ``vocabulary[i]``, in the original environments' order (NumberLine: 0 = "-", 1 = "+"; Blackjack:
      0 = "stand", 1 = "hit").
    * Envs whose actions vary by state (ALFWorld, WebShop): action ``i`` is ``available_actions[i]``;
      pass ``max_actions`` for ``n``. An index beyond the current list is an invalid action (the env's
      penalty applies, the state does not change).

    ``info["action_mask"]`` (int8, length ``n``) marks the actions available now, for maskable
    algorithms. The text observation and the rest of ``info`` stay in ``info``.

    >>> import gymnasium as gym
    >>> import vlgym
    >>> env = DiscreteActions(gym.make("vlgym/GymCards-Blackjack-v0"))
    >>> env.action_space
    Discrete(2)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, info["action_mask"].tolist()
    ((300, 300, 3), [1, 1])
    >>> obs, reward, terminated, truncated, info = env.step(0)  # stand
    >>> info["parsed_action"], terminated
    ('stand', True)
    """

    def __init__(self, env: gym.Env, max_actions: int | None = None):
        gym.utils.RecordConstructorArgs.__init__(self, max_actions=max_actions)
        super().__init__(env)
        self.vocabulary = getattr(env.unwrapped, "action_vocabulary", None)
        if self.vocabulary is None and max_actions is None:
            raise ValueError("this env's actions vary by state: pass max_actions")
        size = len(self.vocabulary) if self.vocabulary is not None else int(max_actions)
        self.action_space = spaces.Discrete(size)
        self.observation_space = env.observation_space["image"]
        self._available: list[str] = []

    def _wrap(self, obs, info):
        self._available = list(info.get("available_actions", []))
        mask = np.zeros(self.action_space.n, np.int8)
        if self.vocabulary is not None:
            allowed = set(self._available)
            mask[[i for i, a in enumerate(self.vocabulary) if a in allowed]] = 1
        else:
            mask[: min(len(self._available), self.action_space.n)] = 1
        return obs["image"], {**info, "text": obs["text"], "action_mask": mask}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return self._wrap(*self.env.reset(seed=seed, options=options))

    def step(self, action):
        index = int(action)
        if self.vocabulary is not None:
            text = self.vocabulary[index]
        else:
            # An out-of-range index becomes a text no env accepts, so the env's invalid-action rule applies.
            text = self._available[index] if index < len(self._available) else f"<no action {index}>"
        obs, reward, terminated, truncated, info = self.env.step(text)
        obs, info = self._wrap(obs, info)
        return obs, reward, terminated, truncated, info
