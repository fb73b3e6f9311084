"""RL4VLM and LOOP: losses against hand-worked numbers, RL4VLM's thought/action split, LOOP's groups."""

import json
import math

import pytest
import torch

from vlgym_agents.algos import (
    EpisodeGroups,
    LOOPSettings,
    RL4VLMSettings,
    StepBatch,
    VLDACSettings,
    action_token_mask,
    leave_one_out,
    loop_loss,
    rl4vlm_loss,
    vldac_loss,
)
from vlgym_agents.algos.rl4vlm import action_char_start, sequence_log_probs
from vlgym_agents.rollout.types import Rollout, StepRecord

LOG = math.log


def batch(**overrides):
    # step 0: thought token (ratio 2) + action token (ratio 1.25), A = 1;
    # step 1: thought token (ratio 1) + action token (ratio 0.5) + padding, A = -2.
    values = dict(
        log_probs=torch.tensor([[LOG(0.4), LOG(0.5), 0.0], [LOG(0.3), LOG(0.2), 0.0]], requires_grad=True),
        old_log_probs=torch.tensor([[LOG(0.2), LOG(0.4), 0.0], [LOG(0.3), LOG(0.4), -5.0]]),
        ref_log_probs=torch.tensor([[LOG(0.4), LOG(0.5), 0.0], [LOG(0.6), LOG(0.2), -9.0]]),
        token_mask=torch.tensor([[True, True, False], [True, True, False]]),
        advantages=torch.tensor([1.0, -2.0]),
        values=torch.tensor([0.5, -1.0], requires_grad=True),
        returns=torch.tensor([1.5, 0.0]),
        action_mask=torch.tensor([[False, True, True], [False, True, True]]),
    )
    values.update(overrides)
    return StepBatch(**values)


# -- RL4VLM --------------------------------------------------------------------------------------------------
def test_rl4vlm_sequence_ratio_weights_thoughts_by_lambda():
    settings = RL4VLMSettings(thought_coef=0.5, clip_eps=0.1, value_coef=0.15, kl_beta=0.05)
    loss, stats = rl4vlm_loss(batch(), settings)
    # step 0: log r = 0.5 log 2 + log 1.25 -> r = sqrt(2) * 1.25 = 1.7678 -> min(1.7678, 1.1) * 1 = 1.1
    # step 1: log r = 0.5 * 0 + log 0.5  -> r = 0.5 -> min(0.5 * -2, 0.9 * -2) = -1.8
    assert stats["policy_loss"] == pytest.approx(-(1.1 - 1.8) / 2)
    assert stats["clip_fraction"] == 1.0
    kl = (0 + (2 - LOG(2) - 1) / 2) / 2  # k3 per token, mean per step (padding ignored), mean over steps
    assert stats["kl_ref"] == pytest.approx(kl)
    assert stats["value_loss"] == pytest.approx(0.5)
    assert loss.item() == pytest.approx(0.35 + 0.05 * kl + 0.15 * 0.5)
    assert stats["action_token_fraction"] == pytest.approx(0.5)


def test_rl4vlm_lambda_one_is_the_plain_sequence_ratio_and_gradients_follow_lambda():
    b = batch()
    rl4vlm_loss(b, RL4VLMSettings(thought_coef=0.3, kl_beta=0.0, value_coef=0.0, clip_eps=0.9))[0].backward()
    # unclipped (eps 0.9): d/dlogp_i of -(1/2) r A = -(1/2) r A w_i with w = 0.3 for thoughts, 1 for actions
    r0 = math.exp(0.3 * LOG(2) + LOG(1.25))
    assert b.log_probs.grad[0].tolist() == pytest.approx([-0.5 * r0 * 0.3, -0.5 * r0, 0.0])
    assert b.log_probs.grad[1, 2] == 0  # padding
    full = sequence_log_probs(b.log_probs, b.token_mask, b.action_mask, 1.0)
    assert full[0].item() == pytest.approx(LOG(0.4) + LOG(0.5))


def test_rl4vlm_without_a_split_counts_every_token_as_action():
    _, with_none = rl4vlm_loss(batch(action_mask=None), RL4VLMSettings(thought_coef=0.2))
    _, all_action = rl4vlm_loss(batch(action_mask=torch.ones(2, 3, dtype=torch.bool)),
                                RL4VLMSettings(thought_coef=0.2))
    assert with_none["policy_loss"] == pytest.approx(all_action["policy_loss"])
    assert with_none["action_token_fraction"] == 1.0


def test_rl4vlm_far_off_policy_step_stays_finite():
    far = batch(old_log_probs=torch.full((2, 3), -30.0))
    loss, _ = rl4vlm_loss(far, RL4VLMSettings())
    assert torch.isfinite(loss)


TRICKY = [
    # (answer, the text the action part must start with)
    ('{"thoughts": "go {up} then \\"action\\": down", "action": "+"}', '"action": "+"}'),
    ('{"thoughts": "a } brace, a { brace and \'quotes\'", "action": "-"}', '"action": "-"}'),
    ('Sure! {"thoughts": "the format is {\\"action\\": x}", "action" : "2"} done', '"action" : "2"} done'),
    ('{"thoughts": "first"}{"thoughts": "echo", "action": "hit"}', '"action": "hit"}'),
    ("{'thoughts': 'it\\'s fine', 'action': 'stand'}", "'action': 'stand'}"),
    ('{thoughts: "bare keys", action: "+"}', 'action: "+"}'),
    ("I'd say action: +", "action: +"),
    ('{"thoughts": "truncated, no act', None),
    ('plain text with the word action in it', None),
]


