"""Training configuration: YAML files plus ``key=value`` overrides, validated before anything runs.

OmegaConf merges the file with dotted command-line overrides (``algo.kl_beta=0.1 env.num_envs=4``); pydantic
then validates the result. An unknown key or an impossible value is an error that names it, never a silent
no-op (the authors' configs had keys that nothing read).

Every settings model of a run lives here or in :mod:`vlgym_agents.algos.settings`, and neither imports torch,
the policy or the collector: reading a config is cheap and has no side effects.

>>> config = load_config("quickstart", ["algo.name=loop", "algo.loop.group_size=2"])
>>> config.algo.name, config.algo.group_size, config.algo.settings.clip_eps
('loop', 2, 0.1)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vlgym.prompts import check_action_index
from vlgym_agents.algos.registry import DEFAULT_RULE, rule_settings
from vlgym_agents.engines.vllm_sampling import check_vllm_config

#: The packaged configs (``vlgym-train configs`` lists them); a config argument may name one without ``.yaml``.
PACKAGED = Path(__file__).parent / "configs"

#: The LM's attention and MLP projections (Qwen-VL, Gemma 3: ``language_model``; Idefics3: ``text_model``);
#: the vision tower's layers use other names, so it stays frozen.
LM_LINEAR_LAYERS = r".*(language_model|text_model)\..*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(Strict):
    r: int = Field(16, ge=1)
    alpha: float = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = LM_LINEAR_LAYERS


class PolicyConfig(Strict):
    """Which checkpoint, in which precision, with which adapter and value head."""

    path: str = Field(description="Hugging Face model id or local folder (model + processor)")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    lora: LoraSettings | None = Field(default_factory=LoraSettings)
    value_head_hidden: list[int] = Field(default_factory=lambda: [1024, 512])
    value_head_norm: bool = Field(False, description="standardise the value head's input feature by feature with "
                                  "running statistics (for models whose last-prompt-token states differ between "
                                  "prompts by a tiny fraction of their size, as the quickstart's tiny model)")
    attn_implementation: str = "sdpa"


class Sampling(Strict):
    """Decoding parameters. ``top_k=0`` and ``top_p=1`` switch truncation off (plain temperature sampling)."""

    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: int = Field(0, ge=0)
    max_new_tokens: int = Field(64, ge=1)
    do_sample: bool = True


class EnvSettings(Strict):
    """Which environment, how many copies, and where episode seeds start."""

    id: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    num_envs: int = Field(8, ge=1)
    history: int = Field(0, ge=0, description="k > 0: show the last k frames (vlgym.wrappers.History)")
    vector: Literal["async", "sync", "ray"] = Field("async", description="ray: one Ray actor per env (vlgym[ray])")
    seed_start: int = Field(0, ge=0)
    number_actions: bool = Field(False, description="number the actions in prompts (only where the env takes numbers)")
    step_timeout: float | None = Field(None, gt=0, description="seconds a worker may take for a step before it is "
                                       "killed and replaced (its episode ends as a truncation); None: no limit")
    reset_timeout: float | None = Field(None, gt=0, description="the same for a reset")

    @model_validator(mode="after")
    def _numbers_only_where_the_env_takes_them(self) -> EnvSettings:
        check_action_index(self.id, self.number_actions)
        return self

    @model_validator(mode="after")
    def _timeouts_need_worker_processes(self) -> EnvSettings:
        if (self.step_timeout or self.reset_timeout) and self.vector != "async":
            raise ValueError("env.step_timeout / env.reset_timeout need env.vector: async (worker processes)")
        return self


class AlgoSettings(Strict):
    """The learning rule (``name``, any registered rule) with one settings block per registered rule, named after
    it (``algo.vldac.kl_beta``); only the chosen rule's block is read. The other fields are shared by all rules.
    """

    model_config = ConfigDict(extra="allow")  # the rule blocks: checked against the registry below

    name: str = DEFAULT_RULE
    gamma: float = Field(0.99, ge=0, le=1)
    gae_lambda: float = Field(0.95, ge=0, le=1)
    ppo_epochs: int = Field(2, ge=1)
    minibatch_size: int = Field(8, ge=1, description="steps per forward/backward")
    grad_accum: int = Field(1, ge=1, description="minibatches per optimiser step")
    max_grad_norm: float = Field(1.0, gt=0)
    normalize_advantages: bool = True

    @model_validator(mode="before")
    @classmethod
    def _rule_blocks(cls, data: Any) -> Any:
        """Every registered rule gets its block, validated by its settings model; any other key is an error."""
        if not isinstance(data, dict):
            return data
        rules = rule_settings()
        data = dict(data)
        name = data.setdefault("name", DEFAULT_RULE)
        if name not in rules:
            raise ValueError(f"algo.name {name!r} is not a registered rule ({', '.join(sorted(rules))})")
        for key in data:
            if key not in cls.model_fields and key not in rules:
                raise ValueError(f"unknown key algo.{key}")
        for rule, settings in rules.items():
            block = data.get(rule, {})
            data[rule] = block if isinstance(block, settings) else settings.model_validate(block)
        return data

    @property
    def settings(self) -> BaseModel:
        """The chosen rule's settings block."""
        return getattr(self, self.name)

    @property
    def group_size(self) -> int:
        """Envs per group of same-seed episodes (the rule's ``group_size`` setting, e.g. LOOP's K; 1 otherwise)."""
        return getattr(self.settings, "group_size", 1)


