"""LOOP (Chen et al. 2025, arXiv 2502.01600): leave-one-out PPO, no value network.

K episodes of the same task (the same seed: a *group*, see the collector's ``group_size``) are played; each
episode's advantage is its return minus the mean return of the other K−1, and every token of every step of
that episode gets it:

    A_i      = R_i − (1/(K−1)) Σ_{j≠i} R_j  =  K/(K−1) · (R_i − mean_j R_j),     R_i = Σ_t r_t (undiscounted)
    L_policy = −mean_t [ (1/n_t) Σ_i min(r_{t,i} A, clip(r_{t,i}, 1−ε, 1+ε) A) ]            (token-level clipping)
    L        =  L_policy + β L_KL                                        (the same k3 KL to the frozen model)

Episodes cross rollout boundaries: a group's envs run freely (each starts the group's next episode as soon as
its own ends), so at the end of a rollout some group episodes are unfinished. Their steps wait in
:class:`EpisodeGroups` and are trained on in the first update after the group's last episode ends (their
old log-probs are those they were sampled with, so the PPO ratio stays the right importance weight). A group
episode that can no longer finish (its envs were restarted after a worker died) is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vlgym_agents.algos.batch import StepBatch
from vlgym_agents.algos.rule import Rule
from vlgym_agents.algos.settings import LOOPSettings
from vlgym_agents.algos.vldac import token_ppo_actor
from vlgym_agents.rollout.types import Rollout, StepRecord


def leave_one_out(returns: Sequence[float]) -> list[float]:
    """R_i minus the mean of the other returns of the group.

    >>> leave_one_out([3.0, 1.0, 2.0])
    [1.5, -1.5, 0.0]
    """
    k = len(returns)
    if k < 2:
        raise ValueError("a leave-one-out baseline needs at least 2 episodes per group")
    total = sum(returns)
    return [r - (total - r) / (k - 1) for r in returns]


def loop_loss(batch: StepBatch, settings: LOOPSettings, *, warmup: bool = False) -> tuple[torch.Tensor, dict]:
    """LOOP's loss (``batch.values``/``returns`` are ignored; ``warmup`` has nothing to warm up)."""
    policy_loss, kl, stats = token_ppo_actor(batch, settings.clip_eps)
    loss = policy_loss + settings.kl_beta * kl
    return loss, {"loss": loss.item(), **stats}


class EpisodeGroups:
    """Steps wait here until all K episodes of their group have ended; then they get their advantages."""

    def __init__(self, group_size: int):
        self.group_size = group_size
        self.pending: dict[int, dict[int, list[StepRecord]]] = {}  # seed -> env index -> that episode's steps
        self.dropped_steps = 0

    def add(self, rollout: Rollout) -> list[StepRecord]:
        """Take a rollout's steps; return every step whose group episode is now complete, advantages set."""
        for env, stream in enumerate(rollout.steps):
            for record in stream:
                self.pending.setdefault(record.seed, {}).setdefault(env, []).append(record)
        ready: list[StepRecord] = []
        for seed, episodes in list(self.pending.items()):
            ended = [steps for steps in episodes.values() if steps[-1].terminated or steps[-1].truncated]
            if len(ended) == self.group_size:
                returns = [sum(r.reward for r in steps) for steps in ended]
                for steps, ret, advantage in zip(ended, returns, leave_one_out(returns), strict=True):
                    for record in steps:
                        record.advantage, record.ret = advantage, ret
                    ready += steps
                del self.pending[seed]
            elif seed not in rollout.open_seeds:
                self.dropped_steps += sum(len(steps) for steps in episodes.values())
                del self.pending[seed]
        return ready

    @property
    def pending_steps(self) -> int:
        return sum(len(steps) for episodes in self.pending.values() for steps in episodes.values())


class LOOP(Rule):
    """LOOP: no critic; leave-one-out advantages over groups of K same-seed episodes, which may wait for their
    group across rollouts (:class:`EpisodeGroups`)."""

    uses_critic = False
    value_gradient_to_backbone = False
    loss_function = loop_loss

    def __init__(self, algo):
        super().__init__(algo)
        self.groups = EpisodeGroups(self.group_size)

    def advantages(self, rollout: Rollout) -> list[StepRecord]:
        return self.groups.add(rollout)

    def metrics(self) -> dict[str, float]:
        return {"pending_steps": self.groups.pending_steps, "dropped_steps": self.groups.dropped_steps}