@pytest.mark.parametrize(("answer", "action_text"), TRICKY)
def test_action_char_start_ignores_braces_and_quotes_in_thoughts(answer, action_text):
    start = action_char_start(answer)
    assert (None if start is None else answer[start:]) == action_text


@pytest.fixture(scope="module", params=["qwen2_5_vl", "idefics3"])
def tokenizer(request, tiny_models):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_models[request.param]).tokenizer


@pytest.mark.parametrize(("answer", "action_text"), TRICKY)
def test_action_tokens_cover_the_action_text_and_nothing_before(tokenizer, answer, action_text):
    eos = tokenizer.eos_token_id
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"] + [eos]
    mask = action_token_mask(tokenizer, ids)
    assert mask.shape == (len(ids),) and mask[-1]  # the end-of-turn token is part of the action
    if action_text is None:
        assert mask.all()
        return
    assert not mask.all()
    first = int(mask.nonzero()[0])
    assert not mask[:first].any() and mask[first:].all()  # thoughts first, then one block of action
    before = tokenizer.decode(ids[:first], skip_special_tokens=True)
    action_start = len(answer) - len(action_text)
    assert answer.startswith(before) and len(before) <= action_start  # thought tokens end before the key
    assert len(tokenizer.decode(ids[: first + 1], skip_special_tokens=True)) > action_start


def test_action_tokens_with_multibyte_thoughts(tokenizer):
    answer = json.dumps({"thoughts": "é→✓ 数字 {\"x\"}", "action": "+"}, ensure_ascii=False)
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    mask = action_token_mask(tokenizer, ids)
    before = tokenizer.decode(ids[: int(mask.nonzero()[0])], skip_special_tokens=True)
    assert before.rstrip(", ").endswith("}\"") or before.endswith("}\", ")
    assert "action" not in before


# -- LOOP ----------------------------------------------------------------------------------------------------
def test_leave_one_out_on_a_worked_group():
    # returns 1, 0, 0, 3: mean of the others 1, 4/3, 4/3, 1/3
    assert leave_one_out([1.0, 0.0, 0.0, 3.0]) == pytest.approx([0.0, -4 / 3, -4 / 3, 8 / 3])
    returns = [2.0, -1.0, 0.5]
    mean = sum(returns) / 3
    assert leave_one_out(returns) == pytest.approx([3 / 2 * (r - mean) for r in returns])
    with pytest.raises(ValueError):
        leave_one_out([1.0])


def test_loop_loss_is_token_level_ppo_without_a_critic():
    settings = LOOPSettings(clip_eps=0.1, kl_beta=0.05)
    loss, stats = loop_loss(batch(), settings)
    # step 0: mean(min(2, 1.1), min(1.25, 1.1)) * 1 = 1.1; step 1: mean(min(1*-2, 1*-2), min(0.5*-2, 0.9*-2)) = -1.9
    assert stats["policy_loss"] == pytest.approx(-(1.1 - 1.9) / 2)
    kl = (0 + (2 - LOG(2) - 1) / 2) / 2
    assert loss.item() == pytest.approx(0.4 + 0.05 * kl)
    assert "value_loss" not in stats
    # same actor as VL-DAC: LOOP = VL-DAC with no value term and leave-one-out advantages
    _, vldac = vldac_loss(batch(), VLDACSettings(clip_eps=0.1, kl_beta=0.05))
    assert vldac["policy_loss"] == pytest.approx(stats["policy_loss"])


def step(seed, reward, done=False):
    return StepRecord(prompt=None, tokens=torch.zeros(1), old_log_probs=torch.zeros(1),
                      ref_log_probs=torch.zeros(1), value=0.0, reward=reward, terminated=done, seed=seed)


def test_groups_wait_for_all_episodes_across_rollouts():
    groups = EpisodeGroups(group_size=2)
    # envs 0 and 1 form a group on seed 7; env 0 ends after 2 steps and starts seed 9, env 1 is still playing 7
    first = Rollout(steps=[[step(7, 0.0), step(7, 1.0, done=True), step(9, 0.0)], [step(7, 0.0), step(7, 0.0)]],
                    last_values=[0.0, 0.0], open_seeds={7, 9})
    assert groups.add(first) == []
    assert groups.pending_steps == 5
    second = Rollout(steps=[[step(9, 0.0), step(9, 2.0, done=True)], [step(7, -1.0, done=True), step(9, 0.0)]],
                     last_values=[0.0, 0.0], open_seeds={9, 11})
    ready = groups.add(second)
    # seed 7: returns 1 (env 0) and -1 (env 1) -> advantages 2 and -2 for every step of each episode
    assert sorted((r.seed, r.advantage, r.ret) for r in ready) == sorted(
        [(7, 2.0, 1.0)] * 2 + [(7, -2.0, -1.0)] * 3)
    assert groups.pending_steps == 4  # seed 9: env 0 ended, env 1 still playing
    third = Rollout(steps=[[], [step(9, 1.0, done=False)]], last_values=[0.0, 0.0], open_seeds={11, 13})
    assert groups.add(third) == []  # seed 9 can no longer finish (e.g. restarted workers): dropped
    assert groups.pending_steps == 0 and groups.dropped_steps == 5