class OptimSettings(Strict):
    lr: float = Field(5e-5, gt=0)
    lr_end: float = Field(1e-7, ge=0, description="cosine decays to this and stays there (no restart)")
    value_lr: float | None = Field(None, gt=0, description="the value head's rate, on the same cosine (relative "
                                   "to lr) unless value_lr_end is set; null: lr")
    value_lr_end: float | None = Field(None, ge=0, description="with value_lr: the head's own cosine ends here "
                                       "(value_lr for a constant rate); null: the same factor as lr")
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
    stop_readout_r2: float | None = Field(None, le=1, description="with value_aux: and the readout explains at "
                                          "least this of held-out demonstrations' returns (R², None: any); "
                                          "checks play their episodes only once it does")
    thoughts: str = ""
    value_aux: float = Field(0.0, ge=0, description="weight of an auxiliary loss that makes the last prompt token's "
                             "state carry the value: its projection on a fixed random direction regresses the "
                             "expert's standardised discounted return-to-go (gamma = algo.gamma), the gradient "
                             "reaching the model (sft.StateReadout)")
    dataset: Path | None = Field(None, description="take the demonstrations from this dataset (`vlgym record`) "
                                                   "instead of playing the expert")
    seed_start: int = Field(500_000, ge=0, description="demonstration episodes use their own seed range")


class VLLMSettings(Strict):
    """The colocated vLLM engine (``rollout.engine: vllm``): one ``vllm.LLM`` per rank, on the trainer's device.

    On a GPU it shares memory with training through ``gpu_memory_utilization`` (the fraction of the GPU vLLM may
    take for weights and KV cache) and, with ``sleep``, vLLM's sleep mode: the engine frees its KV cache and moves
    its weights off the GPU after each rollout and wakes up before the next one.
    """

    gpu_memory_utilization: float = Field(0.3, gt=0, lt=1, description="GPU: vLLM's share of GPU memory")
    sleep: bool = Field(False, description="GPU only: sleep during updates, wake up for rollouts")
    cpu_kv_cache_gib: int = Field(1, ge=1, description="CPU: KV cache size (vLLM's VLLM_CPU_KVCACHE_SPACE)")
    max_model_len: int = Field(4096, ge=64, description="prompt + answer tokens the engine accepts")
    logprob_warn_mae: float = Field(0.05, ge=0, description="warn when engine_logprob_mae exceeds this")


