"""What the ``alfworld`` package knows about ALFRED's world, read from the package itself.

Nothing here is copied from ALFWorld: the tables come from the installed package at run time.

* ``alfworld/data/alfred.pddl`` and ``alfred.twl2``: the PDDL domain and the text grammar of every ALFWorld game.
* ``alfworld/gen/layouts/FloorPlan<n>-{objects,openable}.json`` and ``-layout.npy``: the 120 AI2-THOR rooms
  (kitchens 1-30, living rooms 201-230, bedrooms 301-330, bathrooms 401-430): the object classes in each, the
  receptacle instances with the pose from which the agent interacts with them, and the reachable floor points.
* ``alfworld.gen.constants``: what each receptacle class can contain, which classes can be heated, cooled,
  cleaned or toggled, which room kinds each task type uses, and the numbers of the 120 rooms.
* ``alfworld.gen.goal_library``: each task type's PDDL goal and its goal sentences.

Importing ``alfworld`` creates ``~/.cache/alfworld`` and sets ``ALFWORLD_DATA`` to it when unset (its own
default); the package data files are located without importing it.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

#: ALFWorld's six task types, in ALFWorld's numbering (config ``env.task_types``: 1..6).
TASK_TYPES = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)
#: The appliance a task type uses on its object.
APPLIANCE = {
    "pick_clean_then_place_in_recep": "SinkBasin",
    "pick_heat_then_place_in_recep": "Microwave",
    "pick_cool_then_place_in_recep": "Fridge",
}
#: The object property a task type needs, as named in ``alfworld.gen.constants.VAL_ACTION_OBJECTS``.
REQUIRED_PROPERTY = {
    "pick_clean_then_place_in_recep": "Cleanable",
    "pick_heat_then_place_in_recep": "Heatable",
    "pick_cool_then_place_in_recep": "Coolable",
}
#: THOR ids of these receptacle classes are "<Parent>|...|<Class>" (the demangler shows them as "sinkbasin 1").
BASINS = {"SinkBasin": "Sink", "BathtubBasin": "Bathtub"}
#: Lamps: toggleable objects that stand on a receptacle and are used in place ("use desklamp 1").
LAMPS = ("DeskLamp", "FloorLamp")
LAMP_HOSTS = ("Desk", "SideTable", "Dresser", "Shelf", "CoffeeTable", "DiningTable", "TVStand")


def package_dir() -> Path:
    spec = importlib.util.find_spec("alfworld")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the ALFWorld env needs the alfworld package: pip install 'vlgym[alfworld]'")
    return Path(spec.submodule_search_locations[0])


@cache
def domain_text() -> str:
    return (package_dir() / "data" / "alfred.pddl").read_text()


@cache
def grammar_text() -> str:
    """The grammar with its ``UNKNOWN GOAL`` placeholder (each game replaces it by its goal sentence)."""
    return (package_dir() / "data" / "alfred.twl2").read_text()


@cache
def constants():
    import alfworld.gen.constants

    return alfworld.gen.constants


@cache
def goal_library() -> dict:
    import alfworld.gen.goal_library

    return alfworld.gen.goal_library.gdict


def room_type(floor_plan: int) -> str:
    return next(room for room, numbers in constants().SCENE_TYPE.items() if floor_plan in numbers)


@dataclass(frozen=True)
class ReceptacleSpot:
    """A receptacle instance of a real room: its THOR id and the pose (x, z metres, yaw, camera pitch) from
    which the agent interacts with it."""

    thor_id: str
    pose: tuple[float, float, int, int]


@dataclass(frozen=True)
class FloorPlan:
    number: int
    room: str
    classes: frozenset[str]
    spots: tuple[ReceptacleSpot, ...]
    floor: np.ndarray  # (n, 2) reachable (x, z) points, 0.25 m apart


@cache
def floor_plan(number: int) -> FloorPlan:
    layouts = package_dir() / "gen" / "layouts"
    classes = frozenset(json.loads((layouts / f"FloorPlan{number}-objects.json").read_text()))
    openable = json.loads((layouts / f"FloorPlan{number}-openable.json").read_text())
    spots = tuple(ReceptacleSpot(key, (float(p[0]), float(p[1]), int(p[2]), int(p[3])))
                  for key, p in sorted(openable.items()))
    floor = np.load(layouts / f"FloorPlan{number}-layout.npy").astype(np.float32)
    return FloorPlan(number, room_type(number), classes, spots, floor)
