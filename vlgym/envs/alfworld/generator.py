"""New ALFWorld games from the domain, the grammar and the 120 real rooms that ship inside ``alfworld``.

A game is sampled from a seed in four steps:

1. a task: a task type, then a room of a kind ALFRED uses for it (``GOALS_VALID``) with an object and a
   receptacle (or lamp) class that fit it (the object can be heated/cooled/cleaned, the receptacle can
   contain it, the room has both);
2. the room's receptacles: the real instances and interaction poses of the AI2-THOR floor plan, plus one
   instance (four stove burners) of each receptacle class the room has but lists no pose for, placed beside
   the receptacle it belongs with (burners, toaster and coffee machine on a counter, towel holders by the sink)
   or, lacking one, at a floor point;
3. objects: four in five of the room's pickable classes, 1-2 instances each (the task's object always, 1-3,
   two at least for pick-two), each in a random receptacle that can contain it; the task's objects never start in a
   receptacle of the goal's class, so no game starts solved;
4. the PDDL problem (ALFWorld's facts and ALFWorld's goal for the task type), the goal sentence from
   ALFWorld's templates, and the ground-truth walkthrough.

Splits follow ALFWorld's (:mod:`vlgym.envs.alfworld.splits`): ``valid_unseen`` games are played in ALFRED's
four unseen rooms only, ``train`` and ``valid_seen`` in the other rooms, each split from its own seed stream.
Task types are drawn in the proportions of ALFWorld's games of the split (``task_mix="alfworld"``) or equally
(``"uniform"``). ``held_out_pairs=True`` also keeps a fixed fifth of the (object, receptacle-or-lamp) pairs
(chosen by hash) for ``valid_unseen`` only, a harder test of generalisation than ALFWorld's: training then
never asks for those combinations (about a quarter of ALFWorld's training tasks).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from functools import cache

from vlgym.envs.alfworld import catalog
from vlgym.envs.alfworld.names import GRID, coordinates, display_names, engine_id, mangle
from vlgym.envs.alfworld.splits import SPLITS, split_rooms, task_weights

#: With held_out_pairs, 1 / HELD_OUT_MODULUS of the (object, receptacle) pairs is reserved for valid_unseen.
HELD_OUT_MODULUS = 5
#: Object types the domain itself names (knives slice); declared in every problem.
DOMAIN_OBJECT_TYPES = ("ButterKnife", "Knife")
DOMAIN_RECEPTACLE_TYPES = ("Fridge", "Microwave", "SinkBasin")


@dataclass(frozen=True)
class Task:
    type: str
    object: str  # object class, e.g. "Apple"
    receptacle: str = ""  # the goal's receptacle class ("" for look_at_obj_in_light)
    lamp: str = ""  # the lamp class of look_at_obj_in_light

    @property
    def needed(self) -> int:
        return 2 if self.type == "pick_two_obj_and_place" else 1

    def pddl_params(self) -> dict:
        """ALFWorld's ``traj_data.json`` ``pddl_params`` for this task."""
        return {"object_target": self.object, "parent_target": self.receptacle, "toggle_target": self.lamp,
                "mrecep_target": "", "object_sliced": False}


@dataclass(frozen=True)
class Receptacle:
    id: str  # THOR id
    cls: str
    location: str  # "loc|x|z|rotation|horizon"


@dataclass(frozen=True)
class Item:
    id: str
    cls: str
    receptacle: str  # THOR id of the receptacle holding it


@dataclass(frozen=True)
class GeneratedGame:
    seed: int
    split: str
    floor_plan: int
    task: Task
    goal: str
    receptacles: tuple[Receptacle, ...]
    items: tuple[Item, ...]
    start: str
    problem: str
    walkthrough: tuple[str, ...]

    @property
    def name(self) -> str:
        t = self.task
        return f"{t.type}-{t.object}-None-{t.receptacle or t.lamp}-{self.floor_plan}"

    def game_data(self) -> dict:
        """The ``game.tw-pddl`` content, as ALFWorld writes it."""
        grammar = catalog.grammar_text().replace("UNKNOWN GOAL", self.goal)
        return {"pddl_domain": catalog.domain_text(), "grammar": grammar, "pddl_problem": self.problem,
                "solvable": True, "walkthrough": list(self.walkthrough)}

    def traj_data(self) -> dict:
        """The ``traj_data.json`` fields that ALFWorld's loaders and experts read, plus where the game came from."""
        return {"task_type": self.task.type, "task_id": f"vlgym_{self.split}_{self.seed}",
                "pddl_params": self.task.pddl_params(),
                "scene": {"floor_plan": f"FloorPlan{self.floor_plan}", "scene_num": self.floor_plan},
                "vlgym": {"generator": "vlgym.envs.alfworld.generator", "seed": self.seed, "split": self.split}}