class RolloutSettings(Strict):
    """How rollout answers are generated (``engine``) and how generation and env steps are scheduled (``mode``;
    docs/agents.md, "Rollout modes")."""

    engine: Literal["hf", "vllm"] = Field("hf", description="hf: the policy's own generate; vllm: a colocated vLLM "
                                          "engine (the loss still uses the policy's log-probs)")
    vllm: VLLMSettings = Field(default_factory=VLLMSettings)
    mode: Literal["sync", "async"] = Field("sync", description="sync: generate for all envs, then step all; async: "
                                           "two env groups, one steps in its workers while the other generates")
    async_groups: Literal["auto", 1, 2] = Field("auto", description="async only: 2 env groups take turns, 1 runs "
                                                "one batch as sync; auto times one rollout each way at the start "
                                                "and keeps the faster (two only if at least 10% faster)")
    max_staleness: int = Field(0, ge=0, le=1, description="async only: 1 lets one group's last step run in its "
                               "workers during the update; it trains in the next rollout with its behaviour "
                               "log-probs (one update stale). 0: every step trained on is on-policy")
    sampling_streams: Literal["auto", "batch", "per_step"] = Field(
        "auto", description="batch: one random stream per generated batch (an answer depends on its batch "
        "neighbours); per_step: each env step samples from its own seeded stream, so answers do not depend on "
        "batching (async needs it); auto: per_step in async, batch in sync")

    @model_validator(mode="after")
    def _async_only_settings(self) -> RolloutSettings:
        if self.max_staleness and self.mode != "async":
            raise ValueError("rollout.max_staleness > 0 needs rollout.mode: async")
        sampling_streams_for(self.mode, self.sampling_streams)
        return self


def sampling_streams_for(mode: str, setting: str) -> str:
    """``rollout.sampling_streams`` resolved for ``mode``: ``batch`` or ``per_step``.

    >>> sampling_streams_for("sync", "auto"), sampling_streams_for("async", "auto")
    ('batch', 'per_step')
    """
    if setting == "auto":
        return "per_step" if mode == "async" else "batch"
    if mode == "async" and setting != "per_step":
        raise ValueError("rollout.mode: async needs rollout.sampling_streams: per_step (or auto): with one stream "
                         "per batch, how the envs are grouped would change the answers")
    return setting


class RecordSettings(Strict):
    """What the trainer records into its run folder (``vlgym view <output_dir>/episodes``)."""

    every_updates: int = Field(0, ge=0, description="record sampled episodes every N updates (0: never)")
    episodes: int = Field(4, ge=1, description="episodes per recording, on the first training seeds")
    final_eval: bool = Field(True, description="record the final held-out evaluation's episodes")


