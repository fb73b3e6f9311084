"""Rollout engines: what turns a batch of prompts into sampled answers (``rollout.engine`` in the config).

An engine answers ``generate(prompts, batch, sampling, seeds)`` with a :class:`~vlgym_agents.policy.vlm.Generation`
whose ``log_probs`` and ``values`` always come from the training policy itself, under the sampling transform of
:mod:`vlgym_agents.policy.sampling`: the PPO ratio is exact whichever engine sampled the tokens.

- ``hf`` (:class:`~vlgym_agents.engines.hf.HFEngine`): the policy's own ``generate``, which scores in the same pass;
- ``vllm`` (:class:`~vlgym_agents.engines.vllm.VLLMEngine`): a colocated ``vllm.LLM`` samples, one batched forward
  of the policy scores, and vLLM's own log-probs are compared with ours (``engine_logprob_mae``,
  ``engine_logprob_k3``). After every update ``sync`` hands the engine the new LoRA adapter.

Both also implement ``sync(policy, version)``, ``sleep()``, ``metrics()`` and ``close()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch

    from vlgym_agents.config import RolloutSettings, Sampling
    from vlgym_agents.policy.vlm import Generation, Prompt, VLMPolicy


class Engine(Protocol):
    def generate(self, prompts: Sequence[Prompt], batch: dict[str, torch.Tensor], sampling: Sampling,
                 seeds: Sequence[int] | None = None) -> Generation:
        """Answers for ``prompts`` (``batch`` is their processor encoding), scored by the policy. With ``seeds``,
        each prompt is sampled from its own seeded stream (its answer does not depend on the batch); without,
        from torch's global stream."""

    def sync(self, policy: VLMPolicy, version: int) -> None:
        """Make the engine generate with ``policy``'s current weights; ``version`` counts the updates."""

    def sleep(self) -> None:
        """Free accelerator memory for the update (woken up by the next ``generate``)."""

    def metrics(self) -> dict[str, Any]:
        """Counters since the last call (and reset them)."""

    def close(self) -> None: ...


def make_engine(settings: RolloutSettings, policy: VLMPolicy, *, seed: int, workdir: Path, world_size: int = 1,
                version: int = 0) -> Engine:
    """The engine ``settings.engine`` names, synced to ``policy`` at update ``version``."""
    if settings.engine == "hf":
        from vlgym_agents.engines.hf import HFEngine

        return HFEngine(policy)
    from vlgym_agents.engines.vllm import VLLMEngine

    engine = VLLMEngine(policy, settings.vllm, seed=seed, workdir=workdir, world_size=world_size)
    engine.sync(policy, version)
    return engine
