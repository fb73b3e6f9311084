"""Episodes recorded during training, in vlgym's recording layout (docs/recording.md), for ``vlgym view``.

With ``record.every_updates = N``, every N updates the trainer plays ``record.episodes`` episodes with the
training sampler on the first training seeds (the same seeds every time, so two updates compare side by side
in the viewer) and records them under ``<output_dir>/episodes/update-<n>``; with ``record.final_eval`` the
held-out evaluation at the end is recorded under ``<output_dir>/episodes/eval``. Each run folder's ``run.json``
holds the update, the model and the whole config. Recording draws on its own random stream: training takes
exactly the same course with or without it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from vlgym_agents.policy.vlm import VLMPolicy
from vlgym_agents.rollout.evaluate import play_episodes


class TrainingRecorder:
    """Decides when to record and where; see the module docstring."""

    def __init__(self, config: Any, out_dir: str | Path):
        self.config, self.root = config, Path(out_dir) / "episodes"

    def after_update(self, policy: VLMPolicy, update: int) -> Path | None:
        """Record ``record.episodes`` sampled episodes if ``update`` is due; returns their folder."""
        settings, env = self.config.record, self.config.env
        if not settings.every_updates or update % settings.every_updates:
            return None
        folder = fresh(self.root / f"update-{update:06d}")
        seeds = list(range(env.seed_start, env.seed_start + settings.episodes))
        with torch.random.fork_rng(devices=[policy.device] if policy.device.type == "cuda" else []):
            play_episodes(policy, env, seeds, self.config.sampling, batch_size=min(len(seeds), env.num_envs),
                          generator_seed=update, record_dir=folder, run_info=self.run_info("train", update))
        return folder

    def eval_folder(self, update: int) -> tuple[Path | None, dict[str, Any] | None]:
        """``(folder, run record)`` for the final evaluation, or ``(None, None)`` when it is not recorded."""
        if not self.config.record.final_eval:
            return None, None
        return fresh(self.root / "eval"), self.run_info("eval", update)

    def run_info(self, kind: str, update: int) -> dict[str, Any]:
        return {"kind": kind, "update": update, "model": self.config.model.path,
                "config": self.config.model_dump(mode="json")}


def fresh(folder: Path) -> Path:
    """``folder``, emptied: a recording a resumed run repeats replaces the one its killed predecessor left."""
    shutil.rmtree(folder, ignore_errors=True)
    return folder
