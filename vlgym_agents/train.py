"""The trainer: collect a rollout from many envs, let the rule turn it into per-step advantages, run PPO epochs,
repeat. Everything that differs between algorithms (critic, advantages, token masks, loss, metrics) belongs to
the rule object that ``algo.name`` names (:mod:`vlgym_agents.algos.rule`); this module only orchestrates.

Multi-GPU and multi-node runs go through ``accelerate launch`` (DDP, or FSDP/DeepSpeed from an accelerate
config): each rank runs its own envs on its own episode seeds, gradients are averaged by the wrapper.

    vlgym-train rl configs/numberline.yaml run.output_dir=outputs/nl optim.lr=1e-4
    vlgym-train rl configs/numberline.yaml run.output_dir=outputs/nl --resume    # after a kill

Resuming checks that the config is the checkpoint's: a changed key (``run.total_env_steps``, say, which moves the
learning-rate schedule mid-run) is listed as ``key: old -> new`` and refused unless ``allow_config_change``
(``--allow-config-change``) says to go on with the new values.

When the output is not a terminal (a log file, a batch job), one plain progress line per update goes to the
``vlgym_agents.train`` logger instead of the progress bar.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlgym.errors import UserError
from vlgym.eval import summarize
from vlgym_agents.algos.batch import StepBatch, normalize_advantages
from vlgym_agents.algos.rule import make_rule
from vlgym_agents.checkpoint import latest_checkpoint, load_training_state, rng_state, save_checkpoint
from vlgym_agents.config import TrainConfig, config_changes, dump_config, load_config
from vlgym_agents.engines import make_engine
from vlgym_agents.policy.vlm import Prompt, VLMPolicy
from vlgym_agents.preflight import check_startup
from vlgym_agents.recording import TrainingRecorder
from vlgym_agents.rollout.collector import Collector
from vlgym_agents.rollout.evaluate import held_out_seeds, play_episodes
from vlgym_agents.rollout.types import Rollout, StepRecord
from vlgym_agents.runtime import quiet_libraries, setup_torch

log = logging.getLogger("vlgym_agents.train")


def cosine_schedule(optimizer: torch.optim.Optimizer, total_updates: int, lr: float, lr_end: float, *,
                    value_lr: float | None = None, value_lr_end: float | None = None):
    """Cosine from ``lr`` to ``lr_end`` over ``total_updates``, then flat: it never climbs back up.

    Every parameter group follows the same factor, unless ``value_lr_end`` is given: then the second group (the
    value head's, see :func:`parameter_groups`) goes from ``value_lr`` to ``value_lr_end`` on its own cosine.
    """

    def cosine(start: float, end: float):
        def factor(update: int) -> float:
            progress = min(update, total_updates) / max(1, total_updates)
            return (end + 0.5 * (start - end) * (1 + math.cos(math.pi * progress))) / start

        return factor

    factors = [cosine(lr, lr_end)] * len(optimizer.param_groups)
    if value_lr_end is not None:
        factors[1] = cosine(value_lr, value_lr_end)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factors)


def parameter_groups(policy: VLMPolicy, value_lr: float | None) -> list[dict[str, Any]]:
    """The trainable parameters; with ``value_lr``, the value head in a group of its own at that rate."""
    if value_lr is None:
        return [{"params": policy.trainable_parameters()}]
    head = {id(p) for p in policy.value_head.parameters()}
    return [{"params": [p for p in policy.trainable_parameters() if id(p) not in head]},
            {"params": [p for p in policy.trainable_parameters() if id(p) in head], "lr": value_lr}]


def pad_right(rows: list[torch.Tensor], value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(1, max(len(r) for r in rows))
    out = torch.full((len(rows), width), value, dtype=rows[0].dtype)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
        mask[i, : len(row)] = True
    return out, mask


class ConfigChangedError(UserError):
    """``--resume`` with a config that differs from the checkpoint's (the message lists the changes)."""


def explained_variance(values: np.ndarray, returns: np.ndarray) -> float:
    var = float(np.var(returns))
    return float("nan") if var == 0 else 1.0 - float(np.var(returns - values)) / var


def observation_key(prompt: Prompt) -> bytes:
    """Equal for two steps exactly when their prompts (text and images) are equal."""
    digest = hashlib.blake2b(prompt.text.encode(), digest_size=16)
    for image in prompt.images:
        digest.update(np.ascontiguousarray(image))  # hashed in place, not copied
    return digest.digest()


def explained_variance_by_observation(returns: np.ndarray, keys: Sequence[bytes]) -> float:
    """What the observation alone explains of a rollout's returns: a reference for the critic's explained variance.

    Each step is predicted by the mean return of the *other* steps of the rollout that saw the same observation
    (leave-one-out: a step's own sampling luck is not something a state value can know); a step whose
    observation nobody else saw is predicted by the mean of all other steps. NaN unless at least half of the
    steps share their observation with another (as in small worlds such as NumberLine; in MiniWorld or WebShop
    observations rarely repeat and the number would say little).
    """
    groups: dict[bytes, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    repeated = [g for g in groups.values() if len(g) > 1]
    if len(returns) < 2 or 2 * sum(map(len, repeated)) < len(returns):
        return float("nan")
    predictions = (returns.sum() - returns) / (len(returns) - 1)
    for group in repeated:
        total = returns[group].sum()
        predictions[group] = (total - returns[group]) / (len(group) - 1)
    return explained_variance(predictions, returns)


class Trainer:
    """Owns the loop; see the module docstring. ``train()`` returns the final summary."""

    def __init__(self, config: TrainConfig, *, resume: bool = False, allow_config_change: bool = False):
        from accelerate import Accelerator

        check_startup(config)  # the model, its processor and the env's extra, before any weights load
        self.config = config
        run = config.run
        quiet_libraries()
        on_cpu = setup_torch(run) == "cpu"
        self.accelerator = Accelerator(cpu=on_cpu, mixed_precision=run.mixed_precision)
        self.out = Path(run.output_dir)
        self.checkpoints = self.out / "checkpoints"
        self.rank, self.world = self.accelerator.process_index, self.accelerator.num_processes
        config.check_held_out_seeds(self.world)
        self.updates_total = math.ceil(run.total_env_steps / (config.num_envs * run.steps_per_env * self.world))
        resume_from = latest_checkpoint(self.checkpoints) if resume else None
        if resume and resume_from is None:
            raise UserError(f"--resume: no checkpoint under {self.checkpoints} (drop --resume to start a new run)")
        if resume_from is not None:
            self._check_config(resume_from, allow_config_change)
        self.rule = make_rule(config.algo)
        torch.manual_seed(run.seed + self.rank)
        policy = self._policy(resume_from)
        optimizer = torch.optim.AdamW(parameter_groups(policy, config.optim.value_lr), lr=config.optim.lr,
                                      eps=config.optim.adam_eps, weight_decay=config.optim.weight_decay)
        self.scheduler = cosine_schedule(optimizer, self.updates_total, config.optim.lr, config.optim.lr_end,
                                         value_lr=config.optim.value_lr, value_lr_end=config.optim.value_lr_end)
        self.state: dict[str, Any] = {"update": 0, "env_steps": 0, "seed_cursor": 0, "episodes": 0,
                                      "skipped_updates": 0, "worker_restarts": 0, "async_groups": None}
        if resume_from is not None:
            self.state.update(load_training_state(resume_from, optimizer=optimizer, scheduler=self.scheduler,
                                                  rank=self.rank))
            log.info("resumed from %s at update %d", resume_from, self.state["update"])
        self.policy, self.optimizer = self.accelerator.prepare(policy, optimizer)
        self.unwrapped: VLMPolicy = self.accelerator.unwrap_model(self.policy)
        kl_beta = self.rule.kl_beta
        with_reference = kl_beta > 0 and self.unwrapped.has_adapter
        if kl_beta > 0 and not self.unwrapped.has_adapter:
            log.warning("kl_beta > 0 but the model has no adapter to switch off: the KL term is 0")
        self.engine = make_engine(config.rollout, self.unwrapped, seed=run.seed + self.rank, world_size=self.world,
                                  workdir=self.out / "engine" / f"rank{self.rank}", version=self.state["update"])
        self.collector = Collector(config.envs, self.unwrapped, config.sampling, rank=self.rank,
                                   world_size=self.world, with_reference=with_reference,
                                   group_size=self.rule.group_size, mode=config.rollout.mode,
                                   max_staleness=config.rollout.max_staleness,
                                   async_groups=self._async_groups(),
                                   sampling_streams=config.rollout.sampling_streams,
                                   engine=self.engine)
        self.collector.seed_cursor = self.state["seed_cursor"]
        self.rng = np.random.default_rng(run.seed + 7919 * self.rank + self.state["update"])
        self.writer = self.jsonl = None
        self.recorder = TrainingRecorder(config, self.out)

    def _async_groups(self) -> int | str:
        """``rollout.async_groups``; for ``auto``, the groups a resumed run's trial already chose, if any."""
        setting = self.config.rollout.async_groups
        if setting == "auto" and self.state["async_groups"] is not None:
            return self.state["async_groups"]
        return setting

    def _policy(self, checkpoint: Path | None) -> VLMPolicy:
        if checkpoint is None:
            return VLMPolicy(self.config.model, device=self.accelerator.device)
        return VLMPolicy.load(self.config.model, checkpoint, device=self.accelerator.device)

    def _check_config(self, checkpoint: Path, allow_change: bool) -> None:
        """Compare this run's config with the checkpoint's; refuse a difference unless ``allow_change``."""
        saved = load_config(checkpoint / "config.yaml").model_dump(mode="json")
        changes = config_changes(saved, self.config.model_dump(mode="json"))
        if not changes:
            return
        listing = f"the config differs from the one {checkpoint} was trained with:\n  " + "\n  ".join(changes)
        if not allow_change:
            raise ConfigChangedError(f"{listing}\nresume with the checkpoint's config, or pass "
                                     "--allow-config-change to go on with the new values")
        log.warning("%s\ngoing on with the new values (--allow-config-change)", listing)

    # -- logging ---------------------------------------------------------------------------------------------
    def _open_logs(self) -> None:
        if not self.accelerator.is_main_process:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "config.yaml").write_text(dump_config(self.config))
        # Points after the checkpoint this run starts from are hidden, as in metrics.jsonl below.
        self.writer = SummaryWriter(str(self.out / "tensorboard"), purge_step=self.state["env_steps"] + 1)
        metrics = self.out / "metrics.jsonl"
        if metrics.exists():  # rows after the checkpoint this run starts from describe lost work: drop them
            metrics.write_text("".join(f"{line}\n" for line in metrics.read_text().splitlines()
                                       if self._logged_before_start(line)))
        self.jsonl = open(metrics, "a")  # noqa: SIM115 (closed in train())

    def _logged_before_start(self, line: str) -> bool:
        try:
            return json.loads(line)["update"] <= self.state["update"]
        except (ValueError, KeyError, TypeError):  # a line cut short by a kill
            return False

    def _log(self, metrics: dict[str, Any]) -> None:
        if self.writer is None:
            return
        step = metrics["env_steps"]
        for key, value in metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                self.writer.add_scalar(key, value, step)
        self.jsonl.write(json.dumps(metrics) + "\n")
        self.jsonl.flush()

    # -- the update --------------------------------------------------------------------------------------------
    def update(self, records: list[StepRecord], *, warmup: bool) -> dict[str, float]:
        """PPO epochs over the rollout's steps; returns averaged loss statistics."""
        algo, rule, policy, unwrapped = self.config.algo, self.rule, self.policy, self.unwrapped
        action_masks = rule.token_masks(unwrapped.processor.tokenizer, records)
        advantages = torch.tensor([r.advantage for r in records], dtype=torch.float32)
        if algo.normalize_advantages:
            advantages = normalize_advantages(advantages)
        returns = torch.tensor([r.ret for r in records], dtype=torch.float32)
        device = self.accelerator.device
        totals: dict[str, float] = {}
        count = 0
        policy.train()
        for _ in range(algo.ppo_epochs):
            order = self.rng.permutation(len(records))
            minibatches = [order[i: i + algo.minibatch_size] for i in range(0, len(order), algo.minibatch_size)]
            groups = [minibatches[i: i + algo.grad_accum] for i in range(0, len(minibatches), algo.grad_accum)]
            for group in groups:
                group_size = sum(len(mb) for mb in group)
                for k, indices in enumerate(group):
                    chosen = [records[j] for j in indices]
                    tokens, mask = pad_right([r.tokens for r in chosen], unwrapped.pad_token_id)
                    old, _ = pad_right([r.old_log_probs for r in chosen])
                    ref, _ = pad_right([r.ref_log_probs for r in chosen])
                    batch = unwrapped.encode([r.prompt for r in chosen])
                    last = k == len(group) - 1
                    action_mask = (pad_right([action_masks[j] for j in indices], False)[0].to(device)
                                   if action_masks is not None else None)
                    with nullcontext() if last else self.accelerator.no_sync(policy):
                        log_probs, values = policy(batch, tokens.to(device), mask.to(device), self.config.sampling,
                                                   with_values=rule.uses_critic,
                                                   value_gradient_to_backbone=rule.value_gradient_to_backbone)
                        if values is None:  # no critic: the rule's loss ignores values
                            values = torch.zeros(len(indices), device=device)
                        loss, stats = rule.loss(StepBatch(
                            log_probs=log_probs, old_log_probs=old.to(device), ref_log_probs=ref.to(device),
                            token_mask=mask.to(device), advantages=advantages[indices].to(device), values=values,
                            returns=returns[indices].to(device), action_mask=action_mask), warmup=warmup)
                        if not self._all_finite(loss):
                            return self._skip("loss")
                        self.accelerator.backward(loss * (len(indices) / group_size))
                    for key, value in stats.items():
                        totals[key] = totals.get(key, 0.0) + value
                    count += 1
                stats_norm = self.accelerator.clip_grad_norm_(unwrapped.trainable_parameters(), algo.max_grad_norm)
                if not math.isfinite(float(stats_norm)):  # a finite loss can still have inf/NaN gradients
                    return self._skip("gradient norm")
                totals["grad_norm"] = totals.get("grad_norm", 0.0) + float(stats_norm) * len(group)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
        return {key: value / max(1, count) for key, value in totals.items()}

    def _skip(self, what: str) -> dict[str, float]:
        log.warning("non-finite %s at update %d: update skipped, weights unchanged", what, self.state["update"] + 1)
        self.optimizer.zero_grad(set_to_none=True)
        self.state["skipped_updates"] += 1
        return {"skipped": 1.0}

    def _all_finite(self, loss: torch.Tensor) -> bool:
        bad = torch.tensor([0.0 if torch.isfinite(loss).item() else 1.0], device=self.accelerator.device)
        return float(self.accelerator.reduce(bad, reduction="sum").item()) == 0.0

    # -- the loop ------------------------------------------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        config, state = self.config, self.state
        self._open_logs()
        progress = Progress(TextColumn(f"[bold]{config.algo.name}"), BarColumn(),
                            TextColumn("{task.completed}/{task.total} env steps"),
                            TextColumn("{task.fields[status]}"), TimeRemainingColumn(),
                            disable=not self.accelerator.is_main_process)
        task = progress.add_task("train", total=config.run.total_env_steps, completed=state["env_steps"], status="")
        steps_per_update = config.num_envs * config.run.steps_per_env * self.world
        run_started, self.first_update = time.perf_counter(), state["update"]
        try:
            with progress:
                while state["update"] < self.updates_total:
                    started = time.perf_counter()
                    self.collector.policy_version = state["update"]
                    rollout = self.collector.collect(config.run.steps_per_env)
                    self.engine.sleep()
                    collected = time.perf_counter()
                    if rollout.staleness(state["update"]) > config.rollout.max_staleness:  # the collector's promise
                        raise RuntimeError(f"a step {rollout.staleness(state['update'])} updates stale reached "
                                           f"the loss (rollout.max_staleness={config.rollout.max_staleness})")
                    records = self.rule.advantages(rollout)
                    warmup = state["update"] < self.rule.warmup_updates
                    stats = self.update(records, warmup=warmup) if records else {"skipped": 1.0}
                    finished = time.perf_counter()
                    state["update"] += 1
                    self.engine.sync(self.unwrapped, state["update"])
                    state["env_steps"] += steps_per_update
                    state["seed_cursor"] = self.collector.seed_cursor
                    state["async_groups"] = self.collector.groups  # auto: decided after the timed rollouts
                    state["episodes"] += len(rollout.episodes)
                    state["worker_restarts"] += rollout.worker_restarts
                    metrics = self._metrics(rollout, records, stats, warmup, collected - started, finished - started)
                    self.scheduler.step()  # after the metrics, so that "lr" is the rate this update used
                    self._log(metrics)
                    progress.update(task, completed=min(state["env_steps"], config.run.total_env_steps),
                                    status=f"success {metrics.get('success_rate', float('nan')):.2f}")
                    if not progress.console.is_terminal and self.accelerator.is_main_process:
                        self._log_progress(metrics, time.perf_counter() - run_started)
                    if state["update"] % config.run.checkpoint_every == 0 or state["update"] == self.updates_total:
                        self.save()
                    if self.accelerator.is_main_process:
                        self.recorder.after_update(self.unwrapped, state["update"])
            summary = {"state": dict(state)}
            if config.eval.episodes and self.accelerator.is_main_process:
                summary["eval"] = self.evaluate()
                (self.out / "eval.json").write_text(json.dumps(summary["eval"], indent=2))
            return summary
        finally:
            self.collector.close()
            self.engine.close()
            if self.writer is not None:
                self.writer.close()
                self.jsonl.close()

    def _log_progress(self, metrics: dict[str, Any], elapsed_s: float) -> None:
        """The progress bar's content as one plain line (for output that is not a terminal)."""
        done = self.state["update"] - self.first_update
        left_s = elapsed_s / max(1, done) * (self.updates_total - self.state["update"])
        total = self.config.run.total_env_steps
        log.info("%s update %d/%d: %d/%d env steps, success %.2f, %s left", self.config.algo.name,
                 self.state["update"], self.updates_total, min(self.state["env_steps"], total), total,
                 metrics.get("success_rate", float("nan")), time.strftime("%H:%M:%S", time.gmtime(left_s)))

    def _metrics(self, rollout: Rollout, records, stats, warmup: bool, collect_s: float, total_s: float):
        episodes, steps_collected = rollout.episodes, sum(map(len, rollout.steps))
        values = np.array([r.value for r in records])
        returns = np.array([r.ret for r in records])
        metrics: dict[str, Any] = {"update": self.state["update"], "env_steps": self.state["env_steps"],
                                   "lr": self.scheduler.get_last_lr()[0], "warmup": warmup,
                                   "explained_variance": explained_variance(values, returns),
                                   "explained_variance_by_observation": explained_variance_by_observation(
                                       returns, [observation_key(r.prompt) for r in records]),
                                   "env_steps_per_s": steps_collected * self.world / total_s,
                                   "trained_steps": len(records),
                                   "tokens_per_s": rollout.generated_tokens / collect_s,
                                   "collect_s": collect_s, "update_s": total_s - collect_s,
                                   "worker_restarts": rollout.worker_restarts,
                                   "async_groups": rollout.async_groups,
                                   "worker_timeouts": rollout.worker_timeouts,
                                   "staleness": rollout.staleness(self.state["update"] - 1),  # counted before the +1
                                   "format_failure_rate": rollout.format_failures / max(1, steps_collected),
                                   **stats}
        if episodes:
            summary = summarize(episodes)
            for interval in ("success_ci95", "score_ci95", "ci_method"):  # per-update rows keep scalars
                summary.pop(interval)
            metrics.update(summary)
            if len(self.config.envs) > 1:
                for env_id in sorted(set(rollout.episode_envs)):
                    mine = [e for e, i in zip(episodes, rollout.episode_envs, strict=True) if i == env_id]
                    metrics.update({f"{key}/{env_id}": value for key, value in summarize(mine).items()
                                    if key in ("success_rate", "mean_score", "mean_return", "episodes")})
        metrics.update(self.rule.metrics())
        metrics.update(self.engine.metrics())
        steps = len(records)
        metrics["step_reward"] = float(np.mean([r.reward for r in records])) if steps else float("nan")
        return metrics

    def save(self) -> Path | None:
        from accelerate.utils import gather_object

        self.accelerator.wait_for_everyone()
        rng_states = gather_object([rng_state()])  # each rank resumes its own random stream
        if not self.accelerator.is_main_process:
            return None
        return save_checkpoint(self.checkpoints, self.state["update"], policy=self.unwrapped,
                               optimizer=self.optimizer, scheduler=self.scheduler, state=self.state,
                               config_yaml=dump_config(self.config), keep=self.config.run.keep_checkpoints,
                               rng_states=rng_states)

    def evaluate(self) -> dict[str, Any]:
        """Held-out episodes with the evaluation decoding parameters."""
        ev = self.config.eval
        seeds = held_out_seeds(self.config)
        folder, run_info = self.recorder.eval_folder(self.state["update"])
        per_env, episodes = {}, []
        for spec in self.config.envs:  # the same held-out seeds in each env
            record_dir = folder if folder is None or len(self.config.envs) == 1 else folder / spec.id.replace("/", "_")
            played = play_episodes(self.unwrapped, spec, seeds, ev.sampling, batch_size=ev.num_envs,
                                   record_dir=record_dir, run_info=run_info)
            per_env[spec.id], episodes = summarize(played), episodes + played
        overall = {"seeds": [seeds[0], seeds[-1]], "sampling": ev.sampling.model_dump(), **summarize(episodes)}
        return overall if len(per_env) == 1 else {**overall, "per_env": per_env}
