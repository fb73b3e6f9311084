"""Gym-Cards: NumberLine, EZPoints, Points24 and Blackjack, the four games of RL4VLM, drawn by vlgym.

>>> import gymnasium as gym
>>> import vlgym
>>> env = gym.make("vlgym/GymCards-NumberLine-v0")
>>> obs, info = env.reset(seed=0)
>>> obs["image"].shape, info["available_actions"]
((300, 300, 3), ['-', '+'])
>>> answer = '{"thoughts": "move toward the target", "action": "%s"}' % env.unwrapped.expert_action()
>>> obs, reward, terminated, truncated, info = env.step(answer)
>>> info["action_valid"], info["parse_failure"]
(True, False)
"""

from vlgym.envs.cards.blackjack import BlackjackEnv
from vlgym.envs.cards.numberline import NumberLineEnv
from vlgym.envs.cards.points import EZPointsEnv, Points24Env

__all__ = ["BlackjackEnv", "EZPointsEnv", "NumberLineEnv", "Points24Env"]