# ------------------------------------------------------------------------------------------- world tables
@cache
def _tables():
    c = catalog.constants()
    receptacle_classes = set(c.VAL_RECEPTACLE_OBJECTS) - set(c.MOVABLE_RECEPTACLES)
    contents = {r: frozenset(o for o in objs if not o.endswith("Sliced"))
                for r, objs in c.VAL_RECEPTACLE_OBJECTS.items()}
    pickable = set().union(*contents.values()) - receptacle_classes
    return receptacle_classes, contents, pickable


def can_contain(receptacle_class: str, object_class: str) -> bool:
    return object_class in _tables()[1].get(receptacle_class, ())


def _has(object_class: str, prop: str) -> bool:
    return object_class in catalog.constants().VAL_ACTION_OBJECTS[prop]


def held_out(object_class: str, receptacle_class: str) -> bool:
    """Whether the (object, receptacle-or-lamp) pair belongs to valid_unseen when pairs are held out."""
    return zlib.crc32(f"{object_class}|{receptacle_class}".encode()) % HELD_OUT_MODULUS == 0


def room_receptacle_classes(plan: catalog.FloorPlan) -> set[str]:
    basins = {basin for basin, parent in catalog.BASINS.items() if parent in plan.classes}
    return (plan.classes | basins) & _tables()[0]


def room_object_classes(plan: catalog.FloorPlan) -> set[str]:
    return plan.classes & _tables()[2]


# ------------------------------------------------------------------------------------------------ tasks
def candidate_tasks(task_type: str, plan: catalog.FloorPlan, split: str, held_out_pairs: bool = False) -> list[Task]:
    """Every task of ``task_type`` that ``plan``'s room supports and ``split`` allows, in a fixed order."""
    c = catalog.constants()
    if plan.room not in c.GOALS_VALID[task_type]:
        return []
    receptacles, objects = room_receptacle_classes(plan), room_object_classes(plan)
    unseen = split == "valid_unseen"

    def allowed(obj: str, receptacle_or_lamp: str) -> bool:
        return not held_out_pairs or held_out(obj, receptacle_or_lamp) == unseen

    tasks = []
    if task_type == "look_at_obj_in_light":
        lamps = [lamp for lamp in catalog.LAMPS if lamp in plan.classes]
        if not lamps or not receptacles & set(catalog.LAMP_HOSTS):
            return []
        for obj in sorted(objects):
            if any(can_contain(r, obj) for r in receptacles):
                tasks += [Task(task_type, obj, "", lamp) for lamp in lamps if allowed(obj, lamp)]
        return tasks
    appliance = catalog.APPLIANCE.get(task_type)
    if appliance and appliance not in receptacles:
        return []
    prop = catalog.REQUIRED_PROPERTY.get(task_type)
    for obj in sorted(objects):
        if prop and not _has(obj, prop):
            continue
        for parent in sorted(receptacles):
            if parent == appliance or not can_contain(parent, obj) or not allowed(obj, parent):
                continue
            # The objects must be able to start somewhere other than the goal's receptacle class.
            if any(can_contain(r, obj) for r in receptacles - {parent}):
                tasks.append(Task(task_type, obj, parent))
    return tasks


# ------------------------------------------------------------------------------------------------ scenes
def _location(x: float, z: float, yaw: int, pitch: int) -> str:
    return f"loc|{round(x / GRID)}|{round(z / GRID)}|{yaw // 90 % 4}|{pitch}"


def _thor_id(cls: str, x: float, y: float, z: float, taken: set[str]) -> str:
    while True:
        base = f"{cls}|{x:+06.2f}|{y:+06.2f}|{z:+06.2f}"
        thor_id = f"{catalog.BASINS[cls]}{base[len(cls):]}|{cls}" if cls in catalog.BASINS else base
        if thor_id not in taken:
            taken.add(thor_id)
            return thor_id
        x += 0.01


