"""vlgym/ALFWorld-v0: the expert, bad input, rewards, the step limit, the picture, and game files on disk."""

from __future__ import annotations

import itertools
import json
import shutil

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from vlgym.cli import app
from vlgym.envs.alfworld import ALFWorldEnv
from vlgym.envs.alfworld.catalog import TASK_TYPES
from vlgym.envs.alfworld.games import GAME_FILE, TRAJ_FILE, GameFileError, find_games, write_game
from vlgym.envs.alfworld.generator import generate

# Small rooms keep these tests quick; (split, seed) per task type.
SMALL_GAMES = {"pick_and_place_simple": ("valid_unseen", 17), "look_at_obj_in_light": ("valid_unseen", 16),
               "pick_clean_then_place_in_recep": ("train", 19), "pick_heat_then_place_in_recep": ("train", 21),
               "pick_cool_then_place_in_recep": ("train", 21), "pick_two_obj_and_place": ("train", 20)}


@pytest.fixture(scope="module")
def game_dir(tmp_path_factory):
    """One small game per task type, written in ALFWorld's layout."""
    root = tmp_path_factory.mktemp("alfworld_games")
    for task_type, (split, seed) in SMALL_GAMES.items():
        write_game(generate(seed, split, [task_type]), root)
    return root


@pytest.fixture(scope="module")
def game_files(game_dir):
    return {json.loads((p.parent / TRAJ_FILE).read_text())["task_type"]: p for p in find_games(game_dir)}


def make(game_files, task_type, **kwargs):
    return gym.make("vlgym/ALFWorld-v0", source="official", game_files=[game_files[task_type]], **kwargs)


def play_expert(env, seed=0):
    _, info = env.reset(seed=seed)
    total, steps, done = 0.0, 0, False
    while not done:
        action = env.unwrapped.expert_action()
        assert action in info["available_actions"]
        _, reward, terminated, truncated, info = env.step(action)
        total, steps, done = total + reward, steps + 1, terminated or truncated
    return total, steps, info


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_expert_wins_every_task_type(game_files, task_type):
    env = make(game_files, task_type)
    total, steps, info = play_expert(env)
    assert info["success"] is True and info["score"] == 1.0 and total == 1.0
    assert steps <= 12 and info["task_type"] == task_type


def test_expert_finishes_after_a_detour(game_files):
    """The expert reacts to the state: it wins after random commands moved things around."""
    env = make(game_files, "pick_two_obj_and_place")
    rng = np.random.default_rng(0)
    for seed in range(3):
        _, info = env.reset(seed=seed)
        for _ in range(6):
            actions = info["available_actions"]
            _, _, terminated, _, info = env.step(actions[rng.integers(len(actions))])
            if terminated:
                break
        while not (info["success"] or env.unwrapped.elapsed_steps >= 50):
            _, _, _, _, info = env.step(env.unwrapped.expert_action())
        assert info["success"] is True


def test_text_and_goal_read_like_alfworld(game_files):
    env = make(game_files, "pick_heat_then_place_in_recep")
    obs, info = env.reset(seed=0)
    assert obs["text"].startswith("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room.")
    assert info["instruction"].startswith("Your task is to: ") and info["instruction"].endswith(".")
    assert info["instruction"] in obs["text"]
    assert "inventory" in info["available_actions"] and "look" in info["available_actions"]
    go = next(a for a in info["available_actions"] if a.startswith("go to "))
    obs, *_ = env.step(go)
    assert obs["text"].startswith(f"You arrive at {go.removeprefix('go to ')}.")


def test_near_misses_are_invalid_and_never_reach_the_engine(game_files):
    env = make(game_files, "pick_clean_then_place_in_recep")
    _, info = env.reset(seed=0)
    base = env.unwrapped
    sent = []  # (command, whether it was admissible) for every command that reaches the engine
    real_step = base.engine.step

    def spy(command):
        sent.append((command, command in base.engine.admissible_commands))
        return real_step(command)

    base.engine.step = spy
    take = None
    while take is None:  # walk with the expert until a take command is admissible
        action = base.expert_action()
        _, _, _, _, info = env.step(action)
        take = next((a for a in info["available_actions"] if a.startswith("take ")), None)
    obj_number = take.split()[2]
    near_misses = [take.replace(f" {obj_number} ", f" {int(obj_number) + 7} ", 1), take + " please",
                   "please " + take, take.replace("take", "grab"), take.replace(" from ", " off "),
                   take.replace(" ", "  ").upper() + " now", "go to the " + take.split()[-2] + " " + take.split()[-1]]
    for command in near_misses:
        _, reward, terminated, _, step_info = env.step(command)
        assert step_info["action_valid"] is False, command
        assert reward == 0.0 and not terminated
    assert all(admissible for _, admissible in sent)
    assert not set(near_misses) & {command for command, _ in sent}
    assert len(sent) == base.elapsed_steps - len(near_misses)


