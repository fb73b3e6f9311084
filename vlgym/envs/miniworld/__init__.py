"""MiniWorld: every Farama MiniWorld task behind the vlgym contract, rendered headless.

Importing this package does not load OpenGL or MiniWorld; an env does so on its first reset.

>>> import gymnasium as gym
>>> import vlgym
>>> env = gym.make("vlgym/MiniWorld-OneRoom-v0", image_size=(60, 80))
>>> obs, info = env.reset(seed=0)
>>> obs["image"].shape, info["available_actions"]
((60, 80, 3), ['turn left', 'turn right', 'move forward', 'move back'])
>>> obs, reward, terminated, truncated, info = env.step("2")  # the numbered form of "move forward"
>>> info["parsed_action"]
'move forward'
>>> env.close()
"""

from vlgym.envs.miniworld.env import MiniWorldTaskEnv
from vlgym.envs.miniworld.tasks import TASKS

__all__ = ["TASKS", "MiniWorldTaskEnv"]
