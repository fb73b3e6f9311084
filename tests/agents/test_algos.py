"""VL-DAC's loss terms and step-level GAE against numbers worked by hand."""

import math

import numpy as np
import pytest
import torch

from vlgym_agents.algos.batch import StepBatch, normalize_advantages
from vlgym_agents.algos.settings import VLDACSettings
from vlgym_agents.algos.vldac import k3_kl, vldac_loss
from vlgym_agents.rollout.gae import gae

LOG = math.log


def hand_batch(**overrides):
    # step 0: two tokens, ratios 1.25 and 1.0, A = 1; step 1: one real token (ratio 0.5, A = -2) + padding.
    batch = dict(
        log_probs=torch.tensor([[LOG(0.5), LOG(0.5)], [LOG(0.3), 0.0]], requires_grad=True),
        old_log_probs=torch.tensor([[LOG(0.4), LOG(0.5)], [LOG(0.6), -7.0]]),
        ref_log_probs=torch.tensor([[LOG(0.5), LOG(0.5)], [LOG(0.6), -9.0]]),
        token_mask=torch.tensor([[True, True], [True, False]]),
        advantages=torch.tensor([1.0, -2.0]),
        values=torch.tensor([0.5, -1.0], requires_grad=True),
        returns=torch.tensor([1.5, 0.0]),
    )
    batch.update(overrides)
    return StepBatch(**batch)


SETTINGS = VLDACSettings(clip_eps=0.1, value_coef=0.15, kl_beta=0.05)


def test_policy_term_clips_per_token_and_averages_per_step():
    _, stats = vldac_loss(hand_batch(), SETTINGS)
    # step 0: mean(min(1.25, 1.1), min(1, 1)) = 1.05; step 1: min(0.5 * -2, 0.9 * -2) = -1.8
    assert stats["policy_loss"] == pytest.approx(-(1.05 - 1.8) / 2)
    # |r - 1| > 0.1 for 2 of the 3 real tokens (1.25 and 0.5); the padded token is ignored
    assert stats["clip_fraction"] == pytest.approx(2 / 3)


def test_kl_term_is_k3_per_token_averaged_per_step():
    _, stats = vldac_loss(hand_batch(), SETTINGS)
    # step 0: ref == policy -> 0; step 1: x = log(0.6 / 0.3) -> 2 - log 2 - 1
    assert stats["kl_ref"] == pytest.approx((0 + (2 - LOG(2) - 1)) / 2)
    assert k3_kl(torch.tensor([0.0]), torch.tensor([0.0])).item() == 0.0


def test_value_term_and_total():
    loss, stats = vldac_loss(hand_batch(), SETTINGS)
    assert stats["value_loss"] == pytest.approx(0.5 * (1.0**2 + 1.0**2) / 2)
    expected = 0.375 + 0.05 * (2 - LOG(2) - 1) / 2 + 0.15 * 0.5
    assert loss.item() == pytest.approx(expected)


def test_warmup_trains_only_the_value():
    batch = hand_batch()
    loss, _ = vldac_loss(batch, SETTINGS, warmup=True)
    assert loss.item() == pytest.approx(0.15 * 0.5)
    loss.backward()
    assert torch.count_nonzero(batch.log_probs.grad) == 0
    assert torch.count_nonzero(batch.values.grad) == 2


def test_padding_tokens_get_no_gradient():
    batch = hand_batch()
    vldac_loss(batch, SETTINGS)[0].backward()
    assert batch.log_probs.grad[1, 1] == 0
    # the unclipped token of step 0 (ratio 1.0, A = 1) pulls its log-prob up: d/dlogp of -(1/2)(1/2) r A
    assert batch.log_probs.grad[0, 1].item() == pytest.approx(-0.25 * 1.0 + 0.05 * 0.0)


def test_normalize_advantages():
    a = normalize_advantages(torch.tensor([1.0, 2.0, 3.0]))
    assert a.tolist() == pytest.approx([-1.0, 0.0, 1.0])
    assert normalize_advantages(torch.tensor([5.0])).tolist() == [0.0]


def test_gae_termination():
    advantages, returns = gae(np.array([1.0, 0.0, -1.0]), np.array([0.5, 0.2, 0.1]), np.array([0, 0, 1], bool),
                              np.zeros(3, bool), np.zeros(3), last_value=7.0, gamma=0.9, lam=0.5)
    # t2: -1 - 0.1; t1: 0.9*0.1 - 0.2 + 0.45*A2; t0: 1 + 0.9*0.2 - 0.5 + 0.45*A1 (last_value unused: terminated)
    assert advantages.tolist() == pytest.approx([0.40775, -0.605, -1.1])
    assert returns.tolist() == pytest.approx([0.90775, -0.405, -1.0])


def test_gae_truncation_bootstraps_and_keeps_the_penalty():
    advantages, _ = gae(np.array([0.0, -1.0]), np.array([0.3, 0.4]), np.zeros(2, bool), np.array([0, 1], bool),
                        np.array([0.0, 2.0]), last_value=5.0, gamma=0.9, lam=1.0)
    # t1: -1 (the penalty) + 0.9 * V(final obs) 2.0 - 0.4; t0: 0.9*0.4 - 0.3 + 0.9*A1
    assert advantages.tolist() == pytest.approx([0.42, 0.4])


def test_gae_continues_into_the_next_rollout():
    advantages, _ = gae(np.array([0.0]), np.array([1.0]), np.zeros(1, bool), np.zeros(1, bool), np.zeros(1),
                        last_value=2.0, gamma=0.5, lam=0.9)
    assert advantages.tolist() == pytest.approx([0.0])