#: Where a receptacle class that the room data lists without a pose stands: beside an instance of the first of
#: these classes that the room has a pose for (burners, toaster and coffee machine on a counter, towel holders by
#: the sink or bath, the paper hanger by the toilet); other classes, or rooms without such a parent, use a floor
#: point.
PARENTS = {
    "StoveBurner": ("CounterTop",), "Toaster": ("CounterTop",), "CoffeeMachine": ("CounterTop",),
    "HandTowelHolder": ("SinkBasin", "CounterTop"), "TowelHolder": ("BathtubBasin", "SinkBasin", "CounterTop"),
    "ToiletPaperHanger": ("Toilet", "CounterTop"), "Drawer": ("CounterTop", "Desk", "Dresser"),
    "Shelf": ("CounterTop", "Desk", "Dresser"), "Cabinet": ("CounterTop",), "GarbageCan": ("CounterTop", "Desk"),
}
_FACING = {0: (0, 1), 1: (1, 0), 2: (0, -1), 3: (-1, 0)}  # rotation of a location -> (dx, dz) it faces


def _receptacles(plan: catalog.FloorPlan, rng: random.Random, taken: set[str]) -> list[Receptacle]:
    """The room's receptacle instances: its real ones with their poses, then one (or four burners) of each
    class with no listed pose, beside a parent receptacle (:data:`PARENTS`) or facing a random floor point."""
    result = []
    for spot in plan.spots:
        parent = spot.thor_id.split("|")[0]
        cls = next((basin for basin, p in catalog.BASINS.items() if p == parent), parent)
        if cls not in _tables()[0]:
            continue
        thor_id = f"{spot.thor_id}|{cls}" if cls in catalog.BASINS else spot.thor_id
        taken.add(thor_id)
        result.append(Receptacle(thor_id, cls, _location(*spot.pose)))
    posed = list(result)
    used = {r.location.rsplit("|", 2)[0] for r in posed}
    for cls in sorted(room_receptacle_classes(plan) - {r.cls for r in posed}):
        parent = next((p for p in PARENTS.get(cls, ()) if any(r.cls == p for r in posed)), None)
        host = rng.choice([r for r in posed if r.cls == parent]) if parent else None
        for _ in range(4 if cls == "StoveBurner" else 1):
            result.append(_beside(cls, host, used, taken) if host else _on_floor(cls, plan, rng, taken))
    return result


