"""What a loss sees: a minibatch of stored steps as tensors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass
class StepBatch:
    """What the loss needs about a minibatch of B steps with up to T generated tokens each."""

    log_probs: torch.Tensor  # (B, T) under the current policy (with gradients)
    old_log_probs: torch.Tensor  # (B, T) at collection time
    ref_log_probs: torch.Tensor  # (B, T) under the frozen reference
    token_mask: torch.Tensor  # (B, T) bool: real generated tokens
    advantages: torch.Tensor  # (B,) per-step advantages from the rule (already normalised if configured)
    values: torch.Tensor  # (B,) current value predictions (with gradients on the head; zeros without a critic)
    returns: torch.Tensor  # (B,) per-step returns from the rule
    action_mask: torch.Tensor | None = None  # (B, T) bool: the answer's action tokens (rules that ask for them)


def normalize_advantages(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero mean, unit variance over the rollout (a single step keeps its centred value of 0)."""
    if advantages.numel() < 2:
        return advantages - advantages.mean()
    return (advantages - advantages.mean()) / (advantages.std() + eps)
