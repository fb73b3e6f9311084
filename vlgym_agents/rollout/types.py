"""What a rollout is made of: one record per environment step, and the rollout that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from vlgym.eval import EpisodeResult
    from vlgym_agents.policy.vlm import Prompt


@dataclass
class StepRecord:
    """One environment step as the update needs it."""

    prompt: Prompt
    tokens: torch.Tensor  # (n,) generated ids up to and including end-of-turn
    old_log_probs: torch.Tensor  # (n,)
    ref_log_probs: torch.Tensor  # (n,)
    value: float
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    final_value: float = 0.0  # V(final observation) when truncated
    seed: int = -1  # the episode's seed (with groups: shared by the group's K episodes)
    advantage: float = 0.0  # set by the rule (GAE, leave-one-out, ...)
    ret: float = 0.0  # the step's return target, set by the rule
    policy_version: int = 0  # updates done when it was sampled: old_log_probs are that (behaviour) policy's


@dataclass
class Rollout:
    """T consecutive steps of each env (``steps[i]``), V of the observation after each stream, finished episodes."""

    steps: list[list[StepRecord]]
    last_values: list[float]
    episodes: list[EpisodeResult] = field(default_factory=list)
    episode_envs: list[str] = field(default_factory=list)  # the env id of each finished episode
    generated_tokens: int = 0
    format_failures: int = 0  # answers that were not a JSON object with an "action" field (the prompt's format)
    worker_restarts: int = 0
    worker_timeouts: int = 0  # of the restarts, those for a worker that hung (env.step_timeout/reset_timeout)
    open_seeds: set[int] = field(default_factory=set)  # group episodes some env has still to finish
    async_groups: int = 1  # env groups that took turns (rollout.mode async: 1 or 2; sync: 1)

    def staleness(self, version: int) -> int:
        """How many updates the oldest step's sampling policy is behind ``version`` (0: all on-policy)."""
        return max((version - r.policy_version for s in self.steps for r in s), default=0)
