"""rollout.mode async with bounded staleness: behaviour log-probs in the ratio, versions recorded, runs train."""

import json
import math

import pytest
import torch

from vlgym_agents.algos.batch import StepBatch
from vlgym_agents.algos.vldac import token_ppo_actor
from vlgym_agents.config import EnvSettings, load_config, packaged_configs
from vlgym_agents.policy.sampling import Sampling
from vlgym_agents.policy.vlm import LoraSettings, PolicyConfig, VLMPolicy
from vlgym_agents.rollout.collector import Collector
from vlgym_agents.train import Trainer

SAMPLING = Sampling(max_new_tokens=8)


@pytest.fixture(scope="module")
def policy(tiny_qwen):
    return VLMPolicy(PolicyConfig(path=str(tiny_qwen), value_head_hidden=[16], lora=LoraSettings(r=4, dropout=0.0)))


def test_a_stale_step_is_clipped_around_its_behaviour_policy():
    """One step, two tokens, sampled one update ago with log-probs (-1.0, -2.0); the current policy gives
    (-0.8, -2.1). Ratios e^0.2 = 1.2214 and e^-0.1 = 0.9048; with A = 1 and clip 0.1 the surrogate per token is
    min(1.2214, 1.1) = 1.1 and min(0.9048, 0.9048) = 0.9048, so the loss is -(1.1 + 0.9048) / 2 = -1.0024."""
    batch = StepBatch(log_probs=torch.tensor([[-0.8, -2.1]]), old_log_probs=torch.tensor([[-1.0, -2.0]]),
                      ref_log_probs=torch.tensor([[-0.8, -2.1]]), token_mask=torch.ones(1, 2, dtype=torch.bool),
                      advantages=torch.tensor([1.0]), values=torch.zeros(1), returns=torch.zeros(1))
    policy_loss, kl, stats = token_ppo_actor(batch, clip_eps=0.1)
    assert policy_loss.item() == pytest.approx(-(1.1 + math.exp(-0.1)) / 2, abs=1e-6)
    assert policy_loss.item() == pytest.approx(-1.0024, abs=1e-4)
    assert stats["clip_fraction"] == pytest.approx(0.5)
    assert kl.item() == pytest.approx(0.0, abs=1e-7)


def two_envs(policy, **kwargs) -> Collector:
    """A collector of two in-process NumberLine envs (``kwargs``: its schedule)."""
    settings = EnvSettings(id="vlgym/GymCards-NumberLine-v0", num_envs=2, vector="sync", seed_start=100,
                           kwargs={"state_in_text": True, "image_size": 56, "max_position": 2})
    return Collector(settings, policy, SAMPLING, with_reference=False, **kwargs)


def scores(policy, record) -> torch.Tensor:
    batch = policy.encode([record.prompt])
    tokens = record.tokens.unsqueeze(0)
    log_probs, _ = policy(batch, tokens, torch.ones_like(tokens, dtype=torch.bool), SAMPLING)
    return log_probs[0]


@torch.no_grad()
def test_a_step_carried_over_an_update_keeps_its_version_and_behaviour_log_probs(policy):
    collector = two_envs(policy, mode="async", max_staleness=1, async_groups=2)
    before = {name: p.clone() for name, p in policy.named_parameters() if p.requires_grad}
    try:
        first = collector.collect(2)
        assert first.staleness(0) == 0 and list(collector.carried) == [0]  # env 0's third step is in flight
        torch.manual_seed(1)
        for _name, p in policy.named_parameters():  # "an update"
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.5)
        collector.policy_version = 1
        second = collector.collect(2)
        assert [[r.policy_version for r in s] for s in second.steps] == [[0, 1], [1, 1]]
        assert second.staleness(1) == 1 and [len(s) for s in second.steps] == [2, 2]
        carried = second.steps[0][0]
        assert not torch.allclose(scores(policy, carried), carried.old_log_probs, atol=1e-4)  # not the new weights'
        for name, p in policy.named_parameters():
            if p.requires_grad:
                p.copy_(before[name])
        assert torch.allclose(scores(policy, carried), carried.old_log_probs, atol=1e-4)  # the behaviour policy's
    finally:
        collector.close()
        for name, p in policy.named_parameters():
            if p.requires_grad:
                p.copy_(before[name])


