"""The expert: the next ALFWorld command toward the goal, from the true state of the game.

It knows where everything is (the generator's ground truth lives in the engine's facts), so it walks straight
to a target object, opens what is closed, takes it, heats/cools/cleans it at the appliance, and puts it in a
goal receptacle (or switches the lamp on while holding it). It reacts to the current state, so it also
finishes episodes that another policy started. When its rule gives no admissible command (official games can
hold situations the rule does not cover, such as an object inside a bowl), Fast Downward plans from the
current state, as ALFWorld's planner expert does.
"""

from __future__ import annotations

from collections.abc import Callable

from vlgym.envs.alfworld.catalog import APPLIANCE
from vlgym.envs.alfworld.generator import Task
from vlgym.envs.alfworld.world import World

_VERB = {"SinkBasin": "clean", "Microwave": "heat", "Fridge": "cool"}


def rule_command(task: Task, world: World) -> str | None:
    """The rule's next command (not yet checked against the admissible ones), or None when it has none."""
    n = world.name
    targets = world.objects_of(task.object)

    def reach(receptacle: str, open_it: bool = True) -> str | None:
        """The command that brings the agent to ``receptacle`` (and opens it), None once there and open."""
        if world.receptacle_location.get(receptacle) != world.agent_location:
            return f"go to {n(receptacle)}"
        if open_it and not world.is_visible(receptacle):
            return f"open {n(receptacle)}"
        return None

    def fetch(obj: str) -> str | None:
        holder = world.receptacle_of(obj)
        if holder is None:
            return None
        return reach(holder) or f"take {n(obj)} from {n(holder)}"

    held_targets = [o for o in world.held if o in targets]
    if task.lamp:
        if not held_targets:
            return None if world.held else fetch(targets[0]) if targets else None
        lamps = world.objects_of(task.lamp)
        host = world.receptacle_of(lamps[0]) if lamps else None
        return None if host is None else reach(host, open_it=False) or f"use {n(lamps[0])}"

    goals = world.receptacles_of(task.receptacle)
    if not goals:
        return None
    # Pick two: fill the goal receptacle that already holds the most targets.
    goal = max(goals, key=lambda g: sum(world.receptacle_of(o) == g for o in targets))
    if held_targets:
        obj = held_targets[0]
        if not world.has_state(obj, task):
            appliances = world.receptacles_of(APPLIANCE[task.type])
            if not appliances:
                return None
            verb = _VERB[APPLIANCE[task.type]]
            return reach(appliances[0], open_it=False) or f"{verb} {n(obj)} with {n(appliances[0])}"
        return reach(goal) or f"move {n(obj)} to {n(goal)}"
    if world.held:
        return None  # holding something else: the planner decides where it goes
    missing = [o for o in targets if world.receptacle_of(o) != goal
               and not (task.type != "pick_two_obj_and_place" and world.receptacle_of(o) in goals)]
    return fetch(missing[0]) if missing else None


def expert_command(task: Task, world: World, admissible: list[str], plan: Callable[[], list[str]]) -> str:
    """An admissible command toward the goal: the rule's, else the planner's first, else "look"."""
    command = rule_command(task, world)
    if command in admissible:
        return command
    planned = plan()
    if planned and planned[0] in admissible:
        return planned[0]
    return "look" if "look" in admissible else admissible[0]
