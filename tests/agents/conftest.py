"""Tiny VLMs built once per test session, offline, and saved like real checkpoints."""

import os

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
