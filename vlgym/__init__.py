"""vlgym: vision-language agent environments behind one gymnasium interface.

>>> import gymnasium as gym
>>> import vlgym
>>> env = gym.make("vlgym/GymCards-Points24-v0")
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step('{"thoughts": "...", "action": "3"}')
"""

import vlgym.envs  # noqa: F401  (registers every id)
from vlgym.core.parsing import ParseResult, parse_action
from vlgym.core.registration import list_envs
from vlgym.errors import MissingExtraError, UserError

__version__ = "0.1.0"
__all__ = ["MissingExtraError", "ParseResult", "UserError", "__version__", "list_envs", "parse_action"]
