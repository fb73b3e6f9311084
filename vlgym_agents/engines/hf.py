"""The Hugging Face engine: the policy's own ``generate``, which also scores the answers in the same pass (so its
``engine_score_s`` is 0: scoring is part of ``engine_generate_s``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from vlgym_agents.config import Sampling
from vlgym_agents.policy.vlm import Generation, Prompt, VLMPolicy


class HFEngine:
    """Generates with the training model itself: always in sync, nothing to compare."""

    def __init__(self, policy: VLMPolicy):
        self.policy = policy
        self.generate_s = 0.0

    def generate(self, prompts: Sequence[Prompt], batch: dict[str, torch.Tensor], sampling: Sampling,
                 seeds: Sequence[int] | None = None) -> Generation:
        started = time.perf_counter()
        generation = self.policy.generate(batch, sampling, score=True, seeds=seeds)
        self.generate_s += time.perf_counter() - started
        return generation

    def sync(self, policy: VLMPolicy, version: int) -> None:
        self.policy = policy

    def sleep(self) -> None:
        pass

    def metrics(self) -> dict[str, Any]:
        out = {"engine_generate_s": self.generate_s, "engine_score_s": 0.0}
        self.generate_s = 0.0
        return out

    def close(self) -> None:
        pass
