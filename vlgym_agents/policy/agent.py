"""A trained checkpoint as a ``vlgym eval`` agent: ``vlgym eval --env ID --agent checkpoint:PATH``.

``PATH`` is a trainer checkpoint (``.../checkpoints/update-000040``), a run's ``checkpoints`` folder (its latest
checkpoint is used) or a run folder. The policy decodes with the run's evaluation sampling parameters (greedy
by default), seeded per episode, so the same manifest and checkpoint give the same numbers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from vlgym_agents.checkpoint import latest_checkpoint
from vlgym_agents.config import TrainConfig, load_config
from vlgym_agents.policy.vlm import VLMPolicy
from vlgym_agents.runtime import quiet_libraries, setup_torch


def resolve_checkpoint(path: str | Path) -> Path:
    path = Path(path)
    for candidate in (path, path / "checkpoints"):
        if (candidate / "state.json").exists():
            return candidate
        found = latest_checkpoint(candidate)
        if found is not None:
            return found
    raise FileNotFoundError(f"no trainer checkpoint at {path} (expected update-*/ with state.json, or 'latest')")


def policy_from_checkpoint(folder: Path) -> tuple[VLMPolicy, TrainConfig]:
    """The checkpoint's policy (on the device its run asks for), in eval mode, and its run's config."""
    config = load_config(folder / "config.yaml")
    quiet_libraries()
    policy = VLMPolicy.load(config.model, folder, device=setup_torch(config.run))
    policy.eval()
    return policy, config


class CheckpointAgent:
    """Answers with the trained policy; one prompt at a time. ``last_prompt`` / ``last_answer``: the full prompt
    text and the raw answer of the latest ``act`` (recordings store them)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.policy, self.config = policy_from_checkpoint(folder)
        self.sampling = self.config.eval.sampling
        self.name = f"checkpoint:{folder}"
        self.last_prompt: str | None = None
        self.last_answer: str | None = None

    def reset(self, seed: int | None) -> None:
        torch.manual_seed(0 if seed is None else seed)

    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> str:
        prompt = self.policy.prompt(obs, info, action_index=self.config.env.number_actions)
        self.last_prompt = prompt.text
        self.last_answer = self.policy.generate(self.policy.encode([prompt]), self.sampling).texts[0]
        return self.last_answer

    def describe(self) -> dict[str, Any]:
        weights = sorted((self.folder / "model").glob("*.safetensors"))
        digest = hashlib.sha256(b"".join(w.read_bytes() for w in weights)).hexdigest()[:16]
        return {"checkpoint": str(self.folder), "weights_sha256": digest, "sampling": self.sampling.model_dump(),
                "model": self.config.model.path}


def load_checkpoint_agent(arg: str, env_id: str, env_kwargs: dict[str, Any]) -> CheckpointAgent:
    """The ``vlgym.agents`` entry point for ``checkpoint:PATH``."""
    return CheckpointAgent(resolve_checkpoint(arg))
