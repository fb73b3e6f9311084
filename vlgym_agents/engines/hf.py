"""The Hugging Face engine: the policy's own ``generate``, which also scores the answers in the same pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from vlgym_agents.config import Sampling
from vlgym_agents.policy.vlm import Generation, Prompt, VLMPolicy


class HFEngine:
    """Generates with the training model itself: always in sync, nothing to compare."""

    def __init__(self, policy: VLMPolicy):
        self.policy = policy

    def generate(self, prompts: Sequence[Prompt], batch: dict[str, torch.Tensor], sampling: Sampling) -> Generation:
        return self.policy.generate(batch, sampling, score=True)

    def sync(self, policy: VLMPolicy, version: int) -> None:
        self.policy = policy

    def sleep(self) -> None:
        pass

    def metrics(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass
