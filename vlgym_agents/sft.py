"""Warm start: supervised fine-tuning on expert demonstrations, in the answer format RL uses.

Demonstrations come straight from ``env.unwrapped.expert_action()``, or from a dataset of recorded steps
(``sft.dataset``: ``vlgym record --agent expert ...`` or ``vlgym export``; the same steps give the same
demonstrations): each step is the prompt the policy would see and the answer
``{"thoughts": ..., "action": <expert action>}``. Training is teacher-forced cross-entropy
on the answer tokens (and the end-of-turn token). Every ``check_every`` steps the policy plays a few episodes
with the RL sampling parameters, and training stops as soon as its *sampled* answers are valid often enough:
greedy decoding hides a format that is right at the argmax but still too uncertain to sample,
and stopping early leaves RL room to improve. With ``sft.stop_readout_r2``, a check first scores the readout, and
plays its episodes only once the readout passes (before that, the check could not stop training anyway).

The result is a plain model folder (a LoRA adapter, if any, is merged), which RL then loads as its base model
and KL reference.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from vlgym.eval import summarize
from vlgym.prompts import format_answer
from vlgym_agents.config import Sampling, SFTSettings, TrainConfig
from vlgym_agents.policy.vlm import Prompt, VLMPolicy
from vlgym_agents.preflight import check_startup
from vlgym_agents.rollout.evaluate import make_env, play_episodes
from vlgym_agents.runtime import quiet_libraries, setup_torch

log = logging.getLogger(__name__)
READOUT_CHECK_DEMOS = 256  # held-out expert steps (their own episode seeds) on which the readout is scored


@dataclass
class Demonstration:
    prompt: Prompt
    answer: str
    ret: float = 0.0  # the expert's discounted return from this step on (``sft.value_aux``)


def collect_demonstrations(policy: VLMPolicy, config: TrainConfig) -> list[Demonstration]:
    """``config.sft.demos`` expert steps from episodes seeded from ``config.sft.seed_start`` upward."""
    settings, sft = config.env, config.sft
    env = make_env(settings)
    demos: list[Demonstration] = []
    seed = sft.seed_start
    try:
        while len(demos) < sft.demos:
            obs, info = env.reset(seed=seed)
            seed += 1
            episode: list[tuple[Demonstration, float]] = []
            done = False
            while not done and len(demos) + len(episode) < sft.demos:
                action = env.unwrapped.expert_action()
                demo = Demonstration(policy.prompt(obs, info, action_index=settings.number_actions),
                                     format_answer(action, sft.thoughts))
                obs, reward, terminated, truncated, info = env.step(action)
                episode.append((demo, float(reward)))
                done = terminated or truncated
            ret = 0.0
            for demo, reward in reversed(episode):  # return-to-go of the demonstrated (possibly cut) episode
                demo.ret = ret = reward + config.algo.gamma * ret
            demos += [demo for demo, _ in episode]
    finally:
        env.close()
    return demos


def load_demonstrations(policy: VLMPolicy, config: TrainConfig) -> list[Demonstration]:
    """The first ``config.sft.demos`` rows of the dataset ``config.sft.dataset``, recorded on ``config.env``."""
    import datasets
    import numpy as np

    settings, sft = config.env, config.sft
    if settings.history:
        raise ValueError("sft.dataset holds one frame per step: it needs env.history = 0")
    demos: list[Demonstration] = []
    # A folder written again keeps its path, and datasets' shared cache would hand back the old rows: read it
    # through a cache of its own, in memory.
    with tempfile.TemporaryDirectory() as cache:
        rows = datasets.load_dataset(str(sft.dataset), split="train", cache_dir=cache, keep_in_memory=True)
    for row in rows:
        if len(demos) == sft.demos:
            break
        if row["env_id"] != settings.id or json.loads(row["env_kwargs"]) != settings.kwargs:
            raise ValueError(f"{sft.dataset} was recorded on {row['env_id']} {row['env_kwargs']}, not on "
                             f"env.id={settings.id} env.kwargs={json.dumps(settings.kwargs)}")
        obs = {"image": np.asarray(row["image"].convert("RGB")), "text": row["text"]}
        info = {"instruction": row["instruction"], "available_actions": row["available_actions"]}
        demos.append(Demonstration(policy.prompt(obs, info, action_index=settings.number_actions),
                                   format_answer(row["action"], sft.thoughts)))
    if len(demos) < sft.demos:
        log.warning("%s has %d steps, fewer than sft.demos=%d: training on all of them", sft.dataset, len(demos),
                    sft.demos)
    return demos


def answer_tokens(policy: VLMPolicy, answers: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids of each answer followed by the end-of-turn token, and their mask."""
    tokenizer = policy.processor.tokenizer
    end = policy.eos_token_ids[0] if tokenizer.eos_token_id is None else tokenizer.eos_token_id
    ids = [tokenizer(a, add_special_tokens=False)["input_ids"] + [end] for a in answers]
    width = max(len(x) for x in ids)
    tokens = torch.full((len(ids), width), policy.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.bool)
    for row, x in enumerate(ids):
        tokens[row, : len(x)] = torch.as_tensor(x)
        mask[row, : len(x)] = True
    return tokens.to(policy.device), mask.to(policy.device)


