"""ALFWorld: household tasks on ALFWorld's own TextWorld/PDDL engine, with generated or official games.

Importing this package loads neither textworld nor alfworld; an env does so on its first reset.

>>> import gymnasium as gym
>>> import vlgym
>>> env = gym.make("vlgym/ALFWorld-v0", task_types=["look_at_obj_in_light"])
>>> obs, info = env.reset(seed=0)
>>> obs["image"].shape, info["task_type"]
((384, 640, 3), 'look_at_obj_in_light')
>>> obs, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
>>> info["action_valid"]
True
>>> env.close()
"""

from vlgym.envs.alfworld.env import ALFWorldEnv

__all__ = ["ALFWorldEnv"]
