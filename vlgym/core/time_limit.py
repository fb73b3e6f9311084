"""Let a vlgym env enforce the time limit that ``gym.make`` sets, so that it sees the episode end.

``gym.make(id, max_episode_steps=N)`` puts gymnasium's ``TimeLimit`` around the env, where the env cannot see
it: an episode cut by it would miss the env's end-of-episode reward (e.g. MiniWorld's failure penalty) and
report ``available_actions`` and ``success`` as if it went on. Every vlgym id is registered with
:class:`ShareTimeLimit` as an additional wrapper (applied outside ``TimeLimit``): it hands the limit to the env,
which then truncates at the same step itself, invalid steps included, as ``TimeLimit`` counts them.
"""

from __future__ import annotations

import gymnasium as gym
from gymnasium.envs.registration import WrapperSpec
from gymnasium.wrappers import TimeLimit


class ShareTimeLimit(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Copies the ``max_episode_steps`` of the innermost ``TimeLimit`` below it into the vlgym env."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        layer = env
        while isinstance(layer, gym.Wrapper):
            if isinstance(layer, TimeLimit):
                env.unwrapped.max_episode_steps = layer._max_episode_steps
            layer = layer.env


SHARE_TIME_LIMIT = WrapperSpec("ShareTimeLimit", "vlgym.core.time_limit:ShareTimeLimit", {})