def test_rollout_settings_validate_and_packaged_configs_stay_sync():
    assert all(load_config(name).rollout.mode == "sync" for name in packaged_configs())
    assert load_config("quickstart", ["rollout.mode=async", "rollout.max_staleness=1"]).rollout.max_staleness == 1
    with pytest.raises(ValueError, match=r"needs rollout\.mode: async"):
        load_config("quickstart", ["rollout.max_staleness=1"])
    with pytest.raises(ValueError, match="mode"):
        load_config("quickstart", ["rollout.mode=eventually"])
    with pytest.raises(ValueError, match=r"needs rollout\.sampling_streams: per_step"):
        load_config("quickstart", ["rollout.mode=async", "rollout.sampling_streams=batch"])


@torch.no_grad()
@pytest.mark.parametrize("mode", ["sync", "async-1", "async-2"])
def test_per_step_streams_make_the_trajectories_independent_of_the_grouping(policy, mode):
    """Env i's t-th step samples with its own seed, so one batch (sync or async with one group) and two groups
    play the same answers in the same episodes; with the default one stream per batch, sync differs."""
    def play(collector) -> list[list[tuple]]:
        torch.manual_seed(5)
        try:
            rollouts = [collector.collect(4) for _ in range(2)]
        finally:
            collector.close()
        return [[(r.seed, r.tokens.tolist()) for r in steps] for rollout in rollouts for steps in rollout.steps]

    schedule = {"sync": {"mode": "sync", "sampling_streams": "per_step"},
                "async-1": {"mode": "async", "async_groups": 1}, "async-2": {"mode": "async", "async_groups": 2}}
    played = play(two_envs(policy, **schedule[mode]))
    assert played == play(two_envs(policy, mode="async", async_groups=2))
    assert played != play(two_envs(policy, mode="sync"))


@pytest.mark.parametrize(("one_batch", "two_groups", "kept"), [(2.0, 1.8, 2), (2.0, 1.81, 1), (2.0, 2.5, 1)])
def test_auto_groups_keep_two_only_if_they_were_clearly_faster(policy, one_batch, two_groups, kept):
    collector = two_envs(policy, mode="async")
    assert [collector.async_groups() for _ in range(2)] == [1, 1]  # not decided yet: one batch
    for seconds in (30.0, one_batch):  # the first rollout (start-up) is not compared
        collector._time_trial(seconds)
    assert collector.groups is None and collector.async_groups() == 2  # the third rollout tries two groups
    collector._time_trial(two_groups)
    assert collector.groups == kept and collector.async_groups() == kept
    assert two_envs(policy, mode="sync").async_groups() == 1
    assert two_envs(policy, mode="async", async_groups=1).async_groups() == 1


@torch.no_grad()
def test_auto_groups_decide_from_the_rollouts_they_timed(policy):
    collector = two_envs(policy, mode="async", max_staleness=1)
    try:
        used = [collector.collect(2).async_groups for _ in range(3)]
        assert used == [1, 1, 2] and len(collector.trial_s) == 3
        assert not collector.carried  # no step is carried over an update while the groups are on trial
        one_batch, two_groups = collector.trial_s[1:]
        decided = 2 if two_groups <= 0.9 * one_batch else 1
        assert collector.groups == decided and [collector.collect(2).async_groups for _ in range(2)] == [decided] * 2
    finally:
        collector.close()


@pytest.mark.parametrize(("staleness", "groups"), [(0, "2"), (1, "2"), (0, "auto")])
def test_training_in_async_mode(tiny_config, staleness, groups):
    config = tiny_config("rollout.mode=async", f"rollout.max_staleness={staleness}", "env.vector=async",
                         "env.step_timeout=60", f"rollout.async_groups={groups}")
    summary = Trainer(config).train()
    rows = [json.loads(line) for line in (config.run.output_dir / "metrics.jsonl").read_text().splitlines()]
    assert summary["state"]["update"] == 3 and summary["state"]["env_steps"] == 24
    assert [r["staleness"] for r in rows] == [0] + [staleness] * 2
    assert [r["async_groups"] for r in rows] == ([2] * 3 if groups == "2" else [1, 1, 2])
    assert summary["state"]["async_groups"] in (1, 2)
    if groups == "auto":  # the checkpoint keeps auto's decision: a resumed run does not try again
        resumed = Trainer(config, resume=True)
        resumed.collector.close()
        assert resumed.collector.groups == summary["state"]["async_groups"]
    assert all(r["worker_timeouts"] == 0 and math.isfinite(r["loss"]) for r in rows)
