"""Gym-Cards: NumberLine, EZPoints, Points24 and Blackjack, the four games of RL4VLM, drawn by vlgym."""

from vlgym.envs.cards.blackjack import BlackjackEnv
from vlgym.envs.cards.numberline import NumberLineEnv
from vlgym.envs.cards.points import EZPointsEnv, Points24Env

__all__ = ["BlackjackEnv", "EZPointsEnv", "NumberLineEnv", "Points24Env"]