class StateReadout:
    """The auxiliary objective's fixed readout: the last prompt token's state ``h`` projected on a fixed random
    unit direction ``u``, fitted to the standardised return-to-go of the demonstrations.

    Nothing in the readout learns, so the loss can only be met by moving the state itself, by about one unit
    along ``u`` per standard deviation of the return: a scale a fresh value head at its usual initialisation
    reads. (A learned head can instead grow its weights and leave states that differ between prompts by ~0.1%,
    which the RL critic, a new head, cannot read.)
    """

    def __init__(self, hidden_size: int, returns: Sequence[float]):
        direction = torch.randn(hidden_size, generator=torch.Generator().manual_seed(0))
        self.direction = direction / direction.norm()
        targets = torch.tensor(list(returns), dtype=torch.float32)
        self.mean = float(targets.mean())
        self.std = float(targets.std()) if len(targets) > 1 and float(targets.std()) > 1e-6 else 1.0

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden.float() @ self.direction.to(hidden.device)

    def standardised(self, returns: Sequence[float], like: torch.Tensor) -> torch.Tensor:
        """The returns as the readout should project them (dtype and device of ``like``)."""
        return (torch.tensor(list(returns), dtype=like.dtype, device=like.device) - self.mean) / self.std

    def loss(self, projections: torch.Tensor, returns: Sequence[float]) -> torch.Tensor:
        """½ (h·u − standardised return)², averaged."""
        return 0.5 * (projections - self.standardised(returns, projections)).pow(2).mean()


def sft_loss(policy: VLMPolicy, demos: list[Demonstration], value_aux: float = 0.0,
             readout: StateReadout | None = None) -> torch.Tensor:
    """Mean negative log-likelihood per answer token, plus ``value_aux`` times the auxiliary loss of
    :class:`StateReadout` (by default fitted to these demonstrations' returns): it trains the model so that the
    last prompt token's final state, which the RL critic will read, carries the expert's return-to-go.
    """
    batch = policy.encode([d.prompt for d in demos])
    tokens, mask = answer_tokens(policy, [d.answer for d in demos])
    aux = value_aux > 0
    if aux and readout is None:
        readout = StateReadout(policy.value_head.mlp[0].in_features, [d.ret for d in demos])
    log_probs, projections = policy(batch, tokens, mask, Sampling(), with_values=aux, readout=readout)
    loss = -(log_probs * mask).sum() / mask.sum()
    if aux:
        loss = loss + value_aux * readout.loss(projections, [d.ret for d in demos])
    return loss