@pytest.mark.parametrize(("mode", "win", "penalty"),
                         [("sparse", 1.0, 0.0), ("rl4vlm", 51.0, 1.0), ("vl-dac", 2.0, 1.0)])
def test_reward_modes(game_files, mode, win, penalty):
    env = make(game_files, "pick_heat_then_place_in_recep", reward=mode)
    _, info = env.reset(seed=0)
    _, reward, *_ = env.step("not a command")
    assert reward == -penalty
    rewards, scores, done = [], [], False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        rewards.append(reward)
        scores.append(info["score"])
        done = terminated or truncated
    assert rewards[-1] == win and info["success"]
    if mode == "sparse":
        assert rewards[:-1] == [0.0] * (len(rewards) - 1)
    else:  # every valid step earns the goal-condition score of the state it reached
        assert rewards[:-1] == scores[:-1]


def test_score_counts_goal_conditions(game_files):
    env = make(game_files, "pick_heat_then_place_in_recep")
    _, info = env.reset(seed=0)
    scores = [info["score"]]
    while not info["success"]:
        action = env.unwrapped.expert_action()
        _, _, _, _, info = env.step(action)
        scores.append(info["score"])
        if action.startswith("heat "):
            assert info["score"] == 0.5  # the apple is hot, not yet in place
    assert scores[0] == 0.0 and scores[-1] == 1.0 and scores == sorted(scores)


def test_step_limit_is_always_enforced(game_files):
    env = ALFWorldEnv(source="official", game_files=[game_files["pick_and_place_simple"]])  # no TimeLimit wrapper
    env.reset(seed=0)
    for step in range(1, 51):
        _, _, terminated, truncated, info = env.step("inventory")
        assert info["action_valid"] and not terminated
        assert truncated is (step == 50)
    wrapped = make(game_files, "pick_and_place_simple", max_episode_steps=5)
    wrapped.reset(seed=0)
    assert [wrapped.step("look")[3] for _ in range(5)] == [False] * 4 + [True]


@pytest.mark.parametrize("size", [(240, 400), (448, 448)])  # map beside the panel, map above the panel
def test_image_shows_the_state(game_files, size):
    env = make(game_files, "pick_cool_then_place_in_recep", image_size=size)
    obs, info = env.reset(seed=0)
    assert obs["image"].shape == (*size, 3) and obs["image"].dtype == np.uint8
    assert len(np.unique(obs["image"].reshape(-1, 3), axis=0)) > 20  # a drawing, not a blank frame
    frames = [obs["image"]]
    while not info["success"]:
        obs, _, _, _, info = env.step(env.unwrapped.expert_action())
        frames.append(obs["image"])
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))
    again = make(game_files, "pick_cool_then_place_in_recep", image_size=size)
    assert np.array_equal(again.reset(seed=0)[0]["image"], frames[0])


def test_generated_games_load_in_alfworlds_own_env(game_dir, tmp_path):
    """A written game plays unchanged in ALFWorld's AlfredTWEnv (its loader, wrappers and textworld.gym)."""
    from alfworld.agents.environment.alfred_tw_env import AlfredTWEnv

    game_path = next(p for p in find_games(game_dir, ["pick_two_obj_and_place"]))
    shutil.copytree(game_path.parent.parent, tmp_path / game_path.parent.parent.name)
    config = {"dataset": {"data_path": str(tmp_path), "num_train_games": -1},
              "env": {"task_types": [1, 2, 3, 4, 5, 6], "goal_desc_human_anns_prob": 0, "domain_randomization": False,
                      "expert_type": "handcoded"},
              "general": {"training_method": "dqn"}, "rl": {"training": {"max_nb_steps_per_episode": 50}}}
    alfred = AlfredTWEnv(config, train_eval="train")
    assert alfred.game_files == [str(game_path).replace(str(game_dir), str(tmp_path))]
    env = alfred.init_env(batch_size=1)
    try:
        obs, infos = env.reset()
        assert "Your task is to: " in obs[0]
        for command in json.loads(game_path.read_text())["walkthrough"]:
            assert command in infos["admissible_commands"][0]
            obs, _, dones, infos = env.step([command])
        assert infos["won"][0] is True and dones[0] is True
    finally:
        env.close()


