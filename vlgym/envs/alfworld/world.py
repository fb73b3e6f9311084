"""The state of an ALFWorld game read from the engine's facts: who is where, what is open, hot, held.

The picture, the goal-condition score and the expert all read this one view, so they agree with each other
and with the engine (which keeps the facts that ALFWorld's feedback is generated from).
"""

from __future__ import annotations

from dataclasses import dataclass

from vlgym.envs.alfworld.generator import Task


def _type_name(type_id: str) -> str:
    return type_id.removesuffix("type")


@dataclass(frozen=True)
class World:
    names: dict[str, str]  # engine id -> "apple 1"
    agent_location: str
    receptacle_class: dict[str, str]  # receptacle id -> "cabinet"
    receptacle_location: dict[str, str]
    object_class: dict[str, str]  # object id -> "apple"
    contents: dict[str, tuple[str, ...]]  # receptacle id -> object ids in it
    openable: frozenset[str]
    opened: frozenset[str]
    held: tuple[str, ...]
    hot: frozenset[str]
    cool: frozenset[str]
    clean: frozenset[str]
    toggled: frozenset[str]

    @classmethod
    def from_facts(cls, facts: dict[str, set[tuple[str, ...]]], names: dict[str, str]) -> World:
        def args(predicate: str) -> set[tuple[str, ...]]:
            return facts.get(predicate, set())

        contents: dict[str, list[str]] = {}
        for obj, rec in sorted(args("inreceptacle"), key=lambda pair: names.get(pair[0], pair[0])):
            contents.setdefault(rec, []).append(obj)
        return cls(
            names=names,
            agent_location=next((loc for _, loc in args("atlocation")), ""),
            receptacle_class={r: _type_name(t) for r, t in args("receptacletype")},
            receptacle_location={r: loc for r, loc in args("receptacleatlocation")},
            object_class={o: _type_name(t) for o, t in args("objecttype")},
            contents={r: tuple(objs) for r, objs in contents.items()},
            openable=frozenset(r for (r,) in args("openable")),
            opened=frozenset(r for (r,) in args("opened")),
            held=tuple(sorted((o for _, o in args("holds")), key=lambda o: names.get(o, o))),
            hot=frozenset(o for (o,) in args("ishot")),
            cool=frozenset(o for (o,) in args("iscool")),
            clean=frozenset(o for (o,) in args("isclean")),
            toggled=frozenset(o for (o,) in args("istoggled")),
        )

    # ------------------------------------------------------------------------------------------- queries
    def name(self, entity: str) -> str:
        return self.names.get(entity, entity)

    def by_name(self, entities) -> list[str]:
        return sorted(entities, key=lambda e: _natural_key(self.name(e)))

    def receptacles_here(self) -> list[str]:
        return self.by_name(r for r, loc in self.receptacle_location.items() if loc == self.agent_location)

    def is_visible(self, receptacle: str) -> bool:
        return receptacle not in self.openable or receptacle in self.opened

    def receptacle_of(self, obj: str) -> str | None:
        return next((r for r, objs in self.contents.items() if obj in objs), None)

    def objects_of(self, object_class: str) -> list[str]:
        return self.by_name(o for o, c in self.object_class.items() if c == object_class.lower())

    def receptacles_of(self, receptacle_class: str) -> list[str]:
        return self.by_name(r for r, c in self.receptacle_class.items() if c == receptacle_class.lower())

    def has_state(self, obj: str, task: Task) -> bool:
        """Whether ``obj`` has the state the task asks for (clean, hot, cool); true when it asks for none."""
        wanted = {"pick_clean_then_place_in_recep": self.clean, "pick_heat_then_place_in_recep": self.hot,
                  "pick_cool_then_place_in_recep": self.cool}.get(task.type)
        return wanted is None or obj in wanted


def _natural_key(name: str) -> tuple:
    """"cabinet 2" before "cabinet 10"."""
    head, _, number = name.rpartition(" ")
    return (head, int(number)) if number.isdigit() else (name, 0)


def goal_conditions(task: Task, world: World) -> tuple[int, int]:
    """(satisfied, total) goal conditions of the task, ALFRED's goal-condition measure:

    * pick and place: a target object is in a receptacle of the goal's class (1 condition);
    * clean/heat/cool: a target has the state; a target with the state is in a goal receptacle (2);
    * pick two: one, then two targets are in the same goal receptacle (2);
    * look in light: a target is held; a lamp is on at the agent's location (2).
    """
    targets = world.objects_of(task.object)
    if task.type == "look_at_obj_in_light":
        holding = any(o in world.held for o in targets)
        lamp_on = any(lamp in world.toggled and world.receptacle_location.get(world.receptacle_of(lamp) or "")
                      == world.agent_location for lamp in world.objects_of(task.lamp))
        return int(holding) + int(lamp_on), 2
    goals = world.receptacles_of(task.receptacle)
    in_goal = [o for o in targets if world.receptacle_of(o) in goals]
    if task.type == "pick_two_obj_and_place":
        most = max((sum(world.receptacle_of(o) == g for o in targets) for g in goals), default=0)
        return min(most, 2), 2
    if task.type == "pick_and_place_simple":
        return int(bool(in_goal)), 1
    with_state = [o for o in targets if world.has_state(o, task)]
    return int(bool(with_state)) + int(any(o in with_state for o in in_goal)), 2
