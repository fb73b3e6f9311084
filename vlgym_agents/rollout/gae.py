"""Generalised advantage estimation at the level of environment steps.

Each step t of one environment's stream stores: reward r_t, value V(s_t), whether the episode ended there by
termination (the MDP ended: no future) or by truncation (a time limit or a lost worker: the future exists but
was cut), and, for truncations, the value of the observation the episode was cut at, V(s_{t+1}^final).

    δ_t = r_t + γ · next_value_t · (1 − terminated_t) − V(s_t)
    next_value_t = V(s_{t+1}^final) if truncated_t, else V(s_{t+1})
    A_t = δ_t + γ λ · (1 − done_t) · A_{t+1},     R_t = A_t + V(s_t)

Time-limit truncations bootstrap from the value of the final observation, and the reward of that step
(a failure penalty, for instance) is kept: the authors' code zeroes the whole step at a time-out, which
silently drops such a penalty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vlgym_agents.rollout.types import Rollout, StepRecord


def gae(rewards: np.ndarray, values: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
        final_values: np.ndarray, last_value: float, *, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and returns for one environment's T consecutive steps.

    ``final_values[t]`` is read only where ``truncated[t]``; ``last_value`` is V(s_T), the observation after the
    last stored step (the episode continues into the next rollout).

    >>> advantages, returns = gae(np.array([0.0, 1.0]), np.array([0.5, 0.5]), np.array([False, True]),
    ...                           np.array([False, False]), np.zeros(2), 0.0, gamma=1.0, lam=1.0)
    >>> advantages.tolist(), returns.tolist()
    ([0.5, 0.5], [1.0, 1.0])
    """
    steps = len(rewards)
    advantages = np.zeros(steps, dtype=np.float64)
    next_advantage, next_value = 0.0, float(last_value)
    for t in reversed(range(steps)):
        if terminated[t]:
            bootstrap, next_advantage = 0.0, 0.0
        elif truncated[t]:
            bootstrap, next_advantage = float(final_values[t]), 0.0
        else:
            bootstrap = next_value
        delta = rewards[t] + gamma * bootstrap - values[t]
        advantages[t] = next_advantage = delta + gamma * lam * next_advantage
        next_value = values[t]
    return advantages, advantages + np.asarray(values, dtype=np.float64)


def assign_advantages(rollout: Rollout, gamma: float, lam: float) -> list[StepRecord]:
    """GAE per env stream of a rollout: sets each record's ``advantage`` and ``ret``; returns them all, flattened."""
    records = []
    for stream, last_value in zip(rollout.steps, rollout.last_values, strict=True):
        if not stream:
            continue
        advantages, returns = gae(np.array([r.reward for r in stream]), np.array([r.value for r in stream]),
                                  np.array([r.terminated for r in stream]), np.array([r.truncated for r in stream]),
                                  np.array([r.final_value for r in stream]), last_value, gamma=gamma, lam=lam)
        for record, advantage, ret in zip(stream, advantages, returns, strict=True):
            record.advantage, record.ret = float(advantage), float(ret)
        records += stream
    return records
