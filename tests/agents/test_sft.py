"""Warm start: expert demonstrations in the RL answer format, a falling loss, and a model folder RL can load."""

import json
import random

import pytest
import torch

from vlgym.prompts import format_answer
from vlgym_agents.policy.vlm import PolicyConfig, VLMPolicy
from vlgym_agents.rollout.collector import is_well_formed
from vlgym_agents.rollout.evaluate import make_env
from vlgym_agents.sft import StateReadout, collect_demonstrations, readout_r2, sft_loss, warm_start


@pytest.fixture
def config(tiny_config):
    return tiny_config("sft.demos=12", "sft.seed_start=700", "sft.max_steps=2", "sft.check_every=2",
                       "sft.check_episodes=2", "sft.batch_size=4", "eval.num_envs=2")


def test_demonstrations_are_expert_steps_in_the_rl_answer_format(config):
    policy = VLMPolicy(config.model)
    demos = collect_demonstrations(policy, config)
    assert len(demos) == 12
    env, seed = make_env(config.env), 700  # replay: the same prompts, the expert's actions, as RL would send them
    obs, info = env.reset(seed=seed)
    for demo in demos:
        assert demo.prompt.text == policy.prompt(obs, info).text and len(demo.prompt.images) == 1
        expert = env.unwrapped.expert_action()
        assert demo.answer == format_answer(expert, "") and is_well_formed(demo.answer)
        obs, _, terminated, truncated, info = env.step(demo.answer)  # the answer text is the action
        assert info["action_valid"] and info["parsed_action"] == expert
        if terminated or truncated:
            assert info["success"]  # the expert solves NumberLine
            seed += 1
            obs, info = env.reset(seed=seed)
    env.close()
    assert seed > 700  # several episodes


def test_a_few_sft_steps_reduce_the_loss(config):
    torch.manual_seed(0)
    policy = VLMPolicy(config.model)
    demos = random.Random(0).sample(collect_demonstrations(policy, config), 8)
    optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=5e-3)
    with torch.no_grad():
        before = sft_loss(policy, demos).item()
    for _ in range(5):
        loss = sft_loss(policy, demos)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = sft_loss(policy, demos).item()
    assert after < before - 0.1, (before, after)


def test_warm_start_writes_a_plain_model_folder(config, tmp_path, tiny_qwen):
    model_dir, summary = warm_start(config, tmp_path / "sft")
    assert summary["demonstrations"] == 12 and [c["step"] for c in summary["checks"]] == [2]
    assert json.loads((tmp_path / "sft" / "sft_log.json").read_text()) == summary["checks"]
    assert not (model_dir / "adapter_config.json").exists()  # the LoRA adapter is merged
    warm = VLMPolicy(PolicyConfig(path=str(model_dir), lora=None, value_head_hidden=[8]))
    base = VLMPolicy(PolicyConfig(path=str(tiny_qwen), lora=None, value_head_hidden=[8]))
    warm_weights, base_weights = dict(warm.model.named_parameters()), dict(base.model.named_parameters())
    assert warm_weights.keys() == base_weights.keys()
    changed = [n for n in warm_weights if not torch.equal(warm_weights[n], base_weights[n])]
    assert changed and all("language_model" in n and "proj" in n for n in changed)  # only where LoRA was
    # RL starts from it with a fresh adapter; the KL reference is this warm-started model
    rl = VLMPolicy(config.model.model_copy(update={"path": str(model_dir)}))
    assert rl.has_adapter


def test_demonstrations_carry_the_experts_return_to_go(config):
    """NumberLine's expert moves closer every step and gets +1 on arrival: from distance d, R = γ^(d-1)."""
    policy = VLMPolicy(config.model)
    demos = collect_demonstrations(policy, config)
    env, seed = make_env(config.env), 700
    env.reset(seed=seed)
    expected = []
    for _ in demos:
        expected.append(config.algo.gamma ** (abs(env.unwrapped.target - env.unwrapped.current) - 1))
        _, _, terminated, truncated, _ = env.step(env.unwrapped.expert_action())
        if terminated or truncated:
            seed += 1
            env.reset(seed=seed)
            complete = len(expected)  # demos up to here belong to finished episodes
    env.close()
    assert [d.ret for d in demos[:complete]] == pytest.approx(expected[:complete])


def test_the_auxiliary_value_loss_trains_the_value_from_the_last_prompt_token(config):
    torch.manual_seed(0)
    policy = VLMPolicy(config.model)
    demos = collect_demonstrations(policy, config)
    optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=5e-3)
    with torch.no_grad():
        before = sft_loss(policy, demos, value_aux=1.0).item() - sft_loss(policy, demos).item()
    for _ in range(10):
        loss = sft_loss(policy, demos, value_aux=1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = sft_loss(policy, demos, value_aux=1.0).item() - sft_loss(policy, demos).item()
    assert after < 0.5 * before, (before, after)


def test_the_readout_r2_scores_the_auxiliary_fit_on_its_own_scale(config):
    """R² = 1 − 2·(auxiliary loss) / var(standardised returns): the same fit, read as a share of the variance."""
    policy = VLMPolicy(config.model)
    demos = collect_demonstrations(policy, config)
    readout = StateReadout(policy.value_head.mlp[0].in_features, [d.ret for d in demos])
    with torch.no_grad():
        aux = sft_loss(policy, demos, 1.0, readout).item() - sft_loss(policy, demos).item()
    targets = (torch.tensor([d.ret for d in demos]) - readout.mean) / readout.std
    assert readout_r2(policy, demos, readout) == pytest.approx(1 - 2 * aux / targets.var(unbiased=False).item(),
                                                               rel=1e-4, abs=1e-4)


@pytest.mark.parametrize(("threshold", "steps"), [(None, [2]), (0.999, [2, 4])])
def test_the_warm_start_waits_for_the_readout_when_asked(config, tmp_path, threshold, steps):
    config = config.model_copy(update={"sft": config.sft.model_copy(update={
        "value_aux": 1.0, "stop_readout_r2": threshold, "stop_valid_rate": 0.0, "max_steps": 4})})
    _, summary = warm_start(config, tmp_path / "sft")
    assert [c["step"] for c in summary["checks"]] == steps  # valid and success rules are met at once
    assert all(c["readout_r2"] < 0.999 for c in summary["checks"])
    # short of the readout, a check plays no episodes; the last one always does
    played = [c["step"] for c in summary["checks"] if "success_rate" in c]
    assert played == ([2] if threshold is None else [4])