def readout_r2(policy: VLMPolicy, demos: list[Demonstration], readout: StateReadout) -> float:
    """How much of these demonstrations' standardised returns the readout explains (R²): whether the last prompt
    token's state carries the return yet."""
    projections = torch.cat([policy.values(policy.encode([d.prompt for d in demos[first:first + 32]]), readout)
                             for first in range(0, len(demos), 32)])
    targets = readout.standardised([d.ret for d in demos], projections)
    return float(1 - (projections - targets).pow(2).mean() / targets.var(unbiased=False))


def readout_passed(check: dict, sft: SFTSettings) -> bool:
    """The readout part of the stop rule: no threshold set, or the check's R² reaches it."""
    return sft.stop_readout_r2 is None or check.get("readout_r2", 1.0) >= sft.stop_readout_r2


def stop_rule_met(check: dict, sft: SFTSettings) -> bool:
    """Sampled answers valid often enough, and (where set) success and the readout's R² high enough.

    A check whose readout fell short played no episodes (no ``success_rate``): it never stops the warm start.
    """
    return (readout_passed(check, sft) and "success_rate" in check
            and 1.0 - check["invalid_action_rate"] >= sft.stop_valid_rate
            and (sft.stop_success_rate is None or check["success_rate"] >= sft.stop_success_rate))


def warm_start(config: TrainConfig, output_dir: str | Path, *, report=None) -> tuple[Path, dict]:
    """Run the warm start; returns the model folder and a summary of each check (also written as JSON)."""
    check_startup(config)  # the model, its processor and the env's extra, before any weights load
    output_dir = Path(output_dir)
    sft = config.sft
    random.seed(config.run.seed)
    torch.manual_seed(config.run.seed)
    quiet_libraries()
    policy = VLMPolicy(config.model, device=setup_torch(config.run))
    if sft.dataset and sft.value_aux > 0:
        raise ValueError("sft.value_aux needs returns-to-go, which only played demonstrations have: "
                         "use sft.value_aux=0 with sft.dataset")
    demos = load_demonstrations(policy, config) if sft.dataset else collect_demonstrations(policy, config)
    optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=sft.lr, betas=(0.9, 0.98), weight_decay=0.0)
    check_seeds = list(range(sft.seed_start + 100_000, sft.seed_start + 100_000 + sft.check_episodes))
    rng = random.Random(config.run.seed)
    readout = StateReadout(policy.value_head.mlp[0].in_features, [d.ret for d in demos]) if sft.value_aux else None
    held_out = collect_demonstrations(policy, config.model_copy(update={"sft": sft.model_copy(
        update={"seed_start": sft.seed_start + 200_000, "demos": READOUT_CHECK_DEMOS})})) if readout else []
    history: list[dict] = []
    policy.train()
    for step in range(1, sft.max_steps + 1):
        loss = sft_loss(policy, rng.sample(demos, min(sft.batch_size, len(demos))), sft.value_aux, readout)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.trainable_parameters(), 1.0)
        optimizer.step()
        if step % sft.check_every and step != sft.max_steps:
            continue
        check = {"step": step, "loss": loss.item()}
        if readout:
            check["readout_r2"] = readout_r2(policy, held_out, readout)
        if readout_passed(check, sft) or step == sft.max_steps:
            # Episodes cost about as much as the training steps between checks, and while the readout falls
            # short they cannot end the warm start.
            check.update(summarize(play_episodes(policy, config.env, check_seeds, config.sampling,
                                                 batch_size=config.eval.num_envs, generator_seed=step)))
        history.append(check)
        if report:
            report(check)
        if stop_rule_met(check, sft):
            break
    model_dir = output_dir / "model"
    model = policy.model.merge_and_unload() if policy.has_adapter else policy.model
    model.save_pretrained(model_dir)
    policy.processor.save_pretrained(model_dir)
    (output_dir / "sft_log.json").write_text(json.dumps(history, indent=2))
    last = history[-1]
    log.info("warm start stopped after %d steps: sampled answers valid %.2f, success %.2f", last["step"],
             1 - last["invalid_action_rate"], last["success_rate"])
    return model_dir, {"demonstrations": len(demos), "checks": history}
