"""MiniWorld: every Farama MiniWorld task behind the vlgym contract, rendered headless.

Importing this package does not load OpenGL or MiniWorld; an env does so on its first reset.
"""

from vlgym.envs.miniworld.env import MiniWorldTaskEnv
from vlgym.envs.miniworld.tasks import TASKS

__all__ = ["TASKS", "MiniWorldTaskEnv"]
