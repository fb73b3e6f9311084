import math

import pytest

import vlgym  # noqa: F401
from vlgym.eval import bootstrap_interval, evaluate, wilson_interval


def test_wilson_interval_against_hand_computed_values():
    # 8/10 at z = 1.96: centre (0.8 + 0.19208) / 1.38416 = 0.71676; half 0.22632 (worked by hand).
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 50)[0] == 0.0 and wilson_interval(50, 50)[1] == 1.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = [0.0, 1.0] * 50
    low, high = bootstrap_interval(values)
    assert low < 0.5 < high and high - low < 0.3
    assert bootstrap_interval(values) == (low, high)
    assert bootstrap_interval([1.0, 1.0]) == (1.0, 1.0)


def test_expert_beats_random_and_results_reproduce():
    expert = evaluate("vlgym/GymCards-EZPoints-v0", "expert", episodes=30, seed=5)
    random_ = evaluate("vlgym/GymCards-EZPoints-v0", "random", episodes=30, seed=5)
    assert expert.success_rate == 1.0 and random_.success_rate < 0.5
    assert [e.seed for e in expert.episodes] == list(range(5, 35))
    again = evaluate("vlgym/GymCards-EZPoints-v0", "random", episodes=30, seed=5)
    assert again.to_dict() == random_.to_dict()
    summary = random_.summary()
    assert summary["success_ci95"][0] <= summary["success_rate"] <= summary["success_ci95"][1]


def test_callable_agent_and_invalid_action_rate():
    result = evaluate("vlgym/GymCards-NumberLine-v0", lambda obs, info: "fly", episodes=3)
    assert result.agent == "<lambda>"
    assert result.summary()["invalid_action_rate"] == 1.0
    assert result.success_rate == 0.0  # NumberLine truncates after 10 steps, invalid ones included
    assert all(e.length == 10 for e in result.episodes)


def test_unknown_agent_name_is_an_error():
    with pytest.raises(ValueError, match="unknown agent"):
        evaluate("vlgym/GymCards-NumberLine-v0", "genius", episodes=1)
