"""The contract every vlgym environment implements: spaces, base env, action parsing, registration."""

from vlgym.core.base import INFO_KEYS, Transition, VLGymEnv
from vlgym.core.parsing import ParseResult, parse_action

__all__ = ["INFO_KEYS", "ParseResult", "Transition", "VLGymEnv", "parse_action"]
