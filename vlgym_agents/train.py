"""The VL-DAC trainer: collect a rollout from many envs, compute step-level GAE, run PPO epochs, repeat.

Multi-GPU and multi-node runs go through ``accelerate launch`` (DDP, or FSDP/DeepSpeed from an accelerate
config): each rank runs its own envs on its own episode seeds, gradients are averaged by the wrapper.

    vlgym-train rl configs/numberline.yaml run.output_dir=outputs/nl algo.vldac.kl_beta=0.1
    vlgym-train rl configs/numberline.yaml run.output_dir=outputs/nl --resume    # after a kill
"""

from __future__ import annotations

import json
import logging
import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlgym.errors import UserError
from vlgym_agents.algos import LOSSES, EpisodeGroups, StepBatch, action_token_mask, normalize_advantages
from vlgym_agents.checkpoint import latest_checkpoint, load_training_state, rng_state, save_checkpoint
from vlgym_agents.config import TrainConfig, dump_config
from vlgym_agents.policy.vlm import VLMPolicy
from vlgym_agents.preflight import check_startup
from vlgym_agents.rollout.collector import Collector, Rollout, StepRecord
from vlgym_agents.rollout.evaluate import play_episodes, summarize
from vlgym_agents.rollout.gae import gae

log = logging.getLogger("vlgym_agents.train")


