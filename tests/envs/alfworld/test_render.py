"""The map: labels that never overlap each other, a marker or a spot the agent can stand on; receptacles the
room data gives no pose for drawn beside the receptacle they belong with."""

from __future__ import annotations

import itertools
import math

import pytest

from vlgym.envs.alfworld import catalog
from vlgym.envs.alfworld.engine import Engine
from vlgym.envs.alfworld.generator import PARENTS, SPLITS, generate
from vlgym.envs.alfworld.names import coordinates, display_names, engine_id
from vlgym.envs.alfworld.render import MapRenderer
from vlgym.envs.alfworld.world import World


def start_world(game) -> World:
    """The state at the start of a generated game, from the generator's ground truth (the engine's facts say the
    same: checked in test_start_world_is_the_engines)."""
    ids = {e.id: engine_id(e.id) for e in (*game.receptacles, *game.items)}
    contents = {}
    for item in game.items:
        contents.setdefault(ids[item.receptacle], []).append(ids[item.id])
    openable = frozenset(ids[r.id] for r in game.receptacles if r.cls in catalog.constants().OPENABLE_CLASS_SET)
    return World(names=display_names(ids.values()), agent_location=engine_id(game.start),
                 receptacle_class={ids[r.id]: r.cls.lower() for r in game.receptacles},
                 receptacle_location={ids[r.id]: engine_id(r.location) for r in game.receptacles},
                 object_class={ids[i.id]: i.cls.lower() for i in game.items},
                 contents={r: tuple(objs) for r, objs in contents.items()}, openable=openable,
                 opened=frozenset(), held=(), hot=frozenset(), cool=frozenset(), clean=frozenset(),
                 toggled=frozenset())


def renderer(game, height=384, width=640) -> MapRenderer:
    return MapRenderer(start_world(game), game.goal, catalog.floor_plan(game.floor_plan).floor, height, width)


def intersect(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_start_world_is_the_engines():
    game = generate(3, "train", ["pick_heat_then_place_in_recep"])
    engine = Engine()
    engine.load(game.game_data())
    engine.reset()
    ours, truth = start_world(game), World.from_facts(engine.facts(), engine.names)
    assert ours.receptacle_location == truth.receptacle_location and ours.agent_location == truth.agent_location
    assert ours.receptacle_class == truth.receptacle_class and ours.object_class == truth.object_class
    assert all(truth.names[k] == name for k, name in ours.names.items())


@pytest.mark.parametrize("size", [(384, 640), (512, 512)])
def test_labels_never_overlap_on_50_rooms(size):
    """50 generated rooms (all splits, the densest kitchens among them): no two label boxes intersect, and no
    label covers a receptacle's marker or a spot where the agent's disc can be drawn."""
    kitchens = 0
    for seed in range(50):
        game = generate(seed, SPLITS[seed % 3])
        kitchens += catalog.room_type(game.floor_plan) == "Kitchen"
        r = renderer(game, *size)
        boxes = list(r.label_boxes.values())
        assert len(boxes) == len(game.receptacles)
        assert not [(a, b) for a, b in itertools.combinations(boxes, 2) if intersect(a, b)], seed
        assert not [(a, b) for a in boxes for b in r.obstacle_boxes() if intersect(a, b)], seed
        assert all(r.map_x <= b[0] and b[2] <= r.map_x + r.map_size and b[1] >= 0 and b[3] <= r.map_size
                   for b in boxes)
    assert kitchens >= 10


def test_receptacles_without_a_pose_stand_beside_their_parent():
    """Stove burners, toasters, coffee machines stand by a counter, towel holders by the sink or bath: within a
    few steps of a parent instance, each at a spot of its own."""
    distances = []
    for seed in range(60):
        game = generate(seed, "train")
        spots = [r.location.rsplit("|", 2)[0] for r in game.receptacles]
        spot_ids = {s.thor_id for s in catalog.floor_plan(game.floor_plan).spots}
        posed = [q for q in game.receptacles if q.id in spot_ids or q.id.rsplit("|", 1)[0] in spot_ids]
        for r in game.receptacles:
            parents = [p for p in PARENTS.get(r.cls, ()) if any(q.cls == p for q in posed)]
            if r in posed or not parents:
                continue
            assert spots.count(r.location.rsplit("|", 2)[0]) == 1 and game.start != r.location
            x, z = coordinates(r.id)
            near = min(math.dist((x, z), coordinates(q.id)) for q in posed if q.cls == parents[0])
            assert near <= 3.0 + 1e-6, (seed, r.id)  # half a metre per neighbour on the same side
            distances.append(near)
    assert len(distances) >= 30 and sum(distances) / len(distances) <= 1.5
