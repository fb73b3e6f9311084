"""Learning rules as loss functions over a batch of stored steps (see :mod:`vlgym_agents.algos.vldac`)."""

from vlgym_agents.algos.vldac import StepBatch, VLDACSettings, vldac_loss

__all__ = ["StepBatch", "VLDACSettings", "vldac_loss"]
