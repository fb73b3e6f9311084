"""The value pipeline on hand-made cases whose right values are known, and a fast learning smoke test.

The multi-seed measurement is ``vlgym-train quickstart --seeds 5`` (docs/agents.md), not a test.
"""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import vlgym  # noqa: F401
from vlgym_agents.algos.batch import StepBatch
from vlgym_agents.config import load_config
from vlgym_agents.policy.vlm import Prompt, ValueHead
from vlgym_agents.rollout.gae import gae
from vlgym_agents.train import explained_variance, explained_variance_by_observation, observation_key

GAMMA = 0.5  # the quickstart's
PARITY_ID = "vlgym_test/OneTokenParity-v0"
TOP_K = 8  # a few candidate tokens per prompt, so that 8 samples per update show which parity pays


def test_returns_are_the_discounted_rewards_with_bootstrapping_only_on_truncation():
    # NumberLine with the expert from distance 3: rewards 0, 0, +1, so V = 0.25, 0.5, 1 (γ = 0.5).
    rewards, no = np.array([0.0, 0.0, 1.0]), np.zeros(3, bool)
    true_values = np.array([0.25, 0.5, 1.0])
    advantages, returns = gae(rewards, np.zeros(3), no, no, np.zeros(3), 7.0, gamma=GAMMA, lam=1.0)
    assert returns.tolist() == [0.25 + 7.0 / 8, 0.5 + 7.0 / 4, 1.0 + 7.0 / 2]  # the stream goes on: bootstraps
    advantages, returns = gae(rewards, np.zeros(3), no, np.array([False, False, True]), np.zeros(3), 0.0,
                              gamma=GAMMA, lam=1.0)
    np.testing.assert_allclose(returns, true_values)
    # With the right values, every λ gives zero advantages and returns equal to the values.
    advantages, returns = gae(rewards, true_values, no, np.array([False, False, True]), np.zeros(3), 0.0,
                              gamma=GAMMA, lam=0.5)
    np.testing.assert_allclose(advantages, 0.0, atol=1e-12)
    np.testing.assert_allclose(returns, true_values)
    # A truncated episode bootstraps from its final observation's value, and keeps the step's reward.
    _, returns = gae(np.array([-1.0]), np.zeros(1), np.zeros(1, bool), np.ones(1, bool), np.array([0.5]), 9.0,
                     gamma=GAMMA, lam=0.5)
    assert returns.tolist() == [-1.0 + GAMMA * 0.5]


def fit_critic(features: torch.Tensor, true_values: torch.Tensor, *, norm: bool) -> float:
    """VL-DAC's value loss, warm-up included, on a detached input, for fewer optimiser steps than the quickstart
    gives its critic (48 updates x 4 epochs x 8 minibatches), at its lowest rate; returns the explained variance."""
    from vlgym_agents.algos.vldac import vldac_loss

    settings = load_config("quickstart", ["model.path=x"]).algo.vldac
    torch.manual_seed(0)
    head = ValueHead(features.shape[1], [64], norm=norm)
    optimizer = torch.optim.AdamW(head.parameters(), lr=3e-4)
    zeros = torch.zeros(16, 4)
    for step in range(400):
        rows = torch.randint(0, len(features), (16,))
        batch = StepBatch(log_probs=zeros, old_log_probs=zeros, ref_log_probs=zeros, token_mask=zeros.bool(),
                          advantages=torch.zeros(16), values=head(features[rows].detach()),
                          returns=true_values[rows])
        loss, _ = vldac_loss(batch, settings, warmup=step < 200)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    head.eval()  # acting: the running statistics, not the batch's
    with torch.no_grad():
        return explained_variance(head(features).numpy(), true_values.numpy())


def test_vldac_critic_learns_known_values_and_needs_a_normalised_input_when_states_barely_differ():
    torch.manual_seed(0)
    distances = torch.randint(1, 6, (512,))
    true_values = GAMMA ** (distances.float() - 1)  # NumberLine with the expert, γ = 0.5
    state = torch.randn(5, 64)[distances - 1] + 0.1 * torch.randn(512, 64)
    assert fit_critic(state, true_values, norm=False) > 0.9
    # The tiny model's case (docs/agents.md): a large common part, the state-dependent part ~0.1% of it.
    common = torch.randn(64).expand(512, 64) * 1.0
    assert fit_critic(common + 1e-3 * state, true_values, norm=False) < 0.3
    assert fit_critic(common + 1e-3 * state, true_values, norm=True) > 0.9
    assert math.isnan(explained_variance(np.ones(3), np.ones(3)))  # constant returns: undefined, not 1


