import gymnasium as gym
import numpy as np
import pytest

import vlgym  # noqa: F401
from vlgym.wrappers import DiscreteActions


def test_fixed_vocabulary_maps_indices_in_the_original_order():
    env = DiscreteActions(gym.make("vlgym/GymCards-NumberLine-v0"))
    assert env.action_space == gym.spaces.Discrete(2)
    obs, info = env.reset(seed=0)
    assert obs.shape == (300, 300, 3) and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    before = info["current"]
    _, _, _, _, info = env.step(1)  # 1 = "+"
    assert info["parsed_action"] == "+"
    assert info["current"] == min(before + 1, 5)
    assert info["action_mask"].tolist() == [1, 1]
    assert isinstance(info["text"], str)


def test_blackjack_and_points_vocabularies():
    blackjack = DiscreteActions(gym.make("vlgym/GymCards-Blackjack-v0"))
    blackjack.reset(seed=0)
    *_, info = blackjack.step(0)
    assert info["parsed_action"] == "stand"
    points = DiscreteActions(gym.make("vlgym/GymCards-Points24-v0"))
    assert points.action_space.n == 17


class _VaryingActions(gym.Wrapper):
    """A cards env that pretends its action set varies (as ALFWorld's does)."""

    def __init__(self, env):
        super().__init__(env)

    @property
    def unwrapped(self):
        return self

    action_vocabulary = None


def test_variable_actions_need_max_actions_and_out_of_range_is_invalid():
    base = gym.make("vlgym/GymCards-NumberLine-v0")
    with pytest.raises(ValueError):
        DiscreteActions(_VaryingActions(base))
    env = DiscreteActions(_VaryingActions(base), max_actions=4)
    obs, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [1, 1, 0, 0]
    after, reward, terminated, _, info = env.step(3)
    assert info["action_valid"] is False and reward == -1.0 and not terminated
    np.testing.assert_array_equal(after, obs)
    *_, info = env.step(1)
    assert info["parsed_action"] == "+"
