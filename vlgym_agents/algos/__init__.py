"""Learning rules as loss functions over a batch of stored steps: VL-DAC, and the RL4VLM and LOOP baselines.

Each rule is a settings model (with class-level flags the trainer reads: ``uses_critic``,
``value_gradient_to_backbone``, ``warmup_updates``, ``kl_beta``) and a loss ``(StepBatch, settings, warmup=)``;
``LOSSES`` maps ``algo.name`` to the loss. See docs/baselines.md for the equations side by side.
"""

from vlgym_agents.algos.loop import EpisodeGroups, LOOPSettings, leave_one_out, loop_loss
from vlgym_agents.algos.rl4vlm import RL4VLMSettings, action_token_mask, rl4vlm_loss
from vlgym_agents.algos.vldac import StepBatch, VLDACSettings, normalize_advantages, vldac_loss

LOSSES = {"vldac": vldac_loss, "rl4vlm": rl4vlm_loss, "loop": loop_loss}

__all__ = ["LOSSES", "EpisodeGroups", "LOOPSettings", "RL4VLMSettings", "StepBatch", "VLDACSettings",
           "action_token_mask", "leave_one_out", "loop_loss", "normalize_advantages", "rl4vlm_loss", "vldac_loss"]