def test_official_source_walks_alfworlds_layout(game_dir):
    env = gym.make("vlgym/ALFWorld-v0", source="official", data_dir=game_dir, task_types=[2, 6])
    seen = set()
    for seed in range(6):
        _, info = env.reset(seed=seed)
        seen.add(info["task_type"])
    assert seen == {"look_at_obj_in_light", "pick_two_obj_and_place"}
    with pytest.raises(FileNotFoundError):
        gym.make("vlgym/ALFWorld-v0", source="official", data_dir=game_dir / "missing")


def broken_copies(game_files, tmp_path):
    source = game_files["pick_and_place_simple"]
    data = json.loads(source.read_text())
    cases = {
        "not_json": "{not json",
        "no_problem": json.dumps({k: v for k, v in data.items() if k != "pddl_problem"}),
        "unsolvable_flag": json.dumps({**data, "solvable": False}),
        "bad_pddl": json.dumps({**data, "pddl_problem": data["pddl_problem"].replace("(:init", "(:inot", 1)}),
        # No receptacle can hold the object any more: the goal is unreachable.
        "impossible_goal": json.dumps({**data, "pddl_problem": "\n".join(
            line for line in data["pddl_problem"].split("\n") if "(canContain" not in line)}),
    }
    paths = {}
    for name, text in cases.items():
        folder = tmp_path / name / "trial_0"
        folder.mkdir(parents=True)
        (folder / TRAJ_FILE).write_text((source.parent / TRAJ_FILE).read_text())
        (folder / GAME_FILE).write_text(text)
        paths[name] = folder / GAME_FILE
    return paths


@pytest.mark.parametrize("case", ["not_json", "no_problem", "unsolvable_flag", "bad_pddl", "impossible_goal"])
def test_bad_game_files_give_errors_naming_the_file(game_files, tmp_path, case):
    path = broken_copies(game_files, tmp_path)[case]
    env = gym.make("vlgym/ALFWorld-v0", source="official", game_files=[path])
    with pytest.raises(GameFileError, match=str(path)):
        env.reset(seed=0)


def test_game_files_are_trusted_unless_checked(game_files, tmp_path):
    """A file marked solvable is played as it is, as AlfredTWEnv plays it: its first reset runs no check.
    check_solvable=True plays it to the goal once per process first: its stored walkthrough, or Fast Downward's
    plan where it has none or the walkthrough fails. (A file whose goal cannot be reached at all does not even
    load: test_bad_game_files_give_errors_naming_the_file.)"""
    from vlgym.envs.alfworld.env import _CHECKED

    source = game_files["pick_and_place_simple"]
    data = json.loads(source.read_text())
    paths = {}
    for name, walkthrough in (("wrong_walkthrough", ["go to nowhere 1"]), ("no_walkthrough", None)):
        folder = tmp_path / name / "trial_0"
        folder.mkdir(parents=True)
        (folder / TRAJ_FILE).write_text((source.parent / TRAJ_FILE).read_text())
        (folder / GAME_FILE).write_text(json.dumps({**data, "walkthrough": walkthrough}))
        paths[name] = folder / GAME_FILE
    for path in paths.values():
        trusted = gym.make("vlgym/ALFWorld-v0", source="official", game_files=[path])
        trusted.reset(seed=0)
        assert not any(key[0] == str(path) for key in _CHECKED)
        checked = gym.make("vlgym/ALFWorld-v0", source="official", game_files=[path], check_solvable=True)
        _, info = checked.reset(seed=0)
        assert any(key[0] == str(path) for key in _CHECKED)
        assert not info["success"] and play_expert(checked)[2]["success"]


