"""Wrappers for every vlgym env: recent history, discrete actions, episode recording."""

from vlgym.wrappers.discrete import DiscreteActions
from vlgym.wrappers.history import History
from vlgym.wrappers.record import RecordEpisode

__all__ = ["DiscreteActions", "History", "RecordEpisode"]
