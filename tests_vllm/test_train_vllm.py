"""A short RL run with ``rollout.engine=vllm``: killed with SIGKILL after its first checkpoint, resumed, finished;
every update logs the engine's log-prob mismatch, and the resumed engine generates with the resumed adapter."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml
from conftest import LORA, numberline_prompts
from test_engine import MAE_BOUND, answers

from vlgym_agents.checkpoint import LATEST
from vlgym_agents.config import Sampling, load_config
from vlgym_agents.train import Trainer

UPDATES = 3


def run_config(model, out) -> dict:
    return {
        "model": {"path": str(model), "lora": LORA, "value_head_hidden": [16]},
        "env": {"id": "vlgym/GymCards-NumberLine-v0", "num_envs": 2, "vector": "sync",
                "kwargs": {"state_in_text": True, "image_size": 56}},
        "sampling": {"max_new_tokens": 8},
        "algo": {"ppo_epochs": 1, "minibatch_size": 4, "vldac": {"warmup_updates": 0}},
        "optim": {"lr": 1e-2, "lr_end": 1e-3},
        "run": {"output_dir": str(out), "total_env_steps": 8 * UPDATES, "steps_per_env": 4, "checkpoint_every": 1,
                "keep_checkpoints": 10, "torch_threads": 1, "device": "cpu"},
        "eval": {"episodes": 0, "seed_start": 10_000},
        "rollout": {"engine": "vllm"},
    }


def train_until_killed(config_file, checkpoint: int) -> int:
    """The trainer's CLI in its own process group, SIGKILLed (trainer and vLLM's engine process) as soon as update
    ``checkpoint``'s checkpoint is written; its exit code."""
    command = [sys.executable, "-m", "vlgym_agents.cli", "rl", str(config_file)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = yaml.safe_load(config_file.read_text())["run"]["output_dir"]
    # A checkpoint is complete once ``latest`` names it (its folder is renamed into place first, then the pointer is
    # written): killing between the two would leave nothing to resume from.
    latest = Path(out) / "checkpoints" / LATEST
    deadline = time.monotonic() + 600
    while process.poll() is None and time.monotonic() < deadline:
        if latest.exists() and latest.read_text().strip() == f"update-{checkpoint:06d}":
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    return process.wait(timeout=60)


def test_a_vllm_run_logs_the_mismatch_survives_sigkill_and_resumes_its_adapter(vllm_model, tmp_path):
    out = tmp_path / "run"
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(run_config(vllm_model, out)))
    assert train_until_killed(config_file, checkpoint=1) == -signal.SIGKILL

    # Resumed (here in-process, as the CLI's --resume does), the engine generates with the checkpoint's adapter:
    # its greedy answers are the policy's. Then the run finishes.
    trainer = Trainer(load_config(config_file), resume=True)
    try:
        engine, policy = trainer.engine, trainer.unwrapped
        assert engine.version == 1
        checkpoint = out / "checkpoints" / "update-000001" / "model" / "adapter_model.safetensors"
        synced = Path(engine.lora_request.lora_path) / "adapter_model.safetensors"
        assert synced.read_bytes() == checkpoint.read_bytes()
        prompts = numberline_prompts(policy, range(4))
        greedy = Sampling(do_sample=False, max_new_tokens=10)
        with torch.no_grad():
            generation = policy.generate(policy.encode(prompts), greedy)
        assert engine.sample(prompts, greedy)[0] == answers(generation.tokens, generation.mask)
        trainer.train()
    finally:
        trainer.engine.close()
        trainer.collector.close()

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["update"] for row in rows] == list(range(1, UPDATES + 1))
    for row in rows:
        assert 0 <= row["engine_logprob_mae"] < MAE_BOUND and 0 <= row["engine_logprob_k3"] < MAE_BOUND
        assert row["engine_adapter_version"] == row["update"] - 1  # update N's rollout: the adapter after N - 1
        assert row["engine_generate_s"] > 0 and row["engine_score_s"] > 0
