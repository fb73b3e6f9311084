"""The cached engine plays exactly like ALFWorld's own stack, and every generated walkthrough wins in it."""

from __future__ import annotations

import itertools
import random
import sys
from concurrent.futures import ThreadPoolExecutor

import mementos.core
import pytest
from textworld.envs.pddl import logic as pddl_logic
from textworld.envs.pddl import textgen

from vlgym.envs.alfworld import catalog, engine
from vlgym.envs.alfworld.engine import Engine, caching, raw_engine
from vlgym.envs.alfworld.generator import generate
from vlgym.envs.alfworld.tools import check_walkthrough

# Small rooms keep the raw stack quick; (split, seed) per task type.
SMALL_GAMES = {"pick_and_place_simple": ("valid_unseen", 17), "look_at_obj_in_light": ("valid_unseen", 16),
               "pick_clean_then_place_in_recep": ("train", 19), "pick_heat_then_place_in_recep": ("train", 21),
               "pick_cool_then_place_in_recep": ("train", 21), "pick_two_obj_and_place": ("train", 20)}


@pytest.mark.parametrize("empty_interning", [False, True])
@pytest.mark.parametrize("task_type", ["look_at_obj_in_light", "pick_two_obj_and_place",
                                       "pick_heat_then_place_in_recep"])
def test_same_commands_feedback_and_wins_as_alfworld(task_type, empty_interning, monkeypatch):
    """Random admissible commands, the walkthrough, and a second episode of the same game (served from the
    caches) give the raw stack's admissible commands, feedback and ``won`` at every step; also when textworld's
    interning of logic objects is emptied before the load and before every step (the memory bound)."""
    if empty_interning:
        monkeypatch.setattr(engine, "INTERNED_LIMIT", -1)
        original_step = Engine.step

        def step(self, command):
            mementos.core._memento_cache.clear()
            return original_step(self, command)

        monkeypatch.setattr(Engine, "step", step)
    split, seed = SMALL_GAMES[task_type]
    game = generate(seed, split, [task_type])
    raw, ours = raw_engine(), Engine()
    raw.load(game.game_data())
    ours.load(game.game_data())
    rng = random.Random(seed)
    for episode in range(2):
        state = raw.reset()
        assert ours.reset() == state.feedback
        commands = list(game.walkthrough) if episode else [None] * 12  # None: a random admissible command
        for step, command in enumerate(commands):
            assert ours.admissible_commands == state["admissible_commands"], (episode, step)
            command = command or rng.choice(state["admissible_commands"])
            state, _, _ = raw.step(command)
            assert ours.step(command) == state.feedback, (episode, step, command)
            assert ours.won == state["won"]
    assert ours.won


def test_commands_outside_the_admissible_set_change_nothing_in_the_raw_engine_either():
    game = generate(20, "train", ["pick_two_obj_and_place"])
    engine = Engine()
    engine.load(game.game_data())
    engine.reset()
    before = engine.facts()
    assert engine.step("take apple 99 from countertop 1") == "Nothing happens."
    assert engine.facts() == before


def test_caching_is_scoped_and_sys_argv_survives():
    originals = (pddl_logic.GameLogic, pddl_logic.fast_downward, textgen._parse_and_convert, textgen.Rule)
    argv = list(sys.argv)
    with caching():
        assert pddl_logic.GameLogic is not originals[0] and textgen.Rule is not originals[3]
    assert (pddl_logic.GameLogic, pddl_logic.fast_downward, textgen._parse_and_convert, textgen.Rule) == originals
    engine = Engine()
    engine.load(generate(16, "valid_unseen", ["look_at_obj_in_light"]).game_data())
    engine.reset()
    assert sys.argv == argv  # Fast Downward's translator rewrites sys.argv; the engine puts it back


