"""The game generator: all task types in all splits, reproducible, splits kept apart, ALFWorld's wording."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from vlgym.envs.alfworld import catalog
from vlgym.envs.alfworld.generator import SPLITS, can_contain, generate, held_out
from vlgym.envs.alfworld.names import display_names, engine_id
from vlgym.envs.alfworld.splits import OFFICIAL_GAMES, UNSEEN_ROOMS, split_rooms

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


def test_splits_use_alfworlds_rooms():
    """valid_unseen plays only in ALFRED's four unseen rooms; train and valid_seen never touch them (2,000 games
    per split), and cover the other rooms of every kind."""
    assert set(split_rooms("valid_unseen")) == set(UNSEEN_ROOMS) == {10, 219, 308, 424}
    assert len(split_rooms("train")) == 116 and split_rooms("train") == split_rooms("valid_seen")
    for split in SPLITS:
        rooms = Counter(generate(seed, split).floor_plan for seed in range(2000))
        if split == "valid_unseen":
            assert set(rooms) == set(UNSEEN_ROOMS)
        else:
            assert not set(rooms) & set(UNSEEN_ROOMS) and len(rooms) >= 100
            assert {catalog.room_type(r) for r in rooms} == {"Kitchen", "LivingRoom", "Bedroom", "Bathroom"}


def test_valid_seen_games_are_other_games_in_the_same_rooms():
    train = {generate(seed, "train").problem.split("\n", 1)[1] for seed in range(40)}
    seen = {generate(seed, "valid_seen").problem.split("\n", 1)[1] for seed in range(40)}
    assert not train & seen


def test_pairs_are_held_out_only_on_request():
    """By default (ALFWorld's notion of unseen: rooms) training asks for every pair, held-out ones included;
    with held_out_pairs, train and valid_seen never ask for a held-out pair and valid_unseen asks only for them."""
    def pair(game):
        return held_out(game.task.object, game.task.receptacle or game.task.lamp)

    assert any(pair(generate(seed, "train")) for seed in range(100))
    for seed in range(40):
        for split in ("train", "valid_seen"):
            assert not pair(generate(seed, split, held_out_pairs=True))
        assert pair(generate(seed, "valid_unseen", held_out_pairs=True))


@pytest.mark.parametrize("split", SPLITS)
def test_task_mix_follows_alfworlds_split_or_is_uniform(split):
    """600 seeds: each type's share is within 5 points (3 standard deviations) of ALFWorld's share of the split's
    games, or of 1/6 with task_mix="uniform"."""
    official = OFFICIAL_GAMES[split]
    for mix, expected in (("alfworld", {t: n / sum(official.values()) for t, n in official.items()}),
                          ("uniform", dict.fromkeys(catalog.TASK_TYPES, 1 / 6))):
        counts = Counter(generate(seed, split, task_mix=mix).task.type for seed in range(600))
        for task_type in catalog.TASK_TYPES:
            assert abs(counts[task_type] / 600 - expected[task_type]) < 0.05, (mix, task_type, counts)
    with pytest.raises(ValueError, match="task_mix"):
        generate(0, split, task_mix="official")


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


def test_rooms_hold_less_clutter_than_alfred_as_documented():
    """docs/alfworld.md says a generated room holds 5-33 objects, median 18, about 60% of ALFRED's 22-45."""
    counts = sorted(len(generate(seed, "train").items) for seed in range(600))
    assert counts[0] >= 5 and counts[-1] <= 33 and counts[300] == 18
