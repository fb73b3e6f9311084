"""THOR ids, PDDL names and the names a player reads ("apple 1").

A THOR id such as ``Cabinet|+00.68|+00.50|-02.20`` becomes the PDDL name
``Cabinet_bar__plus_00_dot_68_bar__plus_00_dot_50_bar__minus_02_dot_20``; Fast Downward lower-cases it, and
ALFWorld's demangler shows it as ``cabinet <n>``, numbering the instances of a class by sorted id.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace

GRID = 0.25  # metres per unit of ALFWorld's location names, "loc|x|z|rotation|horizon"
_MANGLING = (("-", "_minus_"), ("|", "_bar_"), ("+", "_plus_"), (".", "_dot_"), (",", "_comma_"))


def mangle(thor_id: str) -> str:
    for char, word in _MANGLING:
        thor_id = thor_id.replace(char, word)
    return thor_id


def unmangle(pddl_name: str) -> str:
    for char, word in _MANGLING:
        pddl_name = pddl_name.replace(word, char)
    return pddl_name


def engine_id(thor_id: str) -> str:
    """The name of a THOR id inside the engine (mangled, lower-cased by Fast Downward)."""
    return mangle(thor_id).lower()


def coordinates(name: str) -> tuple[float, float] | None:
    """(x, z) in metres of a THOR id or engine name ("cabinet_bar__plus_00_dot_68_..."), None if it has none."""
    parts = unmangle(name).split("|")
    try:
        return float(parts[1]), float(parts[3])
    except (IndexError, ValueError):
        return None


def location_pose(name: str) -> tuple[float, float, int] | None:
    """(x, z, yaw degrees) of a location name "loc|x|z|rotation|horizon" (grid units of 0.25 m), else None."""
    parts = unmangle(name).split("|")
    try:
        return int(parts[1]) * GRID, int(parts[2]) * GRID, int(parts[3]) * 90 % 360
    except (IndexError, ValueError):
        return None


def display_names(engine_ids: Iterable[str]) -> dict[str, str]:
    """The names ALFWorld's demangler gives these engine ids (without shuffling), by engine id."""
    from alfworld.agents.utils.misc import Demangler

    ids = list(engine_ids)
    demangler = Demangler(game_infos={i: SimpleNamespace(id=i) for i in ids})
    return {i: demangler.demangle_alfred_name(i) for i in ids}