def test_engines_in_threads_play_as_they_would_one_after_another():
    """textworld's parsers and Fast Downward's translator are process-wide: engines in a thread pool (a server's
    sessions) take turns, and every load, step and plan gives what it gives alone. The threads go first, on games
    no other test loads, so that no cache spares them the parsing and translating."""
    games = [generate(seed, "valid_seen", [task_type]) for seed, task_type in enumerate(catalog.TASK_TYPES)]

    def play(game):
        engine = Engine()
        engine.load(game.game_data())
        texts = [engine.reset()] + [engine.step(command) for command in game.walkthrough[:3]]
        return texts, engine.plan()

    with ThreadPoolExecutor(len(games)) as pool:
        in_threads = list(pool.map(play, games))
    assert in_threads == [play(game) for game in games]


@pytest.mark.parametrize("task_type", catalog.TASK_TYPES)
def test_walkthroughs_win_exactly_at_their_end(task_type):
    split, seed = SMALL_GAMES[task_type]
    engine = Engine()
    check_walkthrough(engine, generate(seed, split, [task_type]))
    assert engine.won


def test_interning_is_bounded_between_games(monkeypatch):
    """textworld interns the logic objects of every game it loads; past the limit the engine empties that store
    before the next load, so it holds one game's worth instead of every game's."""
    games = [generate(seed, split, [task_type]).game_data() for task_type, (split, seed) in SMALL_GAMES.items()]
    sizes = {}
    for limit in (10**9, 100):
        monkeypatch.setattr(engine, "INTERNED_LIMIT", limit)
        mementos.core._memento_cache.clear()
        ours = Engine()
        sizes[limit] = []
        for data in games:
            ours.load(data)
            sizes[limit].append(len(mementos.core._memento_cache))
    unbounded, bounded = sizes[10**9], sizes[100]
    assert all(a < b for a, b in itertools.pairwise(unbounded))  # every game adds objects
    assert max(bounded[1:]) < unbounded[-1] / 2


def test_planner_solves_a_generated_game():
    game = generate(19, "train", ["pick_clean_then_place_in_recep"])
    engine = Engine()
    engine.load(game.game_data())
    engine.reset()
    plan = engine.plan()
    assert 0 < len(plan) <= len(game.walkthrough)  # Fast Downward's plans are optimal
    for command in plan:
        assert command in engine.admissible_commands
        engine.step(command)
    assert engine.won


@pytest.mark.parametrize("edit", ["Put the washed spoon into a drawer, please", "look at 'the' cd under a lamp",
                                  "other grammar"])
def test_any_goal_sentence_reads_as_in_alfworld(edit):
    """The engine reuses the package's parsed grammar for every goal sentence (human-written ones too) and parses
    any other grammar in full: the welcome text is ALFWorld's either way."""
    data = generate(16, "valid_unseen", ["look_at_obj_in_light"]).game_data()
    grammar = catalog.grammar_text()
    if edit == "other grammar":
        data["grammar"] = grammar.replace("UNKNOWN GOAL", "examine the cd").replace("-= Welcome", "-=  Welcome")
    else:
        data["grammar"] = grammar.replace("UNKNOWN GOAL", edit)
    raw, ours = raw_engine(), Engine()
    raw.load(data)
    ours.load(data)
    assert ours.reset() == raw.reset().feedback
    assert ours.reset().endswith(f"Your task is to: {edit}.") or edit == "other grammar"


def test_plans_match_alfworlds_planner_mid_game():
    """The optimised translation for replanning is deferred until a plan is asked for: plans from any state are
    still those of ALFWorld's own stack."""
    split, seed = SMALL_GAMES["pick_two_obj_and_place"]
    game = generate(seed, split, ["pick_two_obj_and_place"])
    raw, ours = raw_engine(), Engine()
    raw.load(game.game_data())
    ours.load(game.game_data())
    raw.reset()
    ours.reset()
    for command in game.walkthrough[:3]:
        raw.step(command)
        ours.step(command)
        raw_pddl = raw.unwrapped
        assert ours.plan() == raw_pddl._pddl_state.replan(raw_pddl._entity_infos)
