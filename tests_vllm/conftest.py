"""vLLM tests: run in .venv-vllm (``.venv-vllm/bin/python -m pytest tests_vllm``; tests/test_vllm_suite.py does it).

One tiny Qwen2.5-VL whose attention head size vLLM's CPU kernels accept, one engine for the whole session.
"""

import os
import shutil
import tempfile

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
# vLLM names each engine's IPC sockets ipc://<VLLM_RPC_BASE_PATH>/<uuid> and leaves their files behind, and its
# workers leave vllm_dist_* folders in the temporary folder: keep both in a folder of the session's own (short: a
# unix socket's path has at most 107 characters), removed at its end. TMPDIR reaches the engine's processes.
IPC_DIR = tempfile.mkdtemp(prefix="vllm-ipc-")
os.environ.setdefault("VLLM_RPC_BASE_PATH", IPC_DIR)
os.environ["TMPDIR"] = tempfile.tempdir = IPC_DIR


def pytest_sessionfinish():
    shutil.rmtree(IPC_DIR, ignore_errors=True)

LORA = {"r": 8, "alpha": 16, "dropout": 0.0}


@pytest.fixture(scope="session")
def vllm_model(tmp_path_factory):
    from vlgym_agents.policy.tiny import VLLM_ARCH, build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / VLLM_ARCH, VLLM_ARCH)


@pytest.fixture(scope="session")
def policy(vllm_model):
    import torch

    from vlgym_agents.config import LoraSettings, PolicyConfig
    from vlgym_agents.policy.vlm import VLMPolicy

    torch.set_num_threads(1)
    torch.manual_seed(0)
    return VLMPolicy(PolicyConfig(path=str(vllm_model), lora=LoraSettings(**LORA), value_head_hidden=[16]))


@pytest.fixture(scope="session")
def engine(policy, tmp_path_factory):
    from vlgym_agents.config import VLLMSettings
    from vlgym_agents.engines.vllm import VLLMEngine

    engine = VLLMEngine(policy, VLLMSettings(), seed=0, workdir=tmp_path_factory.mktemp("engine"))
    engine.sync(policy, 0)
    yield engine
    engine.close()


def numberline_prompts(policy, seeds, **kwargs):
    """Prompts (image + text) of NumberLine's first observation for each seed."""
    import gymnasium as gym

    import vlgym  # noqa: F401 (registers the envs)

    env = gym.make("vlgym/GymCards-NumberLine-v0", image_size=56, **kwargs)
    prompts = []
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        prompts.append(policy.prompt(obs, info))
    env.close()
    assert all(len(p.images) == 1 and isinstance(p.images[0], np.ndarray) for p in prompts)
    return prompts
