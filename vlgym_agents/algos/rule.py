"""A learning rule as one object: everything the trainer needs to know that differs between algorithms.

In the spirit of TorchRL's ``LossModule`` owning its value estimator, a rule says

- whether it uses a critic (``uses_critic``) and whether the value loss's gradient reaches the backbone
  (``value_gradient_to_backbone``);
- how many envs play each same-seed group (``group_size``), how many updates warm up the value
  (``warmup_updates``) and how strongly it pulls toward the frozen model (``kl_beta``), all read from its
  settings block;
- how a rollout becomes per-step advantages and returns (:meth:`Rule.advantages`: GAE by default; a rule may keep
  steps back, as LOOP does until a group's episodes have all ended);
- which extra token masks its loss reads (:meth:`Rule.token_masks`, e.g. RL4VLM's thought/action split);
- its loss (``loss_function``, a plain function next to its equation) and extra metrics (:meth:`Rule.metrics`).

The trainer calls only these; it names no algorithm. Rules are registered by name in
:mod:`vlgym_agents.algos.registry`; docs/new_algorithm.md adds one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from vlgym_agents.algos.registry import rule_class
from vlgym_agents.rollout.gae import assign_advantages

if TYPE_CHECKING:
    import torch

    from vlgym_agents.algos.batch import StepBatch
    from vlgym_agents.config import AlgoSettings
    from vlgym_agents.rollout.types import Rollout, StepRecord


class Rule:
    """Base rule: a critic, GAE advantages, no extra masks, no extra metrics. Subclasses set ``loss_function``."""

    uses_critic: ClassVar[bool] = True
    value_gradient_to_backbone: ClassVar[bool] = False
    #: ``(StepBatch, settings, *, warmup: bool) -> (loss tensor, dict of float stats)``
    loss_function: ClassVar[Callable[..., tuple[Any, dict[str, float]]]]

    def __init__(self, algo: AlgoSettings):
        self.algo = algo
        self.settings = algo.settings

    @property
    def group_size(self) -> int:
        return self.algo.group_size

    @property
    def warmup_updates(self) -> int:
        return int(getattr(self.settings, "warmup_updates", 0))

    @property
    def kl_beta(self) -> float:
        return float(getattr(self.settings, "kl_beta", 0.0))

    def advantages(self, rollout: Rollout) -> list[StepRecord]:
        """The steps to train on now, with ``advantage`` and ``ret`` set: GAE over each env's stream."""
        return assign_advantages(rollout, self.algo.gamma, self.algo.gae_lambda)

    def token_masks(self, tokenizer, records: Sequence[StepRecord]) -> list[torch.Tensor] | None:
        """One bool mask per record over its generated tokens, passed as ``StepBatch.action_mask``; None: none."""
        return None

    def loss(self, batch: StepBatch, *, warmup: bool) -> tuple[torch.Tensor, dict[str, float]]:
        return type(self).loss_function(batch, self.settings, warmup=warmup)

    def metrics(self) -> dict[str, float]:
        """Extra numbers for the update's log row."""
        return {}


def make_rule(algo: AlgoSettings) -> Rule:
    """The rule ``algo.name`` names, configured by its settings block.

    >>> from vlgym_agents.config import load_config
    >>> rule = make_rule(load_config("numberline", ["algo.name=rl4vlm"]).algo)
    >>> type(rule).__name__, rule.uses_critic, rule.value_gradient_to_backbone, rule.warmup_updates
    ('RL4VLM', True, True, 2)
    """
    return rule_class(algo.name)(algo)
