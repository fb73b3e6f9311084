"""The game generator: all task types in all splits, reproducible, splits kept apart, ALFWorld's wording."""

from __future__ import annotations

import re

import pytest

from vlgym.envs.alfworld import catalog
from vlgym.envs.alfworld.generator import SPLITS, can_contain, generate, held_out
from vlgym.envs.alfworld.names import display_names, engine_id

TEMPLATE_PATTERNS = {
    t: [re.compile("^" + re.escape(x).replace(r"\{obj\}", "[a-z]+").replace(r"\{recep\}", "[a-z]+")
                   .replace(r"\{toggle\}", "[a-z]+") + "$")
        for x in catalog.goal_library()[t]["templates"]]
    for t in catalog.TASK_TYPES
}


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("task_type", catalog.TASK_TYPES)
def test_every_task_type_in_every_split(split, task_type):
    game = generate(3, split, [task_type])
    assert game.task.type == task_type
    assert any(p.match(game.goal) for p in TEMPLATE_PATTERNS[task_type]), game.goal
    assert catalog.room_type(game.floor_plan) in catalog.constants().GOALS_VALID[task_type]
    assert game.problem.count("(:goal") == 1 and f"{game.task.object}Type" in game.problem
    assert game.walkthrough and game.walkthrough[-1].split()[0] in {"move", "use"}


def test_same_seed_same_game_and_seeds_matter():
    assert generate(11, "train") == generate(11, "train")
    problems = {generate(seed, "train").problem for seed in range(12)}
    assert len(problems) == 12


def test_splits_keep_training_and_evaluation_apart():
    train_rooms = set(catalog.floor_plan_numbers(held_out=False))
    test_rooms = set(catalog.floor_plan_numbers(held_out=True))
    assert train_rooms and test_rooms and not train_rooms & test_rooms
    seen_problems = set()
    for seed in range(40):
        for split in ("train", "valid_seen"):
            game = generate(seed, split)
            assert game.floor_plan in train_rooms
            assert not held_out(game.task.object, game.task.receptacle or game.task.lamp)
            seen_problems.add((split, game.problem.split("\n", 1)[1]))
        unseen = generate(seed, "valid_unseen")
        assert unseen.floor_plan in test_rooms
        assert held_out(unseen.task.object, unseen.task.receptacle or unseen.task.lamp)
    # Same rooms and combinations, but no valid_seen game is a train game.
    train = {p for s, p in seen_problems if s == "train"}
    assert not train & {p for s, p in seen_problems if s == "valid_seen"}


def test_scenes_are_consistent_and_never_start_solved():
    for seed in range(30):
        game = generate(seed, "train")
        receptacles = {r.id: r for r in game.receptacles}
        assert len(receptacles) == len(game.receptacles)
        assert game.start not in {r.location for r in game.receptacles}
        for item in game.items:
            host = receptacles[item.receptacle]
            assert item.cls in catalog.LAMPS or can_contain(host.cls, item.cls)
            if item.cls == game.task.object and game.task.receptacle:
                assert host.cls != game.task.receptacle  # the goal does not hold at the start
        targets = [i for i in game.items if i.cls == game.task.object]
        assert len(targets) >= game.task.needed


def test_receptacles_are_named_as_alfworld_shows_them():
    game = generate(0, "train", ["pick_clean_then_place_in_recep"])
    names = display_names(engine_id(r.id) for r in game.receptacles)
    shown = set(names.values())
    assert "sinkbasin 1" in shown and not any("sinkbasinbasin" in n for n in shown)
    assert all(re.fullmatch(r"[a-z]+ \d+", n) for n in shown)


@pytest.mark.parametrize(("kwargs", "message"), [({"split": "test"}, "split"), ({"task_types": ["fly"]}, "task types"),
                                                  ({"task_types": []}, "task types")])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(0, **kwargs)
