"""How much of NumberLine's return targets can any state value explain, as a function of the policy's accuracy?

A critic that knows only the observation can at best predict each step's return target by the mean target of
its state. This script measures that ceiling on the real env, without a model: a policy that takes the expert's
move with probability ``p`` (else the other move) plays ``--episodes`` sampled episodes of
``vlgym/GymCards-NumberLine-v0`` (the quickstart's settings), the return targets are the trainer's own GAE
(:func:`vlgym_agents.rollout.gae.gae`) with the policy's true state values (found by iterating V(s) = mean
target of s), and the ceiling is the explained variance of those targets by their state's mean. Time-limit
truncations bootstrap from the final observation's value, as in training.

    python scripts/value_ceiling.py                                   # p = 0.7 .. 1.0, the quickstart's gamma/lambda
    python scripts/value_ceiling.py --p 0.85 --gamma 0.5 0.9 --lam 0.0 0.5 0.95

>>> round(ceiling(1.0, gamma=0.5, lam=0.5, episodes=200, seed=0), 3)   # a perfect policy: targets are V(s)
1.0
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import gymnasium as gym
import numpy as np

import vlgym  # noqa: F401  (registers the ids)
from vlgym_agents.rollout.gae import gae
from vlgym_agents.train import explained_variance

ENV_ID, ENV_KWARGS = "vlgym/GymCards-NumberLine-v0", {"state_in_text": True, "image_size": 56}


def play(p: float, episodes: int, seed: int) -> list[list[tuple]]:
    """Episodes as lists of (state, reward, terminated, truncated, next state)."""
    env = gym.make(ENV_ID, **ENV_KWARGS)
    rng = np.random.default_rng(seed)
    played = []
    for k in range(episodes):
        _, info = env.reset(seed=seed * 1_000_000 + k)
        state, steps, done = (info["target"], info["current"]), [], False
        while not done:
            expert = env.unwrapped.expert_action()
            action = expert if rng.random() < p else {"+": "-", "-": "+"}[expert]
            _, reward, terminated, truncated, info = env.step(action)
            following = (info["target"], info["current"])
            steps.append((state, float(reward), terminated, truncated, following))
            state, done = following, terminated or truncated
        played.append(steps)
    env.close()
    return played


def targets(played: list[list[tuple]], values: dict, gamma: float, lam: float) -> tuple[np.ndarray, list]:
    """GAE return targets of every step, and the state each was taken in."""
    returns, states = [], []
    for steps in played:
        value = [values.get(s[0], 0.0) for s in steps]
        final = [values.get(s[4], 0.0) for s in steps]
        _, episode_returns = gae(np.array([s[1] for s in steps]), np.array(value), np.array([s[2] for s in steps]),
                                 np.array([s[3] for s in steps]), np.array(final), 0.0, gamma=gamma, lam=lam)
        returns += list(episode_returns)
        states += [s[0] for s in steps]
    return np.array(returns), states


def state_means(returns: np.ndarray, states: list) -> dict:
    groups = defaultdict(list)
    for value, state in zip(returns, states, strict=True):
        groups[state].append(value)
    return {state: float(np.mean(group)) for state, group in groups.items()}


def ceiling(p: float, *, gamma: float, lam: float, episodes: int = 5000, seed: int = 0, played=None) -> float:
    """The explained variance of the return targets by their state's mean target, with V = the policy's values."""
    played = played if played is not None else play(p, episodes, seed)
    values: dict = {}
    for _ in range(21):  # V(s) <- mean target of s: the fixed point is the policy's value (for lam < 1)
        returns, states = targets(played, values, gamma, lam)
        values = state_means(returns, states)
    return explained_variance(np.array([values[s] for s in states]), returns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--p", type=float, nargs="+", default=[0.7, 0.8, 0.85, 0.9, 0.95, 1.0],
                        help="probability of the expert's move at each step")
    parser.add_argument("--gamma", type=float, nargs="+", default=[0.5])
    parser.add_argument("--lam", type=float, nargs="+", default=[0.5])
    parser.add_argument("--episodes", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| p | success | " + " | ".join(f"γ={g}, λ={lam}" for g in args.gamma for lam in args.lam) + " |")
    print("|---" * (2 + len(args.gamma) * len(args.lam)) + "|")
    for p in args.p:
        played = play(p, args.episodes, args.seed)
        success = np.mean([steps[-1][2] for steps in played])
        cells = [f"{ceiling(p, gamma=g, lam=lam, played=played):.2f}" for g in args.gamma for lam in args.lam]
        print(f"| {p} | {success:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
