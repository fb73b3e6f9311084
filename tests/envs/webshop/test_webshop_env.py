"""vlgym/WebShop-v0 through gym.make: actions, limits, goals, expert (fast renderer; the browser has its own file)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

FAST = {"renderer": "fast", "num_products": 300, "image_size": (192, 256)}


@pytest.fixture
def env():
    env = gym.make("vlgym/WebShop-v0", **FAST)
    yield env
    env.close()


def test_registration_defaults():
    env = gym.make("vlgym/WebShop-v0", num_products=300)
    base = env.unwrapped
    assert base.renderer_name == "browser" and base._renderer is None  # the browser starts lazily
    assert env.spec.max_episode_steps == 50 and base.max_episode_steps == 50
    assert env.observation_space["image"].shape == (768, 1024, 3)
    assert base.observation_mode == "text" and base.invalid_action_penalty == 0.0
    env.close()


def test_any_typed_search_is_valid_on_the_search_page(env):
    _, info = env.reset(seed=0)
    suggestion = info["available_actions"][0]
    assert info["available_actions"] == [suggestion] and suggestion.startswith("search[")
    _, reward, terminated, _, info = env.step('{"thoughts": "go", "action": "search[Running  Shoes]"}')
    assert info["action_valid"] and info["parsed_action"] == "search[running shoes]"
    assert info["page"] == "results" and reward == 0.0 and not terminated
    assert not any(a.startswith("search[") for a in info["available_actions"])


def test_search_away_from_the_search_page_is_invalid_and_changes_nothing(env):
    env.reset(seed=0)
    obs, _, _, _, info = env.step("search[shoes]")
    again, reward, _, _, after = env.step("search[other things]")
    assert after["action_valid"] is False and reward == 0.0
    assert again["text"] == obs["text"] and np.array_equal(again["image"], obs["image"])
    assert after["available_actions"] == info["available_actions"]


def test_blank_search_runs_and_empty_search_is_invalid(env):
    """As the original: ``search[ ]`` runs (keywords ["", ""]); ``search[]`` is no action."""
    env.reset(seed=0)
    _, _, _, _, info = env.step("search[]")
    assert info["action_valid"] is False and info["page"] == "search"
    _, _, _, _, info = env.step("search[   ]")
    assert info["action_valid"] is True and info["page"] == "results"
    assert info["url"].endswith("/search_results/vlgym/+/1")


def test_contains_matching_finds_a_search_in_prose():
    env = gym.make("vlgym/WebShop-v0", action_matching="contains", **FAST)
    env.reset(seed=0)
    _, _, _, _, info = env.step("I think I should search[red shoes] now.")
    assert info["action_valid"] and info["parsed_action"] == "search[red shoes]"
    env.close()


def test_step_limit_truncates_with_zero_reward():
    env = gym.make("vlgym/WebShop-v0", max_episode_steps=4, **FAST)
    env.reset(seed=0)
    env.step("search[shoes]")
    for _ in range(2):
        _, _, _, truncated, _ = env.step("click[next >]")
        assert not truncated
    _, reward, terminated, truncated, info = env.step("click[next >]")
    assert truncated and not terminated and reward == 0.0
    assert info["success"] is False and info["score"] == 0.0 and info["available_actions"] == []
    env.close()


@pytest.mark.parametrize("direct", [False, True])
def test_default_limit_is_fifty_steps_with_or_without_gym_make(direct):
    from vlgym.envs.webshop import WebShopEnv

    env = WebShopEnv(**FAST) if direct else gym.make("vlgym/WebShop-v0", **FAST)
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step("xyzzy")
        steps += 1
        done = terminated or truncated
    assert steps == 50 and truncated
    env.close()


def test_a_longer_limit_through_gym_make():
    env = gym.make("vlgym/WebShop-v0", max_episode_steps=60, **FAST)
    env.reset(seed=0)
    for _ in range(59):
        assert env.step("xyzzy")[3] is False
    assert env.step("xyzzy")[3] is True
    env.close()


def test_purchase_reward_score_and_success(env):
    _, info = env.reset(seed=3)
    assert info["score"] == 0.0 and info["success"] is False
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        total += reward
        done = terminated or truncated
    assert terminated and info["page"] == "done"
    assert info["score"] == total == info["purchase"]["reward"]
    assert info["success"] is (info["score"] == 1.0)


def test_buying_a_wrong_option_scores_below_one(env):
    env.reset(seed=0)
    base = env.unwrapped
    while base.site.page.kind != "item":
        env.step(base.expert_action())
    goal = base.site.goal
    product = base.site.page.product
    name, wanted = next(iter(goal.goal_options.items()))
    other = next((v for v in product.options[name] if v != wanted), None)
    if other is None:
        pytest.skip("this goal's product has a single value")
    env.step(f"click[{other}]")
    _, reward, terminated, _, info = env.step("click[buy now]")
    assert terminated and reward < 1.0 and info["success"] is False


def test_goal_index_and_splits():
    env = gym.make("vlgym/WebShop-v0", split="test", **FAST)
    base = env.unwrapped
    _, info = env.reset(seed=0, options={"goal_index": 3})
    goal = base.catalog.goals[base.catalog.splits["test"][3]]
    assert base.goal_index == 3 and info["instruction"] == goal.instruction_text
    with pytest.raises(ValueError):
        env.reset(options={"goal_index": len(base.goal_indices)})
    env.close()


def test_goal_sampling_is_seeded_and_weighted(env):
    picks = [env.reset(seed=s)[1]["goal_index"] for s in range(40)]
    assert picks == [env.reset(seed=s)[1]["goal_index"] for s in range(40)]
    assert len(set(picks)) > 20


@pytest.mark.parametrize("mode", ["text_rich", "url"])
def test_observation_modes(mode):
    env = gym.make("vlgym/WebShop-v0", observation_mode=mode, **FAST)
    obs, _ = env.reset(seed=0)
    if mode == "url":
        assert obs["text"] == "http://127.0.0.1:3000/vlgym"
    else:
        # The original's search page writes "Instruction: " with a space (issue 11).
        assert obs["text"].startswith("WebShop\nInstruction: \n")
        assert obs["text"].endswith("[button] Search [button_]\n")
    env.close()


def test_choosing_a_colour_changes_the_picture():
    env = gym.make("vlgym/WebShop-v0", renderer="fast", num_products=300)
    base = env.unwrapped
    for seed in range(30):
        env.reset(seed=seed)
        goal = base.site.goal
        if len(base.catalog.by_asin[goal.asin].options.get("color", ())) > 1:
            break
    while base.site.page.kind != "item":
        env.step(base.expert_action())
    product = base.site.page.product
    first, second = product.options["color"][:2]
    a, *_ = env.step(f"click[{first}]")
    b, *_ = env.step(f"click[{second}]")
    picture = (slice(200, 440), slice(40, 300))  # the item picture's area at 1024x768
    assert not np.array_equal(a["image"][picture], b["image"][picture])
    env.close()


@pytest.mark.parametrize("kwargs", [{"renderer": "gpu"}, {"observation_mode": "html"}, {"split": "dev"},
                                    {"reward_compat": "x"}, {"nouns": "x"}, {"goal_sampling": "x"}, {"num_products": 5},
                                    {"catalog": "official"}, {"catalog": "other"}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        gym.make("vlgym/WebShop-v0", **{**FAST, **kwargs})


def test_sequential_goal_sampling_covers_the_split():
    env = gym.make("vlgym/WebShop-v0", split="eval", goal_sampling="sequential", **FAST)
    n = len(env.unwrapped.goal_indices)
    assert [env.reset(seed=s)[1]["goal_index"] for s in (0, 1, n - 1, n, n + 2)] == [0, 1, n - 1, 0, 2]
    env.close()


def test_expert_buys_the_right_product_on_goals_of_the_test_split():
    env = gym.make("vlgym/WebShop-v0", split="test", goal_sampling="sequential", **FAST)
    base = env.unwrapped
    wins = 0
    n = len(base.goal_indices)
    for index in range(n):
        env.reset(seed=index)
        assert base.goal_index == index
        done, steps = False, 0
        while not done:
            _, _, terminated, truncated, info = env.step(base.expert_action())
            done, steps = terminated or truncated, steps + 1
        assert terminated and steps <= 12
        wins += info["success"]
    env.close()
    assert n >= 100 and wins / n >= 0.95


def test_bench_against_the_pictureless_shop():
    from vlgym.bench import bench_against_raw

    ours, raw = bench_against_raw("vlgym/WebShop-v0", seconds=0.4, rounds=2, env_kwargs=FAST)
    assert ours.steps > 0 and raw.steps > 0 and raw.steps_per_s > ours.steps_per_s > 0


def test_official_catalogue_with_human_goals_through_gym_make(tmp_path):
    """The released layout (written here from our generator, human instructions with value-list options):
    the env loads it, and the expert buys the right product."""
    import json

    from vlgym.envs.webshop.synthetic import SyntheticCatalog

    raw = SyntheticCatalog(120, 5)
    (tmp_path / "items_shuffle_1000.json").write_text(json.dumps(raw.items))
    (tmp_path / "items_ins_v2_1000.json").write_text(json.dumps(raw.attributes))
    human = {}
    for record in raw.items:
        info = raw.attributes[record["asin"]]
        if "instruction" in info:
            values = [entries[0]["value"].lower() for entries in (record["customization_options"] or {}).values()]
            human[record["asin"]] = [{"asin": record["asin"], "instruction": info["instruction"] + ".",
                                      "instruction_attributes": info["instruction_attributes"],
                                      "instruction_options": values}]
    (tmp_path / "items_human_ins.json").write_text(json.dumps(human))
    env = gym.make("vlgym/WebShop-v0", catalog="official", data_path=str(tmp_path), num_products=0,
                   renderer="fast", image_size=(96, 128), goal_sampling="sequential")
    base = env.unwrapped
    assert len(base.goal_indices) == len(human)
    wins = 0
    for seed in range(len(human)):
        _, info = env.reset(seed=seed)
        assert "." not in info["instruction"].split(", and price")[0][-1:]
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(base.expert_action())
            done = terminated or truncated
        wins += info["success"]
    env.close()
    assert wins / len(human) >= 0.95, (wins, len(human))