def test_bad_arguments_raise():
    for kwargs in ({"source": "web"}, {"split": "test"}, {"task_types": [7]}, {"task_types": []},
                   {"reward": "dense"}, {"task_mix": "official"}):
        with pytest.raises(ValueError):
            gym.make("vlgym/ALFWorld-v0", **kwargs)


def test_cli_writes_games_alfworld_can_find(tmp_path):
    result = CliRunner().invoke(app, ["alfworld", "generate", str(tmp_path), "--count", "2", "--seed", "20",
                                      "--task-type", "pick_two_obj_and_place", "--split", "train"])
    assert result.exit_code == 0, result.output
    paths = find_games(tmp_path)
    assert len(paths) == 2
    for path in paths:
        data = json.loads(path.read_text())
        assert data["solvable"] is True and data["walkthrough"]
        assert json.loads((path.parent / TRAJ_FILE).read_text())["task_type"] == "pick_two_obj_and_place"


def test_bench_baseline_plays_the_same_trajectories(game_files):
    """``vlgym bench --raw`` compares like with like: same games, same commands, same feedback."""
    import random

    from vlgym.bench import Stepper
    from vlgym.envs.alfworld.raw import RawALFWorldStepper

    kwargs = {"source": "official", "game_files": [game_files["pick_clean_then_place_in_recep"],
                                                    game_files["look_at_obj_in_light"]]}
    ours = Stepper("vlgym/ALFWorld-v0", kwargs, seed=3)
    raw = RawALFWorldStepper(ours, seed=3)
    ours_rng, raw_rng = random.Random(0), random.Random(0)
    for _ in range(30):
        assert ours.info["available_actions"] == raw.state["admissible_commands"]
        ours_done, raw_done = ours.step(ours_rng), raw.step(raw_rng)
        assert ours.info["feedback"] == raw.state.feedback
        assert ours_done == raw_done
        if ours_done:
            ours.reset()
            raw.reset()


@pytest.fixture(scope="module")
def mid_game(game_files):
    """An env a few expert steps into a game, where many commands are admissible (and no step limit soon)."""
    env = make(game_files, "pick_two_obj_and_place", max_episode_steps=10_000)
    env.reset(seed=0)
    for _ in range(2):
        env.step(env.unwrapped.expert_action())
    return env


def _mutate(command: str, how: int, word: str) -> str:
    words = command.split()
    digits = [i for i, w in enumerate(words) if w.isdigit()]
    if how == 0 and digits:  # a wrong instance number
        words[digits[0]] = str(int(words[digits[0]]) + 1 + len(word))
    elif how == 1:
        words.append(word)
    elif how == 2:
        words.insert(0, word)
    elif how == 3 and len(words) > 1:
        del words[-1]
    else:
        words.insert(1, word)
    return " ".join(words)


@settings(max_examples=80, deadline=None, database=None)
@given(pick=st.integers(0, 1000), how=st.integers(0, 4), word=st.sampled_from(["the", "please", "1", "now", "x"]))
def test_almost_admissible_commands_are_invalid_unless_admissible(mid_game, pick, how, word):
    base = mid_game.unwrapped
    before, admissible = base.engine.facts(), list(base.engine.admissible_commands)
    command = _mutate(admissible[pick % len(admissible)], how, word)
    if command in admissible:
        return  # the mutation happened to name another admissible command: nothing to check
    _, _, _, _, info = mid_game.step(command)
    assert info["action_valid"] is False and info["parsed_action"] is None
    assert base.engine.facts() == before and base.engine.admissible_commands == admissible


def test_expert_falls_back_to_the_planner_when_holding_something_else(game_files):
    env = make(game_files, "pick_clean_then_place_in_recep")
    _, info = env.reset(seed=0)
    base = env.unwrapped
    target = base.game.task.object.lower()
    for command in list(info["available_actions"]):  # pick up any object that is not a target
        if command.startswith("go to "):
            _, _, _, _, info = env.step(command)
            take = [a for a in info["available_actions"] if a.startswith("take ") and a.split()[1] != target]
            if take:
                _, _, _, _, info = env.step(take[0])
                break
    assert base.world.held and base.world.object_class[base.world.held[0]] != target
    while not (info["success"] or base.elapsed_steps >= 50):
        _, _, _, _, info = env.step(base.expert_action())
    assert info["success"] is True