def cosine_schedule(optimizer: torch.optim.Optimizer, total_updates: int, lr: float, lr_end: float):
    """Cosine from ``lr`` to ``lr_end`` over ``total_updates``, then flat: it never climbs back up."""

    def factor(update: int) -> float:
        progress = min(update, total_updates) / max(1, total_updates)
        return (lr_end + 0.5 * (lr - lr_end) * (1 + math.cos(math.pi * progress))) / lr

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def pad_right(rows: list[torch.Tensor], value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(1, max(len(r) for r in rows))
    out = torch.full((len(rows), width), value, dtype=rows[0].dtype)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
        mask[i, : len(row)] = True
    return out, mask


def assign_advantages(rollout: Rollout, gamma: float, lam: float) -> list[StepRecord]:
    """GAE per env stream; returns all records, flattened."""
    records = []
    for stream, last_value in zip(rollout.steps, rollout.last_values, strict=True):
        if not stream:
            continue
        advantages, returns = gae(np.array([r.reward for r in stream]), np.array([r.value for r in stream]),
                                  np.array([r.terminated for r in stream]), np.array([r.truncated for r in stream]),
                                  np.array([r.final_value for r in stream]), last_value, gamma=gamma, lam=lam)
        for record, advantage, ret in zip(stream, advantages, returns, strict=True):
            record.advantage, record.ret = float(advantage), float(ret)
        records += stream
    return records


def explained_variance(values: np.ndarray, returns: np.ndarray) -> float:
    var = float(np.var(returns))
    return float("nan") if var == 0 else 1.0 - float(np.var(returns - values)) / var


class Trainer:
    """Owns the loop; see the module docstring. ``train()`` returns the final summary."""

    def __init__(self, config: TrainConfig, *, resume: bool = False):
        from accelerate import Accelerator

        check_startup(config)  # the model, its processor and the env's extra, before any weights load
        self.config = config
        run = config.run
        if run.torch_threads:
            torch.set_num_threads(run.torch_threads)
        on_cpu = run.device == "cpu" or (run.device == "auto" and not torch.cuda.is_available())
        self.accelerator = Accelerator(cpu=on_cpu, mixed_precision=run.mixed_precision)
        self.out = Path(run.output_dir)
        self.checkpoints = self.out / "checkpoints"
        self.rank, self.world = self.accelerator.process_index, self.accelerator.num_processes
        config.check_held_out_seeds(self.world)
        self.updates_total = math.ceil(run.total_env_steps / (config.env.num_envs * run.steps_per_env * self.world))
        resume_from = latest_checkpoint(self.checkpoints) if resume else None
        if resume and resume_from is None:
            raise UserError(f"--resume: no checkpoint under {self.checkpoints} (drop --resume to start a new run)")
        torch.manual_seed(run.seed + self.rank)
        policy = self._policy(resume_from)
        optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=config.optim.lr, eps=config.optim.adam_eps,
                                      weight_decay=config.optim.weight_decay)
        self.scheduler = cosine_schedule(optimizer, self.updates_total, config.optim.lr, config.optim.lr_end)
        self.state: dict[str, Any] = {"update": 0, "env_steps": 0, "seed_cursor": 0, "episodes": 0,
                                      "skipped_updates": 0, "worker_restarts": 0}
        if resume_from is not None:
            self.state.update(load_training_state(resume_from, optimizer=optimizer, scheduler=self.scheduler,
                                                  rank=self.rank))
            log.info("resumed from %s at update %d", resume_from, self.state["update"])
        self.policy, self.optimizer = self.accelerator.prepare(policy, optimizer)
        self.unwrapped: VLMPolicy = self.accelerator.unwrap_model(self.policy)
        kl_beta = config.algo.settings.kl_beta
        with_reference = kl_beta > 0 and self.unwrapped.has_adapter
        if kl_beta > 0 and not self.unwrapped.has_adapter:
            log.warning("kl_beta > 0 but the model has no adapter to switch off: the KL term is 0")
        self.collector = Collector(config.env, self.unwrapped, config.sampling, rank=self.rank,
                                   world_size=self.world, with_reference=with_reference,
                                   group_size=config.algo.group_size)
        # LOOP: steps wait until their group's K episodes have all ended (see algos/loop.py).
        self.groups = EpisodeGroups(config.algo.group_size) if config.algo.name == "loop" else None
        self.collector.seed_cursor = self.state["seed_cursor"]
        self.rng = np.random.default_rng(run.seed + 7919 * self.rank + self.state["update"])
        self.writer = self.jsonl = None

    def _policy(self, checkpoint: Path | None) -> VLMPolicy:
        model = self.config.model
        if checkpoint is None:
            return VLMPolicy(model, device=self.accelerator.device)
        if model.lora is None:  # the checkpoint holds the whole fine-tuned model
            policy = VLMPolicy(model.model_copy(update={"path": str(checkpoint / "model")}),
                               device=self.accelerator.device)
        else:
            policy = VLMPolicy(model, device=self.accelerator.device, adapter=checkpoint / "model")
        policy.load_value_head(checkpoint)
        return policy

    # -- logging ---------------------------------------------------------------------------------------------
    def _open_logs(self) -> None:
        if not self.accelerator.is_main_process:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "config.yaml").write_text(dump_config(self.config))
        self.writer = SummaryWriter(str(self.out / "tensorboard"))
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
        algo, policy, unwrapped = self.config.algo, self.policy, self.unwrapped
        settings, loss_fn = algo.settings, LOSSES[algo.name]
        action_masks = ([action_token_mask(unwrapped.processor.tokenizer, r.tokens) for r in records]
                        if algo.name == "rl4vlm" else None)
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
                                                   with_values=settings.uses_critic,
                                                   value_gradient_to_backbone=settings.value_gradient_to_backbone)
                        if values is None:  # no critic (LOOP): the loss ignores values and returns
                            values = torch.zeros(len(indices), device=device)
                        loss, stats = loss_fn(StepBatch(
                            log_probs=log_probs, old_log_probs=old.to(device), ref_log_probs=ref.to(device),
                            token_mask=mask.to(device), advantages=advantages[indices].to(device), values=values,
                            returns=returns[indices].to(device), action_mask=action_mask), settings, warmup=warmup)
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
        steps_per_update = config.env.num_envs * config.run.steps_per_env * self.world
        try:
            with progress:
                while state["update"] < self.updates_total:
                    started = time.perf_counter()
                    rollout = self.collector.collect(config.run.steps_per_env)
                    collected = time.perf_counter()
                    if self.groups is not None:  # LOOP: leave-one-out advantages of complete groups
                        records = self.groups.add(rollout)
                    else:
                        records = assign_advantages(rollout, config.algo.gamma, config.algo.gae_lambda)
                    warmup = state["update"] < config.algo.settings.warmup_updates
                    stats = self.update(records, warmup=warmup) if records else {"skipped": 1.0}
                    finished = time.perf_counter()
                    state["update"] += 1
                    state["env_steps"] += steps_per_update
                    state["seed_cursor"] = self.collector.seed_cursor
                    state["episodes"] += len(rollout.episodes)
                    state["worker_restarts"] += rollout.worker_restarts
                    metrics = self._metrics(rollout, records, stats, warmup, collected - started, finished - started)
                    self.scheduler.step()  # after the metrics, so that "lr" is the rate this update used
                    self._log(metrics)
                    progress.update(task, completed=min(state["env_steps"], config.run.total_env_steps),
                                    status=f"success {metrics.get('success_rate', float('nan')):.2f}")
                    if state["update"] % config.run.checkpoint_every == 0 or state["update"] == self.updates_total:
                        self.save()
            summary = {"state": dict(state)}
            if config.eval.episodes and self.accelerator.is_main_process:
                summary["eval"] = self.evaluate()
                (self.out / "eval.json").write_text(json.dumps(summary["eval"], indent=2))
            return summary
        finally:
            self.collector.close()
            if self.writer is not None:
                self.writer.close()
                self.jsonl.close()

    def _metrics(self, rollout: Rollout, records, stats, warmup: bool, collect_s: float, total_s: float):
        episodes = rollout.episodes
        values = np.array([r.value for r in records])
        returns = np.array([r.ret for r in records])
        metrics: dict[str, Any] = {"update": self.state["update"], "env_steps": self.state["env_steps"],
                                   "lr": self.scheduler.get_last_lr()[0], "warmup": warmup,
                                   "explained_variance": explained_variance(values, returns),
                                   "env_steps_per_s": sum(map(len, rollout.steps)) * self.world / total_s,
                                   "trained_steps": len(records),
                                   "tokens_per_s": rollout.generated_tokens / collect_s,
                                   "collect_s": collect_s, "update_s": total_s - collect_s,
                                   "worker_restarts": rollout.worker_restarts, **stats}
        if episodes:
            metrics.update(summarize(episodes))
            metrics.pop("success_ci95")
        if self.groups is not None:
            metrics.update(pending_steps=self.groups.pending_steps, dropped_steps=self.groups.dropped_steps)
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
        seeds = list(range(ev.seed_start, ev.seed_start + ev.episodes))
        episodes = play_episodes(self.unwrapped, self.config.env, seeds, ev.sampling, batch_size=ev.num_envs)
        return {"seeds": [seeds[0], seeds[-1]], "sampling": ev.sampling.model_dump(), **summarize(episodes)}
