"""ALFWorld's released splits: which rooms each split plays in, and how many games of each task type it holds.

The ``alfworld`` package does not carry its splits: they live in the game data (``json_2.1.1/<split>/``) that
``alfworld-download`` fetches, which is not available offline. The facts below are the published ones, and
``docs/alfworld.md`` (section "Splits") gives the same table with its sources:

* rooms: ALFRED's ``valid_unseen`` fold is played in four AI2-THOR rooms, one of each kind (kitchen 10,
  living room 219, bedroom 308, bathroom 424); ALFWorld's ``eval_out_of_distribution`` games are that fold.
  ``train`` and ``valid_seen`` never use them. (ALFRED also holds out eight ``tests_unseen`` rooms, which
  ALFWorld does not play and the released data does not name; they stay in vlgym's training pool.)
* games per task type: ALFWorld's 3,553 train, 140 valid_seen and 134 valid_unseen games, after its own
  filtering (no movable-receptacle or sliced tasks, expert-solvable).
"""

from __future__ import annotations

from vlgym.envs.alfworld.catalog import TASK_TYPES, constants

SPLITS = ("train", "valid_seen", "valid_unseen")
#: ALFRED's valid_unseen rooms (AI2-THOR floor plans): the only rooms of ALFWorld's valid_unseen games.
UNSEEN_ROOMS = (10, 219, 308, 424)
#: ALFWorld's games per task type and split, in TASK_TYPES order (pick, look, clean, heat, cool, pick two).
OFFICIAL_GAMES = {
    "train": dict(zip(TASK_TYPES, (790, 308, 650, 459, 533, 813), strict=True)),
    "valid_seen": dict(zip(TASK_TYPES, (35, 13, 27, 16, 25, 24), strict=True)),
    "valid_unseen": dict(zip(TASK_TYPES, (24, 18, 31, 23, 21, 17), strict=True)),
}
TASK_MIXES = ("alfworld", "uniform")


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def split_rooms(split: str) -> list[int]:
    """The AI2-THOR rooms a split's games are played in: the four unseen rooms for ``valid_unseen``, every
    other room of the 120 for ``train`` and ``valid_seen``."""
    check_split(split)
    if split == "valid_unseen":
        return list(UNSEEN_ROOMS)
    return sorted(set(constants().SCENE_NUMBERS) - set(UNSEEN_ROOMS))


def task_weights(split: str, task_types, task_mix: str) -> list[float]:
    """How often each of ``task_types`` is drawn: ALFWorld's share of games in ``split`` ("alfworld") or
    equally ("uniform")."""
    check_split(split)
    if task_mix not in TASK_MIXES:
        raise ValueError(f"task_mix must be one of {TASK_MIXES}, got {task_mix!r}")
    if task_mix == "uniform":
        return [1.0] * len(task_types)
    return [float(OFFICIAL_GAMES[split][t]) for t in task_types]
