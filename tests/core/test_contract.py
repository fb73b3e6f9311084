"""The environment contract (docs/design.md, "The environment contract"), checked for every registered id."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import testkit
from gymnasium.utils.env_checker import check_env
from testkit import make, policy_action

import vlgym
from vlgym.core.base import INFO_KEYS
from vlgym.envs.cards.formula import solutions

IDS = testkit.IDS
CARD_IDS = list(vlgym.list_envs("cards"))
#: The first id of every family, for the checks that are too slow to run on every id.
FAMILY_IDS = list({testkit.env_family(env_id): env_id for env_id in reversed(IDS)}.values())
NOT_AN_ACTION = "xyzzy: definitely not an action"
STATE_KEYS_IGNORED = {"action_valid", "parsed_action", "parse_reason", "parse_failure", "feedback"}


def expert(env) -> str:
    return policy_action(env)


def run_expert_episode(env, seed: int, max_steps: int = 2000):
    """Reset with ``seed`` and follow the expert; returns (return, steps, last info)."""
    _, info = env.reset(seed=seed)
    total, steps = 0.0, 0
    while steps < max_steps:
        _, reward, terminated, truncated, info = env.step(expert(env))
        total += reward
        steps += 1
        if terminated or truncated:
            return total, steps, info
    raise AssertionError(f"episode with seed {seed} did not end in {max_steps} steps")


def assert_observation(env, obs) -> None:
    assert isinstance(obs, dict) and set(obs) == {"image", "text"}
    image = obs["image"]
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[2] == 3
    assert image.shape == env.observation_space["image"].shape
    assert isinstance(obs["text"], str)
    assert env.observation_space.contains(obs)


def assert_info(info) -> None:
    for key in INFO_KEYS:
        assert key in info, key
    assert isinstance(info["instruction"], str) and info["instruction"].strip()
    assert isinstance(info["available_actions"], list)
    assert all(isinstance(a, str) and a for a in info["available_actions"])
    assert isinstance(info["action_valid"], bool)
    assert info["parsed_action"] is None or isinstance(info["parsed_action"], str)
    assert isinstance(info["parse_reason"], str) and info["parse_reason"]
    assert isinstance(info["parse_failure"], bool) and not (info["parse_failure"] and info["action_valid"])
    assert isinstance(info["feedback"], str)
    assert isinstance(info["success"], bool)
    assert isinstance(info["score"], float) and 0.0 <= info["score"] <= 1.0


def state_of(info) -> dict:
    return {k: v for k, v in info.items() if k not in STATE_KEYS_IGNORED}


def test_catalogue_lists_the_card_games():
    games = ("NumberLine", "EZPoints", "Points24", "Blackjack")
    assert set(CARD_IDS) == {f"vlgym/GymCards-{game}-v0" for game in games}
    assert set(CARD_IDS) <= set(IDS)
    for env_id in CARD_IDS:
        assert vlgym.list_envs("cards")[env_id]
        assert env_id in gym.registry


# ------------------------------------------------------------------------------------ gymnasium checks
@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    env = make(env_id, render_mode="rgb_array")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    env.close()
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("env_id", IDS)
def test_observation_and_info_schema(make_env, env_id):
    env = make_env(env_id)
    assert isinstance(env.action_space, gym.spaces.Text)
    assert isinstance(env.observation_space, gym.spaces.Dict)
    assert isinstance(env.observation_space["text"], gym.spaces.Text)
    if env_id in CARD_IDS:
        assert env.observation_space["image"].shape == (300, 300, 3)  # the documented default
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        assert_observation(env, obs)
        assert_info(info)
        assert info["action_valid"] is True and info["parsed_action"] is None
        assert info["success"] is False
        assert info["available_actions"]
        done = False
        while not done:
            action = expert(env)
            assert action in info["available_actions"]
            obs, reward, terminated, truncated, info = env.step(action)
            assert_observation(env, obs)
            assert_info(info)
            assert isinstance(reward, float)
            assert isinstance(terminated, bool) and isinstance(truncated, bool)
            assert info["action_valid"] is True and info["parsed_action"] == action
            done = terminated or truncated
        assert info["available_actions"] == []


@pytest.mark.parametrize("env_id", CARD_IDS)
def test_image_size_argument(make_env, env_id):
    env = make_env(env_id, image_size=(120, 200))
    obs, _ = env.reset(seed=0)
    assert obs["image"].shape == (120, 200, 3)
    assert env.observation_space["image"].shape == (120, 200, 3)
    obs, *_ = env.step(expert(env))
    assert obs["image"].shape == (120, 200, 3)


# --------------------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_episode(make_env, env_id):
    a, b = make_env(env_id), make_env(env_id)
    for seed in (0, 7, 123):
        obs_a, info_a = a.reset(seed=seed)
        obs_b, info_b = b.reset(seed=seed)
        assert np.array_equal(obs_a["image"], obs_b["image"]) and obs_a["text"] == obs_b["text"]
        assert state_of(info_a) == state_of(info_b)
        done = False
        while not done:
            action = expert(a)
            assert expert(b) == action
            obs_a, r_a, t_a, tr_a, info_a = a.step(action)
            obs_b, r_b, t_b, tr_b, info_b = b.step(action)
            assert np.array_equal(obs_a["image"], obs_b["image"])
            assert obs_a["text"] == obs_b["text"]
            assert (r_a, t_a, tr_a) == (r_b, t_b, tr_b)
            assert state_of(info_a) == state_of(info_b)
            done = t_a or tr_a


@pytest.mark.parametrize("env_id", IDS)
def test_seeds_matter(make_env, env_id):
    env = make_env(env_id)
    firsts = []
    for seed in range(8):
        obs, _ = env.reset(seed=seed)
        firsts.append(obs["image"].tobytes())
    assert len(set(firsts)) > 1


# ------------------------------------------------------------------------------------------- render
@pytest.mark.parametrize("env_id", IDS)
def test_render_rgb_array_returns_the_image(make_env, env_id):
    env = make_env(env_id, render_mode="rgb_array")
    obs, _ = env.reset(seed=1)
    assert np.array_equal(env.render(), obs["image"])
    for _ in range(2):
        obs, _, terminated, truncated, _ = env.step(expert(env))
        frame = env.render()
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
        assert np.array_equal(frame, obs["image"])
        if terminated or truncated:
            break
    plain = make_env(env_id)
    plain.reset(seed=1)
    assert plain.render() is None


# ----------------------------------------------------------------------------------- invalid actions
def assert_invalid_step_changes_nothing(env, before_obs, before_info, action, penalty):
    obs, reward, terminated, truncated, info = env.step(action)
    assert reward == -penalty
    assert (terminated, truncated) == (False, False)
    assert info["action_valid"] is False
    assert info["parsed_action"] is None
    assert isinstance(info["parse_reason"], str) and info["parse_reason"].strip()
    assert info["feedback"]
    assert np.array_equal(obs["image"], before_obs["image"])
    assert obs["text"] == before_obs["text"]
    assert state_of(info) == state_of(before_info)
    return obs, info


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("penalty", [None, 0.25, 0.0])
def test_invalid_action_leaves_the_state_unchanged(make_env, env_id, penalty):
    kwargs = {} if penalty is None else {"invalid_action_penalty": penalty}
    env = make_env(env_id, **kwargs)
    if penalty is not None:
        expected_penalty = penalty
    elif env_id in CARD_IDS:
        expected_penalty = 1.0  # the documented default of the card games
    else:
        expected_penalty = type(env.unwrapped).default_invalid_action_penalty
    assert env.unwrapped.invalid_action_penalty == expected_penalty
    obs, info = env.reset(seed=5)
    for action in (NOT_AN_ACTION, "", None, {"action": None}):
        obs, info = assert_invalid_step_changes_nothing(env, obs, info, action, expected_penalty)
    # Mid-episode too, when the first expert move does not end the episode.
    obs, _, terminated, truncated, info = env.step(expert(env))
    if not (terminated or truncated):
        assert_invalid_step_changes_nothing(env, obs, info, NOT_AN_ACTION, expected_penalty)


@pytest.mark.parametrize("env_id", IDS)
def test_huge_integer_action_is_invalid_not_an_exception(make_env, env_id):
    env = make_env(env_id)
    obs, info = env.reset(seed=0)
    assert_invalid_step_changes_nothing(env, obs, info, 10**5000, env.unwrapped.invalid_action_penalty)


@pytest.mark.parametrize("env_id", IDS)
def test_invalid_action_terminate_mode(make_env, env_id):
    env = make_env(env_id, invalid_action="terminate", invalid_action_penalty=2.0)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(NOT_AN_ACTION)
    assert (reward, terminated, truncated) == (-2.0, True, False)
    assert info["action_valid"] is False and info["success"] is False
    with pytest.raises(gym.error.ResetNeeded):
        env.unwrapped.step(expert(env))
    # A valid action is still played normally in this mode.
    env.reset(seed=0)
    _, _, _, _, info = env.step(expert(env))
    assert info["action_valid"] is True


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"invalid_action": "x"},
        {"action_matching": "x"},
        {"invalid_action_penalty": -1.0},
        {"invalid_action_penalty": float("nan")},
        {"image_size": 8},
    ],
)
def test_bad_constructor_arguments_raise(env_id, kwargs):
    with pytest.raises(ValueError):
        gym.make(env_id, **kwargs)


@pytest.mark.parametrize("env_id", IDS)
def test_step_before_reset_raises(env_id):
    env = make(env_id)
    with pytest.raises(gym.error.ResetNeeded):
        env.unwrapped.step(NOT_AN_ACTION)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(NOT_AN_ACTION)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_step_after_the_end_raises(env_id):
    env = make(env_id)
    run_expert_episode(env, seed=0)
    with pytest.raises(gym.error.ResetNeeded):
        env.unwrapped.step(expert(env))
    env.close()


# ---------------------------------------------------------------------------------- model-style output
@pytest.mark.parametrize("env_id", IDS)
def test_json_and_prose_forms_play_the_same_move(make_env, env_id):
    plain, wrapped = make_env(env_id), make_env(env_id, action_matching="contains")
    plain.reset(seed=2)
    wrapped.reset(seed=2)
    action = expert(plain)
    forms = [
        f'{{"thoughts": "I will play {{it}}.", "action": "{action}"}}',
        f'```json\n{{"thoughts": "...", "action": "{action}"}}\n```',
    ]
    for text in forms:
        probe = make_env(env_id)
        probe.reset(seed=2)
        _, _, _, _, info = probe.step(text)
        assert info["action_valid"] is True and info["parsed_action"] == action
    obs_a, r_a, *_ = plain.step(action)
    obs_b, r_b, _, _, info = wrapped.step(f"I will pick {action} now")
    assert info["parsed_action"] == action
    assert r_a == r_b and np.array_equal(obs_a["image"], obs_b["image"])


# ------------------------------------------------------------------------------------------- vectors
def make_fns():
    return [lambda env_id=env_id: gym.make(env_id) for env_id in CARD_IDS]


def test_one_env_of_every_family_steps_in_an_async_vector_env_as_alone():
    """Every family works in AsyncVectorEnv, with what the single env gives for the same seed and actions."""
    size = {"image_size": (96, 128)}  # one observation space for all
    fns = [lambda env_id=env_id: testkit.make(env_id, **size) for env_id in FAMILY_IDS]
    # forkserver: this process may render with OpenGL already (MiniWorld), which a forked worker must not inherit
    envs = gym.vector.AsyncVectorEnv(fns, shared_memory=False, context="forkserver")
    singles = [testkit.make(env_id, **size) for env_id in FAMILY_IDS]
    try:
        obs, _ = envs.reset(seed=0)
        for i, env in enumerate(singles):
            single_obs, _ = env.reset(seed=i)
            assert np.array_equal(obs["image"][i], single_obs["image"]) and obs["text"][i] == single_obs["text"]
        done = False
        for _ in range(3):
            actions = tuple(policy_action(env) for env in singles)
            obs, rewards, terminated, truncated, _ = envs.step(actions)
            for i, env in enumerate(singles):
                single_obs, reward, term, trunc, _ = env.step(actions[i])
                assert np.array_equal(obs["image"][i], single_obs["image"]) and obs["text"][i] == single_obs["text"]
                assert (rewards[i], terminated[i], truncated[i]) == (reward, term, trunc), FAMILY_IDS[i]
                done = done or term or trunc
            if done:  # the vector env resets that sub-env on its next step
                break
    finally:
        envs.close()
        for env in singles:
            env.close()


@pytest.mark.parametrize("kind", ["sync", "async", "async-no-shared-memory"])
def test_vector_envs_match_single_envs(kind):
    """Vector envs step with text actions, autoreset, and give what the single envs give."""
    if kind == "sync":
        envs = gym.vector.SyncVectorEnv(make_fns())
    elif kind == "async":
        envs = gym.vector.AsyncVectorEnv(make_fns())
    else:
        envs = gym.vector.AsyncVectorEnv(make_fns(), shared_memory=False)
    singles = [gym.make(env_id) for env_id in CARD_IDS]
    try:
        obs, infos = envs.reset(seed=0)
        assert obs["image"].shape == (4, 300, 300, 3) and obs["image"].dtype == np.uint8
        expected = [env.reset(seed=i) for i, env in enumerate(singles)]
        for i, (single_obs, _) in enumerate(expected):
            assert np.array_equal(obs["image"][i], single_obs["image"])
            got = obs["text"][i]
            assert got == single_obs["text"], (
                f"sub-env {i}: text {got[:20]!r}... ({len(got)} chars), expected {single_obs['text']!r}"
            )
        ended = [False] * 4
        resets = [0] * 4
        for _ in range(25):
            actions = tuple(envs.call("expert_action"))
            assert all(isinstance(a, str) for a in actions)
            obs, rewards, terminated, truncated, infos = envs.step(actions)
            for i, env in enumerate(singles):
                if ended[i]:  # next-step autoreset: this step only resets sub-env i
                    single_obs, _ = env.reset()
                    single = (single_obs, 0.0, False, False)
                    assert infos["parse_reason"][i] == "reset"
                    resets[i] += 1
                else:
                    single_obs, reward, term, trunc, _ = env.step(actions[i])
                    single = (single_obs, reward, term, trunc)
                    assert infos["action_valid"][i]
                    assert infos["parsed_action"][i] == actions[i]
                assert np.array_equal(obs["image"][i], single[0]["image"])
                got = obs["text"][i]
                assert got == single[0]["text"], (
                    f"sub-env {i}: text {got[:20]!r}... ({len(got)} chars), expected {single[0]['text']!r}"
                )
                assert (rewards[i], terminated[i], truncated[i]) == single[1:]
                ended[i] = bool(terminated[i] or truncated[i])
        assert all(n >= 1 for n in resets), resets
    finally:
        envs.close()
        for env in singles:
            env.close()


# ------------------------------------------------------------------------------------------- experts
def test_expert_numberline_always_wins():
    env = gym.make("vlgym/GymCards-NumberLine-v0")
    for seed in range(200):
        _, info = env.reset(seed=seed)
        distance = abs(info["target"] - info["current"])
        total, steps, info = run_expert_episode(env, seed)
        assert info["success"] is True and info["score"] == 1.0
        assert total == 1.0 and steps == distance  # every move closer (0), then +1
    env.close()


def test_expert_ezpoints_always_wins():
    env = gym.make("vlgym/GymCards-EZPoints-v0")
    for seed in range(200):
        total, steps, info = run_expert_episode(env, seed)
        assert info["success"] is True and info["score"] == 1.0
        assert total == 10.0 and steps == 4  # number, operator, number, "="
    env.close()


def test_expert_points24_wins_every_solvable_hand():
    env = gym.make("vlgym/GymCards-Points24-v0", image_size=64)  # the expert reads the state, not the picture
    wins = 0
    for seed in range(200):
        env.reset(seed=seed)
        solvable = bool(solutions(env.unwrapped.numbers, 24))
        total, _, info = run_expert_episode(env, seed)
        assert info["success"] is solvable, (seed, env.unwrapped.numbers)
        assert total == (10.0 if solvable else -1.0)
        wins += info["success"]
    env.close()
    assert wins >= 140


def test_expert_blackjack_win_rate():
    env = gym.make("vlgym/GymCards-Blackjack-v0")
    wins = draws = 0
    episodes = 2000
    for seed in range(episodes):
        total, _, info = run_expert_episode(env, seed)
        assert info["success"] is (total > 0)
        wins += total > 0
        draws += total == 0
    env.close()
    # Hit/stand basic strategy, dealer stands on soft 17: ~43% wins, ~9% draws (sd of the rate ~1.1%).
    assert 0.38 <= wins / episodes <= 0.50
    assert 0.04 <= draws / episodes <= 0.14
