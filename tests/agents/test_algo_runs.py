"""Each learning rule runs one real update on a tiny VLM; LOOP's grouped resets share seeds within a group."""

import json

import gymnasium as gym
import pytest
import torch

import vlgym  # noqa: F401
from vlgym_agents.config import load_config

INVALID_ENDS_EPISODE = {"state_in_text": True, "image_size": 56, "invalid_action": "terminate"}
PARITY_ID = "vlgym_test/ParityNumberLine-v0"


class ParityReward(gym.Wrapper):
    """One-step episodes rewarded by the parity of the answer's length: an untrained model's answers then get
    different returns, so every rule (LOOP's leave-one-out included) has non-zero advantages to learn from."""

    def step(self, action):
        obs, _, _, _, info = self.env.step(action)
        return obs, float(len(action) % 2), True, False, info


gym.register(PARITY_ID, entry_point=lambda **kwargs: ParityReward(gym.make("vlgym/GymCards-NumberLine-v0", **kwargs)))


def tiny_config(model_path, output_dir, algo, **overrides):
    base = {
        "model": {"path": str(model_path), "lora": {"r": 4, "dropout": 0.0}, "value_head_hidden": [16]},
        "env": {"id": PARITY_ID, "kwargs": {"state_in_text": True, "image_size": 56}, "num_envs": 4,
                "vector": "sync"},
        "sampling": {"max_new_tokens": 8},
        "algo": {"name": algo, "minibatch_size": 4, "ppo_epochs": 1, "vldac": {"warmup_updates": 0},
                 "rl4vlm": {"warmup_updates": 0}, "loop": {"group_size": 2, "kl_beta": 0.0}},
        "optim": {"lr": 1e-2},
        "run": {"output_dir": str(output_dir), "total_env_steps": 8, "steps_per_env": 2, "checkpoint_every": 100,
                "device": "cpu"},
        "eval": {"episodes": 0},
    }
    return load_config(None, [f"{k}={v}" for k, v in overrides.items()], base=base)


def lora_weights(trainer):
    return {n: p.detach().clone() for n, p in trainer.unwrapped.named_parameters() if "lora_B" in n}


@pytest.mark.parametrize("algo", ["vldac", "rl4vlm", "loop"])
def test_one_update_changes_the_policy(tiny_qwen, tmp_path, algo):
    from vlgym_agents.train import Trainer

    torch.manual_seed(0)
    trainer = Trainer(tiny_config(tiny_qwen, tmp_path, algo))
    before = lora_weights(trainer)
    trainer.train()
    after = lora_weights(trainer)
    assert any(not torch.equal(before[n], after[n]) for n in before)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["update"] == 1 and "skipped" not in rows[-1] and rows[-1]["trained_steps"] > 0
    assert ("action_token_fraction" in rows[-1]) == (algo == "rl4vlm")
    assert ("value_loss" in rows[-1]) == (algo != "loop")


def test_config_names_the_algorithm_and_rejects_unknown_keys(tiny_qwen, tmp_path):
    config = tiny_config(tiny_qwen, tmp_path, "rl4vlm", **{"algo.rl4vlm.thought_coef": 0.3})
    assert config.algo.settings.thought_coef == 0.3 and config.algo.group_size == 1
    with pytest.raises(ValueError, match="thought_coeff"):
        tiny_config(tiny_qwen, tmp_path, "rl4vlm", **{"algo.rl4vlm.thought_coeff": 0.3})
    with pytest.raises(ValueError, match="name"):
        tiny_config(tiny_qwen, tmp_path, "ppo")
    with pytest.raises(ValueError, match=r"multiple of algo\.loop\.group_size"):
        tiny_config(tiny_qwen, tmp_path, "loop", **{"algo.loop.group_size": 3})


@pytest.mark.parametrize("mode", ["sync", "async"])  # async: LOOP group (2, 3) spans both env groups
def test_grouped_resets_share_one_seed_per_group_episode(tiny_qwen, mode):
    from vlgym_agents.config import EnvSettings
    from vlgym_agents.policy.sampling import Sampling
    from vlgym_agents.policy.vlm import LoraSettings, PolicyConfig, VLMPolicy
    from vlgym_agents.rollout.collector import Collector

    policy = VLMPolicy(PolicyConfig(path=str(tiny_qwen), value_head_hidden=[16], lora=LoraSettings(r=4)))
    settings = EnvSettings(id="vlgym/GymCards-NumberLine-v0", kwargs=INVALID_ENDS_EPISODE, num_envs=6,
                           vector="sync", seed_start=100)
    collector = Collector(settings, policy, Sampling(max_new_tokens=6), group_size=2, with_reference=False,
                          mode=mode, async_groups=2)
    torch.manual_seed(0)
    rollout = collector.collect(3)
    collector.close()
    seeds = [[r.seed for r in stream] for stream in rollout.steps]
    episode_seeds = [[s for k, s in enumerate(stream) if k == 0 or rollout.steps[i][k - 1].terminated
                      or rollout.steps[i][k - 1].truncated] for i, stream in enumerate(seeds)]
    # each env of a group plays the group's episodes in the same order; the two groups never share a seed
    for group in ((0, 1), (2, 3), (4, 5)):
        a, b = (episode_seeds[i] for i in group)
        n = min(len(a), len(b))
        assert a[:n] == b[:n]
    groups = [{s for stream in seeds[2 * g: 2 * g + 2] for s in stream} for g in range(3)]
    assert not groups[0] & groups[1] and not groups[0] & groups[2] and not groups[1] & groups[2]
    assert all(s >= 100 for stream in seeds for s in stream)
    with pytest.raises(ValueError, match="multiple"):
        Collector(settings, policy, Sampling(), group_size=4)
