"""DiscreteActions makes a vlgym env trainable by a classic RL library's own PPO."""

import gymnasium as gym
import numpy as np
import stable_baselines3 as sb3
import torch
from stable_baselines3.common.env_checker import check_env

import vlgym  # noqa: F401
from vlgym.wrappers import DiscreteActions


def make():
    # 32x32 pixels keep the markers visible and the MLP small; the digits need not be legible.
    return DiscreteActions(gym.make("vlgym/GymCards-NumberLine-v0", image_size=32))


def mean_return(policy, seeds) -> float:
    env = make()
    returns = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def test_sb3_ppo_learns_numberline_from_pixels(tmp_path, monkeypatch):
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path / "sb3"))  # SB3 makes a log folder, by default in /tmp
    torch.set_num_threads(1)
    check_env(make())
    model = sb3.PPO("MlpPolicy", make(), n_steps=512, batch_size=64, learning_rate=3e-4, seed=0, verbose=0)
    rng = np.random.default_rng(0)
    seeds = range(10_000, 10_200)
    random_return = mean_return(lambda obs: int(rng.integers(2)), seeds)
    model.learn(8_000)
    trained_return = mean_return(lambda obs: int(model.predict(obs, deterministic=True)[0]), seeds)
    # Random play averages about -2.7; a policy that reads the markers gets close to +1.
    assert trained_return > random_return + 2.0, (random_return, trained_return)