class TrainConfig(Strict):
    """A run. ``env`` is one env's settings, or a list of them (several envs in one run: each its own id, kwargs
    and ``num_envs`` copies, which is its weight in every rollout; prompts of all envs batch together)."""

    model: PolicyConfig
    env: EnvSettings | Annotated[list[EnvSettings], Field(min_length=1)]
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    sampling: Sampling = Field(default_factory=Sampling)
    algo: AlgoSettings = Field(default_factory=AlgoSettings)
    optim: OptimSettings = Field(default_factory=OptimSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    sft: SFTSettings = Field(default_factory=SFTSettings)
    record: RecordSettings = Field(default_factory=RecordSettings)

    @property
    def envs(self) -> list[EnvSettings]:
        """``env`` as a list (one entry for the single-env form)."""
        return [self.env] if isinstance(self.env, EnvSettings) else list(self.env)

    @property
    def num_envs(self) -> int:
        """Envs per rank, over all entries of ``env``."""
        return sum(spec.num_envs for spec in self.envs)

    def training_seeds(self, world_size: int = 1, spec: EnvSettings | None = None) -> range:
        """Every episode seed RL training (on ``world_size`` ranks) can reset an env (``spec``, default the first
        of ``env``) with.

        Training runs whole rollouts (``total_env_steps`` rounded up to one), every finished episode took at
        least one step, and the episodes running at the end were also seeded. All envs take seeds from one cursor,
        each from its own ``seed_start``.
        """
        spec = spec or self.envs[0]
        per_update = self.num_envs * self.run.steps_per_env * world_size
        steps = math.ceil(self.run.total_env_steps / per_update) * per_update
        return range(spec.seed_start, spec.seed_start + steps + self.num_envs * world_size)

    def check_held_out_seeds(self, world_size: int = 1) -> None:
        """Raise if a held-out evaluation seed is also a training seed (RL or warm-start demonstrations)."""
        held_out = range(self.eval.seed_start, self.eval.seed_start + self.eval.episodes)
        demos = range(self.sft.seed_start, self.sft.seed_start + self.sft.demos)
        training = [("training", self.training_seeds(world_size, spec)) for spec in self.envs]
        for name, seeds in (*training, ("sft demonstration", demos)):
            if held_out and max(seeds.start, held_out.start) < min(seeds.stop, held_out.stop):
                raise ValueError(f"held-out seeds {held_out.start}..{held_out.stop - 1} overlap the {name} seeds "
                                 f"{seeds.start}..{seeds.stop - 1}: move eval.seed_start")

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        self.check_held_out_seeds()
        if self.optim.lr_end > self.optim.lr:
            raise ValueError(f"optim.lr_end ({self.optim.lr_end}) exceeds optim.lr ({self.optim.lr}): "
                             "the schedule only decays")
        if self.optim.value_lr_end is not None and (self.optim.value_lr is None
                                                     or self.optim.value_lr_end > self.optim.value_lr):
            raise ValueError(f"optim.value_lr_end ({self.optim.value_lr_end}) needs optim.value_lr at or above it "
                             f"(it is {self.optim.value_lr}): the head's schedule only decays")
        if len(self.envs) > 1 and self.record.every_updates:
            raise ValueError("record.every_updates needs a single env (env is a list): set it to 0")
        for spec in self.envs:
            if spec.num_envs % self.algo.group_size:
                raise ValueError(f"env.num_envs ({spec.num_envs}) must be a multiple of "
                                 f"algo.{self.algo.name}.group_size ({self.algo.group_size})")
        if self.algo.minibatch_size > self.num_envs * self.run.steps_per_env:
            raise ValueError("algo.minibatch_size exceeds the steps of one rollout (env.num_envs * run.steps_per_env)")
        if self.rollout.mode == "async" and self.num_envs > 1 and any(s.vector == "ray" for s in self.envs):
            raise ValueError("rollout.mode: async steps some envs at a time, which Ray actors (env.vector: ray) do not "
                             "offer yet: use env.vector: async (worker processes) or rollout.mode: sync")
        if self.rollout.engine == "vllm":
            check_vllm_config(self.model.lora is not None, self.sampling, self.rollout.vllm.sleep, self.run.device)
        return self


def packaged_configs() -> list[str]:
    return sorted(p.stem for p in PACKAGED.glob("*.yaml"))


def config_path(name: str | Path) -> Path:
    """A YAML file, or the packaged config of that name (with or without ``.yaml``)."""
    path = Path(name)
    if path.exists():
        return path
    packaged = PACKAGED / f"{str(name).removesuffix('.yaml')}.yaml"
    if packaged.exists():
        return packaged
    raise ValueError(f"{str(name)!r} is neither a file nor a packaged config ({', '.join(packaged_configs())})")


def load_config(path: str | Path | None, overrides: list[str] | None = None,
                base: dict[str, Any] | None = None) -> TrainConfig:
    """Read ``path`` (a YAML file or a packaged config's name), apply ``key=value`` overrides, validate.

    The one way to derive a config: ``load_config(path, [*overrides, "model.path=..."])`` (later overrides win).
    """
    from omegaconf import OmegaConf

    layers = [OmegaConf.create(base or {})]
    if path is not None:
        layers.append(OmegaConf.load(config_path(path)))
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


def config_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: old -> new`` for every leaf that differs between two dumped configs (dotted keys, sorted).

    >>> config_changes({"run": {"seed": 0, "device": "cpu"}}, {"run": {"seed": 1, "device": "cpu"}})
    ['run.seed: 0 -> 1']
    """
    changes = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            changes += config_changes(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a} -> {b}")
    return changes
