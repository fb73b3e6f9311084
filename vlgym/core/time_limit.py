"""Hand the ``max_episode_steps`` of ``gym.make`` to the vlgym env, which owns the time limit.

``gym.make(id, max_episode_steps=N)`` passes ``N`` only to gymnasium's ``TimeLimit`` wrapper, where the env
cannot see it: an episode cut there would miss the env's end-of-episode reward (e.g. MiniWorld's failure
penalty) and report ``available_actions`` and ``success`` as if it went on. Every vlgym id is registered
with :class:`ShareTimeLimit` as an additional wrapper (applied outside ``TimeLimit``): it reads the limit
from the public ``env.spec`` and gives it to the env, which then truncates at the same step itself, with the
same flags as ``TimeLimit`` (see "Time limit" in :class:`vlgym.core.base.VLGymEnv`).
"""

from __future__ import annotations

import gymnasium as gym
from gymnasium.envs.registration import WrapperSpec


class ShareTimeLimit(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Sets the vlgym env's ``max_episode_steps`` to the one ``gym.make`` put in ``env.spec``."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        spec = env.spec
        if spec is not None and spec.max_episode_steps is not None:
            env.unwrapped.max_episode_steps = spec.max_episode_steps


SHARE_TIME_LIMIT = WrapperSpec("ShareTimeLimit", "vlgym.core.time_limit:ShareTimeLimit", {})