def _on_floor(cls: str, plan: catalog.FloorPlan, rng: random.Random, taken: set[str]) -> Receptacle:
    """A ``cls`` instance half a metre in front of a random floor point, which is its interaction spot."""
    x, z = (float(v) for v in plan.floor[rng.randrange(len(plan.floor))])
    yaw = rng.randrange(4) * 90
    dx, dz = _FACING[yaw // 90]
    return Receptacle(_thor_id(cls, x + 0.5 * dx, 0.9, z + 0.5 * dz, taken), cls, _location(x, z, yaw, 30))


def _beside(cls: str, host: Receptacle, used: set[str], taken: set[str]) -> Receptacle:
    """A ``cls`` instance next to ``host``: its own interaction spot half a metre (or a multiple) to the side of
    the host's, facing the same way, and the object itself as far to the side of the host."""
    _, gx, gz, rotation, pitch = host.location.split("|")
    fx, fz = _FACING[int(rotation)]
    side = (fz, -fx)
    x, z = coordinates(host.id)
    for step in (1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6):
        spot = f"loc|{int(gx) + 2 * step * side[0]}|{int(gz) + 2 * step * side[1]}"
        if spot not in used:
            break
    used.add(spot)
    thor_id = _thor_id(cls, x + 2 * step * GRID * side[0], 0.9, z + 2 * step * GRID * side[1], taken)
    return Receptacle(thor_id, cls, f"{spot}|{rotation}|{pitch}")


def _items(task: Task, plan: catalog.FloorPlan, receptacles: list[Receptacle], rng: random.Random,
           taken: set[str]) -> list[Item]:
    counts = {}
    for cls in sorted(room_object_classes(plan)):
        if rng.random() < 0.8:
            counts[cls] = 1 + (rng.random() < 0.25)
    counts[task.object] = rng.randint(task.needed, 3)
    items = []
    for cls, count in counts.items():
        hosts = [r for r in receptacles if can_contain(r.cls, cls)]
        if cls == task.object:
            hosts = [r for r in hosts if r.cls != task.receptacle]
        for _ in range(count if hosts else 0):
            host = rng.choice(hosts)
            items.append(_item_in(cls, host, rng, taken))
    if task.lamp:
        items.append(_item_in(task.lamp, rng.choice([r for r in receptacles if r.cls in catalog.LAMP_HOSTS]),
                              rng, taken))
    return items


def _item_in(cls: str, host: Receptacle, rng: random.Random, taken: set[str]) -> Item:
    x, z = coordinates(host.id)
    thor_id = _thor_id(cls, x + rng.uniform(-0.3, 0.3), rng.uniform(0.5, 1.5), z + rng.uniform(-0.3, 0.3), taken)
    return Item(thor_id, cls, host.id)


def _start(plan: catalog.FloorPlan, receptacles: list[Receptacle], rng: random.Random) -> str:
    used = {r.location.rsplit("|", 2)[0] for r in receptacles}  # never start facing a receptacle
    while True:
        x, z = (float(v) for v in plan.floor[rng.randrange(len(plan.floor))])
        start = _location(x, z, rng.randrange(4) * 90, 30)
        if start.rsplit("|", 2)[0] not in used:
            return start


# --------------------------------------------------------------------------------------------- problems
def problem_text(task: Task, receptacles: list[Receptacle], items: list[Item], start: str, name: str) -> str:
    c = catalog.constants()
    object_types = sorted({i.cls for i in items} | set(DOMAIN_OBJECT_TYPES))
    receptacle_types = sorted({r.cls for r in receptacles} | set(DOMAIN_RECEPTACLE_TYPES))
    locations = sorted({r.location for r in receptacles} | {start})
    where = {r.id: r.location for r in receptacles}
    objects = ["agent1 - agent"]
    objects += [f"{t}Type - otype" for t in object_types] + [f"{t}Type - rtype" for t in receptacle_types]
    objects += [f"{mangle(i.id)} - object" for i in items] + [f"{mangle(r.id)} - receptacle" for r in receptacles]
    objects += [f"{mangle(loc)} - location" for loc in locations]
    init = [f"(atLocation agent1 {mangle(start)})"]
    for r in receptacles:
        init += [f"(receptacleType {mangle(r.id)} {r.cls}Type)",
                 f"(receptacleAtLocation {mangle(r.id)} {mangle(r.location)})"]
        if r.cls in c.OPENABLE_CLASS_SET:
            init.append(f"(openable {mangle(r.id)})")
    present = {i.cls for i in items}
    for rtype in sorted({r.cls for r in receptacles}):
        init += [f"(canContain {rtype}Type {otype}Type)" for otype in sorted(present) if can_contain(rtype, otype)]
    movable = set(c.MOVABLE_RECEPTACLES)
    properties = (("heatable", "Heatable"), ("coolable", "Coolable"), ("cleanable", "Cleanable"),
                  ("toggleable", "Toggleable"), ("sliceable", "Sliceable"))
    for i in items:
        m = mangle(i.id)
        init += [f"(objectType {m} {i.cls}Type)", f"(inReceptacle {m} {mangle(i.receptacle)})",
                 f"(objectAtLocation {m} {mangle(where[i.receptacle])})"]
        if i.cls not in catalog.LAMPS:
            init.append(f"(pickupable {m})")
        if i.cls in movable:
            init.append(f"(isReceptacleObject {m})")
        init += [f"({pred} {m})" for pred, prop in properties if _has(i.cls, prop)]
    goal = catalog.goal_library()[task.type]["pddl"].format(obj=task.object, recep=task.receptacle, toggle=task.lamp)
    lines = [f"(define (problem {name})", "  (:domain alfred)", "  (:objects"]
    lines += [f"    {o}" for o in objects] + ["  )", "  (:init"] + [f"    {f}" for f in init] + ["  )"]
    return "\n".join(lines) + "\n" + goal.replace("#", "-").strip() + "\n"


def goal_sentence(task: Task, rng: random.Random) -> str:
    template = rng.choice(catalog.goal_library()[task.type]["templates"])
    return template.format(obj=task.object.lower(), recep=task.receptacle.lower(), toggle=task.lamp.lower())


# ----------------------------------------------------------------------------------------- walkthrough
def walkthrough(task: Task, receptacles: list[Receptacle], items: list[Item], start: str) -> list[str]:
    """The ground-truth commands that solve the game from its start."""
    openable = catalog.constants().OPENABLE_CLASS_SET
    names = display_names(engine_id(e.id) for e in (*receptacles, *items))
    name = {e.id: names[engine_id(e.id)] for e in (*receptacles, *items)}
    by_id = {r.id: r for r in receptacles}
    commands, opened, here = [], set(), start

    def visit(receptacle: Receptacle, open_it: bool = True) -> None:
        nonlocal here
        if here != receptacle.location:
            commands.append(f"go to {name[receptacle.id]}")
            here = receptacle.location
        if open_it and receptacle.cls in openable and receptacle.id not in opened:
            commands.append(f"open {name[receptacle.id]}")
            opened.add(receptacle.id)

    def first(cls: str) -> Receptacle:
        return min((r for r in receptacles if r.cls == cls), key=lambda r: name[r.id])

    targets = sorted((i for i in items if i.cls == task.object), key=lambda i: name[i.id])[: task.needed]
    for item in targets:
        visit(by_id[item.receptacle])
        commands.append(f"take {name[item.id]} from {name[item.receptacle]}")
        if task.type in catalog.APPLIANCE:
            appliance = first(catalog.APPLIANCE[task.type])
            visit(appliance, open_it=False)
            verb = {"SinkBasin": "clean", "Microwave": "heat", "Fridge": "cool"}[appliance.cls]
            commands.append(f"{verb} {name[item.id]} with {name[appliance.id]}")
        if task.lamp:
            lamp = next(i for i in items if i.cls == task.lamp)
            visit(by_id[lamp.receptacle], open_it=False)
            commands.append(f"use {name[lamp.id]}")
        else:
            goal = first(task.receptacle)
            visit(goal)
            commands.append(f"move {name[item.id]} to {name[goal.id]}")
    return commands


# ------------------------------------------------------------------------------------------------- games
def generate(seed: int, split: str = "train", task_types=catalog.TASK_TYPES, *, task_mix: str = "alfworld",
             held_out_pairs: bool = False) -> GeneratedGame:
    """The game of ``seed`` in ``split``, of one of ``task_types`` (the same arguments give the same game).

    ``task_mix="alfworld"`` draws the task type in the proportions of ALFWorld's games of ``split``,
    ``"uniform"`` equally; ``held_out_pairs`` reserves a fifth of the (object, receptacle) pairs for valid_unseen.

    >>> game = generate(0, "valid_unseen")
    >>> game.floor_plan in (10, 219, 308, 424), game.walkthrough[-1].split()[0] in ("move", "use")
    (True, True)
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    unknown = [t for t in task_types if t not in catalog.TASK_TYPES]
    if unknown or not task_types:
        raise ValueError(f"task types must be a non-empty subset of {catalog.TASK_TYPES}, got {list(task_types)}")
    types = sorted(set(task_types), key=catalog.TASK_TYPES.index)
    weights = task_weights(split, types, task_mix)
    rng = random.Random(f"vlgym-alfworld:{split}:{seed}")
    task_type = rng.choices(types, weights)[0]
    plans = [catalog.floor_plan(n) for n in split_rooms(split)]
    rng.shuffle(plans)
    for plan in plans:
        tasks = candidate_tasks(task_type, plan, split, held_out_pairs)
        if tasks:
            break
    else:
        raise ValueError(f"no room of split {split!r} supports {task_type}")
    task = rng.choice(tasks)
    taken: set[str] = set()
    receptacles = _receptacles(plan, rng, taken)
    items = _items(task, plan, receptacles, rng, taken)
    start = _start(plan, receptacles, rng)
    goal = goal_sentence(task, rng)
    problem = problem_text(task, receptacles, items, start, name=f"vlgym_{split}_{seed}")
    return GeneratedGame(seed, split, plan.number, task, goal, tuple(receptacles), tuple(items), start, problem,
                         tuple(walkthrough(task, receptacles, items, start)))
