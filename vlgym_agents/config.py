"""Training configuration: YAML files plus ``key=value`` overrides, validated before anything runs.

OmegaConf merges the file with dotted command-line overrides (``algo.kl_beta=0.1 env.num_envs=4``); pydantic
then validates the result. An unknown key or an impossible value is an error that names it, never a silent
no-op (the authors' configs had keys that nothing read).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vlgym_agents.algos.loop import LOOPSettings
from vlgym_agents.algos.rl4vlm import RL4VLMSettings
from vlgym_agents.algos.vldac import VLDACSettings
from vlgym_agents.policy.sampling import Sampling
from vlgym_agents.policy.vlm import PolicyConfig
from vlgym_agents.recording import RecordSettings
from vlgym_agents.rollout.collector import EnvSettings


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlgoSettings(Strict):
    """The learning rule (``name``) with its own settings block; the other blocks are ignored."""

    name: Literal["vldac", "rl4vlm", "loop"] = "vldac"
    vldac: VLDACSettings = Field(default_factory=VLDACSettings)
    rl4vlm: RL4VLMSettings = Field(default_factory=RL4VLMSettings)
    loop: LOOPSettings = Field(default_factory=LOOPSettings)
    gamma: float = Field(0.99, ge=0, le=1)
    gae_lambda: float = Field(0.95, ge=0, le=1)
    ppo_epochs: int = Field(2, ge=1)
    minibatch_size: int = Field(8, ge=1, description="steps per forward/backward")
    grad_accum: int = Field(1, ge=1, description="minibatches per optimiser step")
    max_grad_norm: float = Field(1.0, gt=0)
    normalize_advantages: bool = True

    @property
    def settings(self) -> VLDACSettings | RL4VLMSettings | LOOPSettings:
        return getattr(self, self.name)

    @property
    def group_size(self) -> int:
        """Envs per group of same-seed episodes (LOOP's K; 1 otherwise)."""
        return self.loop.group_size if self.name == "loop" else 1


class OptimSettings(Strict):
    lr: float = Field(5e-5, gt=0)
    lr_end: float = Field(1e-7, ge=0, description="cosine decays to this and stays there (no restart)")
    adam_eps: float = Field(1e-7, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class RunSettings(Strict):
    output_dir: Path = Path("outputs/run")
    seed: int = 0
    total_env_steps: int = Field(51_200, ge=1, description="over all envs and ranks")
    steps_per_env: int = Field(32, ge=1, description="rollout length per env between updates")
    checkpoint_every: int = Field(10, ge=1, description="updates between checkpoints")
    keep_checkpoints: int = Field(2, ge=1)
    torch_threads: int | None = Field(None, ge=1, description="1 suits tiny models on CPU")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"


class EvalSettings(Strict):
    episodes: int = Field(100, ge=0, description="held-out episodes at the end (0: none)")
    seed_start: int = Field(1_000_000, ge=0, description="held-out seeds start here, far from training seeds")
    sampling: Sampling = Field(default_factory=lambda: Sampling(do_sample=False))
    num_envs: int = Field(8, ge=1)


class SFTSettings(Strict):
    """Warm start on expert demonstrations, in the RL answer format."""

    demos: int = Field(2000, ge=1, description="expert steps to collect")
    max_steps: int = Field(300, ge=1)
    batch_size: int = Field(16, ge=1)
    lr: float = Field(2e-3, gt=0)
    check_every: int = Field(10, ge=1, description="steps between sampled checks of the policy")
    check_episodes: int = Field(32, ge=1)
    stop_valid_rate: float = Field(0.9, ge=0, le=1, description="stop once sampled answers are this often valid")
    stop_success_rate: float | None = Field(None, ge=0, le=1,
                                            description="and success is at least this (None: any)")
    thoughts: str = ""
    dataset: Path | None = Field(None, description="take the demonstrations from this dataset (`vlgym record`) "
                                                   "instead of playing the expert")
    seed_start: int = Field(500_000, ge=0, description="demonstration episodes use their own seed range")


class TrainConfig(Strict):
    model: PolicyConfig
    env: EnvSettings
    sampling: Sampling = Field(default_factory=Sampling)
    algo: AlgoSettings = Field(default_factory=AlgoSettings)
    optim: OptimSettings = Field(default_factory=OptimSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    sft: SFTSettings = Field(default_factory=SFTSettings)
    record: RecordSettings = Field(default_factory=RecordSettings)

    def training_seeds(self, world_size: int = 1) -> range:
        """Every episode seed RL training (on ``world_size`` ranks) can reset an env with.

        Training runs whole rollouts (``total_env_steps`` rounded up to one), every finished episode took at
        least one step, and the episodes running at the end were also seeded.
        """
        per_update = self.env.num_envs * self.run.steps_per_env * world_size
        steps = math.ceil(self.run.total_env_steps / per_update) * per_update
        return range(self.env.seed_start, self.env.seed_start + steps + self.env.num_envs * world_size)

    def check_held_out_seeds(self, world_size: int = 1) -> None:
        """Raise if a held-out evaluation seed is also a training seed (RL or warm-start demonstrations)."""
        held_out = range(self.eval.seed_start, self.eval.seed_start + self.eval.episodes)
        demos = range(self.sft.seed_start, self.sft.seed_start + self.sft.demos)
        for name, seeds in (("training", self.training_seeds(world_size)), ("sft demonstration", demos)):
            if held_out and max(seeds.start, held_out.start) < min(seeds.stop, held_out.stop):
                raise ValueError(f"held-out seeds {held_out.start}..{held_out.stop - 1} overlap the {name} seeds "
                                 f"{seeds.start}..{seeds.stop - 1}: move eval.seed_start")

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        self.check_held_out_seeds()
        if self.optim.lr_end > self.optim.lr:
            raise ValueError(f"optim.lr_end ({self.optim.lr_end}) exceeds optim.lr ({self.optim.lr}): "
                             "the schedule only decays")
        if self.env.num_envs % self.algo.group_size:
            raise ValueError(f"env.num_envs ({self.env.num_envs}) must be a multiple of algo.loop.group_size "
                             f"({self.algo.group_size})")
        if self.algo.minibatch_size > self.env.num_envs * self.run.steps_per_env:
            raise ValueError("algo.minibatch_size exceeds the steps of one rollout (env.num_envs * run.steps_per_env)")
        return self


def load_config(path: str | Path | None, overrides: list[str] | None = None,
                base: dict[str, Any] | None = None) -> TrainConfig:
    """Read ``path`` (YAML), apply ``key=value`` overrides, validate."""
    from omegaconf import OmegaConf

    layers = [OmegaConf.create(base or {})]
    if path is not None:
        layers.append(OmegaConf.load(path))
    if overrides:
        for item in overrides:
            if "=" not in item:
                raise ValueError(f"override {item!r} is not of the form key=value")
        layers.append(OmegaConf.from_dotlist(list(overrides)))
    merged = OmegaConf.to_container(OmegaConf.merge(*layers), resolve=True)
    return TrainConfig.model_validate(merged)


def dump_config(config: TrainConfig) -> str:
    import yaml

    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
