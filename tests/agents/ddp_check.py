"""Two-process checks on CPU (DDP over gloo), run by test_distributed.py:

    accelerate launch --multi_gpu --num_processes 2 tests/agents/ddp_check.py <tiny model> <output dir>

Each rank computes a VL-DAC loss on its own data; after DDP's all-reduce the gradients must agree across ranks
(and equal the mean of the ranks' own gradients). Then each rank's collector plays its own episode seeds, and a
real two-process Trainer run, where one rank alone hits a NaN loss, must skip that update on both ranks and
leave identical weights. Rank 0 writes ``result.json``.
"""

import json
import sys
from pathlib import Path

import torch


def flat(tensors) -> torch.Tensor:
    return torch.cat([t.detach().flatten().float() for t in tensors])


def main(model_path: str, out: str) -> None:
    torch.set_num_threads(1)
    import gymnasium as gym
    from accelerate import Accelerator
    from accelerate.utils import gather_object
    from conftest import tiny_run_config

    import vlgym  # noqa: F401
    from vlgym_agents.algos.batch import StepBatch
    from vlgym_agents.algos.settings import VLDACSettings
    from vlgym_agents.algos.vldac import vldac_loss
    from vlgym_agents.config import EnvSettings, load_config
    from vlgym_agents.policy.sampling import Sampling
    from vlgym_agents.policy.vlm import LoraSettings, PolicyConfig, VLMPolicy
    from vlgym_agents.rollout.collector import Collector
    from vlgym_agents.train import Trainer

    accelerator = Accelerator(cpu=True)
    rank, world = accelerator.process_index, accelerator.num_processes
    result: dict = {"world": world}

    # -- 1. one VL-DAC backward on rank-dependent data ---------------------------------------------------------
    torch.manual_seed(rank)  # a different initialisation per rank: prepare() must broadcast rank 0's
    policy = VLMPolicy(PolicyConfig(path=model_path, lora=LoraSettings(r=4, dropout=0.0), value_head_hidden=[16]))
    with torch.no_grad():  # lora_B starts at 0, which would leave lora_A without gradient
        for name, parameter in policy.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.05)
    model, _ = accelerator.prepare(policy, torch.optim.AdamW(policy.trainable_parameters(), lr=1e-3))
    result["parameters_agree"] = gather_object([flat(policy.trainable_parameters()).sum().item()])
    env = gym.make("vlgym/GymCards-NumberLine-v0", state_in_text=True, image_size=56)
    obs, info = env.reset(seed=rank)
    env.close()
    sampling = Sampling(max_new_tokens=6)
    batch = policy.encode([policy.prompt(obs, info)] * 2)
    generation = policy.generate(batch, sampling)

    def backward():
        log_probs, values = model(batch, generation.tokens, generation.mask, sampling)
        loss, _ = vldac_loss(StepBatch(
            log_probs=log_probs, old_log_probs=log_probs.detach() - 0.05, ref_log_probs=log_probs.detach() + 0.1,
            token_mask=generation.mask, advantages=torch.tensor([1.0, -0.5]) * (rank + 1), values=values,
            returns=torch.tensor([0.3, -0.2]) * (rank + 2)), VLDACSettings())
        accelerator.backward(loss)
        grads = flat(p.grad for p in policy.trainable_parameters())
        policy.zero_grad(set_to_none=True)
        return grads

    with accelerator.no_sync(model):
        local = backward()
    synced = backward()
    locals_, synceds = accelerator.gather(local[None]), accelerator.gather(synced[None])
    result["local_gradients_differ"] = not torch.allclose(locals_[0], locals_[1])
    result["synced_gradients_agree"] = torch.allclose(synceds[0], synceds[1], atol=1e-7)
    result["synced_is_mean_of_local"] = torch.allclose(synceds[0], locals_.mean(0), atol=1e-6)
    result["gradient_norm"] = float(synceds[0].norm())

    # -- 2. each rank's collector plays its own seeds -------------------------------------------------------------
    settings = EnvSettings(id="vlgym/GymCards-NumberLine-v0", num_envs=2, vector="sync", seed_start=50,
                           kwargs={"state_in_text": True, "image_size": 56, "max_position": 2})
    collector = Collector(settings, policy, sampling, rank=rank, world_size=world, with_reference=False)
    rollout = collector.collect(6)
    collector.close()
    result["seeds"] = gather_object([sorted([e.seed for e in rollout.episodes + collector.episodes])])

    # -- 3. a real Trainer run on both ranks, where rank 1 alone sees a NaN loss once -----------------------------
    from vlgym_agents.algos.vldac import VLDAC

    real_loss, calls = VLDAC.loss_function, []

    def nan_on_rank_1(*args, **kwargs):
        loss, stats = real_loss(*args, **kwargs)
        calls.append(1)
        return (loss * float("nan") if rank == 1 and len(calls) == 2 else loss), stats

    VLDAC.loss_function = nan_on_rank_1
    config = load_config(None, ["run.total_env_steps=24"], base=tiny_run_config(model_path, Path(out) / "run"))
    trainer = Trainer(config)
    initial = flat(trainer.unwrapped.trainable_parameters())
    summary = trainer.train()
    result["updates"] = gather_object([summary["state"]["update"]])
    result["env_steps"] = gather_object([summary["state"]["env_steps"]])
    result["skipped_updates"] = gather_object([summary["state"]["skipped_updates"]])
    weights = flat(trainer.unwrapped.trainable_parameters())
    all_weights = accelerator.gather(weights[None])
    result["trained_weights_agree"] = torch.equal(all_weights[0], all_weights[1])
    result["trained_weights_moved"] = not torch.equal(weights, initial)
    # -- 4. resuming gives each rank back its own random stream ------------------------------------------------
    import hashlib

    at_save = torch.get_rng_state()  # nothing drew random numbers after the last checkpoint
    resumed = Trainer(config, resume=True)
    resumed.collector.close()
    result["rng_resumed"] = gather_object([torch.equal(torch.get_rng_state(), at_save)])
    result["rng_digests"] = gather_object([hashlib.sha1(at_save.numpy().tobytes()).hexdigest()])
    # -- 5. async rollouts, one step carried over each update: the ranks stay paired ----------------------------
    VLDAC.loss_function = real_loss
    config = load_config(None, ["run.total_env_steps=48", "rollout.mode=async", "rollout.max_staleness=1",
                                "rollout.async_groups=2"],
                         base=tiny_run_config(model_path, Path(out) / "run-async"))
    trainer = Trainer(config)
    summary = trainer.train()
    result["async_updates"] = gather_object([summary["state"]["update"]])
    all_weights = accelerator.gather(flat(trainer.unwrapped.trainable_parameters())[None])
    result["async_weights_agree"] = torch.equal(all_weights[0], all_weights[1])
    if accelerator.is_main_process:
        (Path(out) / "result.json").write_text(json.dumps(result))
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
