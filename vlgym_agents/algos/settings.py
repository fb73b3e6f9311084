"""The settings blocks of the built-in rules (``algo.vldac``, ``algo.rl4vlm``, ``algo.loop`` in a config).

They live apart from the losses so that reading a config imports no torch. Besides its own knobs, a rule's
settings may carry the fields the trainer reads through the rule: ``kl_beta`` (weight of the KL to the frozen
model; absent: 0), ``warmup_updates`` (updates that train only the value; absent: 0) and ``group_size`` (envs
per group of same-seed episodes; absent: 1).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RuleSettings(BaseModel):
    """Base of every rule's settings block: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class VLDACSettings(RuleSettings):
    """The paper's knobs (Table 6 defaults)."""

    clip_eps: float = Field(0.1, gt=0, lt=1)
    value_coef: float = Field(0.15, ge=0)
    kl_beta: float = Field(0.05, ge=0)
    warmup_updates: int = Field(2, ge=0, description="updates that train only the value head")


class RL4VLMSettings(RuleSettings):
    """λ (``thought_coef``) and the PPO knobs; the stabilisers default to VL-DAC's, as the VL-DAC paper ran it."""

    thought_coef: float = Field(0.5, ge=0, le=1, description="λ: weight of the thought tokens' log-prob")
    clip_eps: float = Field(0.1, gt=0, lt=1)
    value_coef: float = Field(0.15, ge=0)
    kl_beta: float = Field(0.05, ge=0, description="0 for the original RL4VLM (no KL term)")
    warmup_updates: int = Field(2, ge=0, description="updates that train only the value (0 for the original)")


class LOOPSettings(RuleSettings):
    """K and the PPO knobs; no value network, so nothing to warm up."""

    group_size: int = Field(4, ge=2, description="K: episodes per task (envs per group)")
    clip_eps: float = Field(0.1, gt=0, lt=1)
    kl_beta: float = Field(0.05, ge=0)