def test_what_the_observation_alone_explains():
    """Each step is predicted by the other steps that saw the same observation (leave-one-out)."""
    by_observation = explained_variance_by_observation
    assert by_observation(np.array([1.0, 1.0, 0.0, 0.0]), [b"a", b"a", b"b", b"b"]) == 1.0  # returns follow states
    # Returns independent of the state: predictions 0, 1, 0, 1 against 1, 0, 1, 0, so 1 - 1 / 0.25 = -3.
    assert by_observation(np.array([1.0, 0.0, 1.0, 0.0]), [b"a", b"a", b"b", b"b"]) == pytest.approx(-3.0)
    # A lone observation is predicted by the mean of all other steps: the mean of 1, 1, 0.5, 0.5.
    returns = np.array([1.0, 1.0, 0.0, 0.5, 0.5])
    residuals = [0.0, 0.0, 0.0 - 3.0 / 4, 0.0, 0.0]
    assert by_observation(returns, [b"a", b"a", b"b", b"c", b"c"]) == pytest.approx(
        1 - np.var(residuals) / np.var(returns))
    assert math.isnan(by_observation(np.array([1.0, 2.0, 3.0]), [b"a", b"b", b"c"]))  # nothing repeats
    image = np.zeros((2, 2, 3), np.uint8)
    same, other_text = Prompt("Target: 3.", [image]), Prompt("Target: 4.", [image])
    other_image = Prompt("Target: 3.", [image + 1])
    assert observation_key(same) == observation_key(Prompt("Target: 3.", [image.copy()]))
    assert len({observation_key(p) for p in (same, other_text, other_image)}) == 3


class OneTokenParity(gym.Wrapper):
    """One-step episodes rewarded 1 when the (one-token) answer has an odd number of characters."""

    def step(self, action):
        obs, _, _, _, info = self.env.step(action)
        return obs, float(len(action) % 2), True, False, info


gym.register(PARITY_ID, entry_point=lambda **kwargs: OneTokenParity(gym.make("vlgym/GymCards-NumberLine-v0",
                                                                             **kwargs)))


@torch.no_grad()
def expected_parity_reward(policy, seeds, top_k: int) -> float:
    """The exact expected reward of one token sampled like the trainer does (temperature 1, top-k, no specials)."""
    env = gym.make(PARITY_ID, state_in_text=True, image_size=56)
    prompts = [policy.prompt(*env.reset(seed=s)) for s in seeds]
    logits = policy.model(**policy.encode(prompts), logits_to_keep=1).logits[:, -1].float()
    logits[:, policy.suppress_token_ids] = -math.inf
    logits[logits < logits.topk(top_k, -1).values[:, -1:]] = -math.inf
    tokenizer = policy.processor.tokenizer
    odd = torch.tensor([len(tokenizer.decode([v], skip_special_tokens=True)) % 2 for v in range(logits.shape[1])],
                       dtype=torch.float32)
    return float((logits.softmax(-1) @ odd).mean())


@pytest.mark.timeout(120)
def test_a_few_vldac_updates_move_the_policy_toward_the_reward(tiny_qwen, tmp_path):
    from vlgym_agents.train import Trainer

    config = load_config(None, [], base={
        "model": {"path": str(tiny_qwen), "lora": {"r": 4, "dropout": 0.0}, "value_head_hidden": [16]},
        "env": {"id": PARITY_ID, "kwargs": {"state_in_text": True, "image_size": 56}, "num_envs": 8,
                "vector": "sync"},
        "sampling": {"max_new_tokens": 1, "top_k": TOP_K},
        "algo": {"minibatch_size": 8, "ppo_epochs": 2, "vldac": {"warmup_updates": 1, "kl_beta": 0.0}},
        "optim": {"lr": 2e-2, "lr_end": 2e-2},
        "run": {"output_dir": str(tmp_path), "total_env_steps": 128, "steps_per_env": 1, "checkpoint_every": 100,
                "device": "cpu", "seed": 0},
        "eval": {"episodes": 0}})
    torch.manual_seed(0)
    trainer = Trainer(config)
    seeds = range(90_000, 90_016)
    before = expected_parity_reward(trainer.unwrapped, seeds, TOP_K)
    trainer.train()
    after = expected_parity_reward(trainer.unwrapped, seeds, TOP_K)
    assert after > before + 0.05, (before, after)
