"""Tiny VLMs built once per test session, offline, and saved like real checkpoints."""

import os
import sys

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)  # tiny models on a shared 2-core machine: OpenMP barriers dominate otherwise


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    from vlgym_agents.policy.tiny import ARCHS, build_tiny_vlm

    root = tmp_path_factory.mktemp("tiny")
    return {arch: build_tiny_vlm(root / arch, arch) for arch in ARCHS}


@pytest.fixture(scope="session")
def tiny_qwen(tiny_models):
    return tiny_models["qwen2_5_vl"]


def tiny_run_config(model_path, output_dir) -> dict:
    """A complete training config as a dict: the tiny model, 2 NumberLine envs in-process, seconds per run.

    NumberLine with ``max_position=2`` cuts episodes at 4 steps, so a 4-step rollout sees time-limit truncations.
    """
    return {
        "model": {"path": str(model_path), "lora": {"r": 4, "alpha": 8, "dropout": 0.0}, "value_head_hidden": [16]},
        "env": {"id": "vlgym/GymCards-NumberLine-v0", "num_envs": 2, "vector": "sync",
                "kwargs": {"state_in_text": True, "image_size": 56, "max_position": 2}},
        "sampling": {"max_new_tokens": 8},
        "algo": {"ppo_epochs": 1, "minibatch_size": 4, "vldac": {"warmup_updates": 1}},
        "optim": {"lr": 1e-3, "lr_end": 1e-4},
        "run": {"output_dir": str(output_dir), "total_env_steps": 24, "steps_per_env": 4, "checkpoint_every": 1,
                "keep_checkpoints": 10, "torch_threads": 1, "device": "cpu"},
        "eval": {"episodes": 0, "seed_start": 10_000},
    }


@pytest.fixture
def tiny_config(tiny_qwen, tmp_path):
    """``tiny_config(*overrides)``: a validated TrainConfig of :func:`tiny_run_config` writing under tmp_path."""
    from vlgym_agents.config import load_config

    def make(*overrides: str):
        return load_config(None, list(overrides), base=tiny_run_config(tiny_qwen, tmp_path / "run"))

    return make


@pytest.fixture
def train_main(monkeypatch, capsys):
    """Runs ``vlgym-train ARGS`` in this process the way the console script does (user errors become one line
    and exit code 2); returns (exit code, stdout, stderr)."""
    from vlgym_agents.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["vlgym-train", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        output = capsys.readouterr()
        return exited.value.code, output.out, output.err

    return run
