"""Rollouts: seeds from one cursor, episodes across collect calls, one batch per step, GAE wiring, bad answers
handled by the env, and dead env workers replaced."""

import logging
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

import vlgym  # noqa: F401
from vlgym.eval import summarize
from vlgym.vector import split_infos
from vlgym_agents.config import EnvSettings
from vlgym_agents.policy.sampling import Sampling
from vlgym_agents.policy.vlm import LoraSettings, PolicyConfig, VLMPolicy
from vlgym_agents.rollout.collector import Collector
from vlgym_agents.rollout.gae import assign_advantages

SAMPLING = Sampling(max_new_tokens=8)
STEP_LIMIT = 4  # NumberLine with max_position=2
GARBAGE = "I would rather not say."


@pytest.fixture(scope="module")
def policy(tiny_qwen):
    return VLMPolicy(PolicyConfig(path=str(tiny_qwen), value_head_hidden=[16], lora=LoraSettings(r=4, dropout=0.0)))


@pytest.fixture(params=["sync", "async"])
def mode(request) -> str:
    """``rollout.mode``: every collector test runs with both schedules (async: two groups from the start)."""
    return request.param


def schedule(mode: str) -> dict:
    return {"mode": mode, "async_groups": 2}


def settings(**overrides) -> EnvSettings:
    values = dict(id="vlgym/GymCards-NumberLine-v0", num_envs=2, vector="sync", seed_start=100,
                  kwargs={"state_in_text": True, "image_size": 56, "max_position": 2})
    return EnvSettings(**{**values, **overrides})


def answering(policy, monkeypatch, answer: str, calls: list | None = None, before=None):
    """Make ``policy.generate`` sample as usual but answer ``answer`` in every env (the tokens stay sampled)."""
    real = type(policy).generate

    def generate(self, batch, sampling, **kwargs):
        if before is not None:
            before()
        generation = real(self, batch, sampling, **kwargs)
        if calls is not None:
            calls.append(batch["input_ids"].shape[0])
        generation.texts = [answer] * len(generation.texts)
        return generation

    monkeypatch.setattr(type(policy), "generate", generate)


def seeds_used(collector, rollouts) -> list[int]:
    return sorted([e.seed for r in rollouts for e in r.episodes] + [e.seed for e in collector.episodes])


def test_seeds_follow_the_cursor_per_rank(policy, mode, monkeypatch):
    answering(policy, monkeypatch, GARBAGE)
    collector = Collector(settings(), policy, SAMPLING, rank=1, world_size=3, with_reference=False, **schedule(mode))
    rollouts = [collector.collect(3), collector.collect(3)]  # each env: one episode of 4 steps, then 2 more
    collector.close()
    assert collector.seed_cursor == 4
    assert seeds_used(collector, rollouts) == [100 + 3 * k + 1 for k in range(4)]
    others = [Collector(settings(), policy, SAMPLING, rank=r, world_size=3, **schedule(mode)) for r in (0, 2)]
    streams = [{c.next_seed() for _ in range(50)} for c in others]
    assert not streams[0] & streams[1] and not set(seeds_used(collector, rollouts)) & (streams[0] | streams[1])


def test_rollouts_are_reproducible(policy, mode):
    def run():
        torch.manual_seed(0)
        collector = Collector(settings(), policy, SAMPLING, with_reference=False, **schedule(mode))
        rollout = collector.collect(5)
        collector.close()
        return ([[(r.tokens.tolist(), r.reward, r.truncated) for r in stream] for stream in rollout.steps],
                [(e.seed, e.episode_return, e.length) for e in rollout.episodes])

    first = run()
    assert first == run()
    assert len({tuple(r[0]) for stream in first[0] for r in stream}) > 1  # it did sample


def test_episodes_continue_across_collect_calls(policy, mode, monkeypatch):
    answering(policy, monkeypatch, GARBAGE)
    collector = Collector(settings(), policy, SAMPLING, with_reference=False, **schedule(mode))
    first, second = collector.collect(3), collector.collect(3)
    collector.close()
    assert not first.episodes and all(not (r.truncated or r.terminated) for s in first.steps for r in s)
    # the episodes started in the first rollout end at their 4th step: the first step of the second rollout
    assert [e.length for e in second.episodes] == [STEP_LIMIT, STEP_LIMIT]
    assert [e.seed for e in second.episodes] == [100, 101]
    assert all(stream[0].truncated and not stream[1].truncated for stream in second.steps)
    assert [e.seed for e in collector.episodes] == [102, 103]


def test_one_generate_call_per_step_for_all_envs(policy, mode, monkeypatch):
    calls = []
    answering(policy, monkeypatch, GARBAGE, calls)
    collector = Collector(settings(num_envs=3), policy, SAMPLING, with_reference=False, **schedule(mode))
    rollout = collector.collect(5)
    collector.close()
    # async: the two env groups (env 0; envs 1 and 2) take turns, one batch each
    assert calls == ([3] * 5 if mode == "sync" else [1, 2] * 5)
    assert [len(stream) for stream in rollout.steps] == [5, 5, 5]


def test_the_reference_forward_runs_while_the_workers_step(policy, mode, monkeypatch):
    """No env needs the reference log-probs: the actions go to the workers first, the forward runs meanwhile."""
    collector = Collector(settings(num_envs=3, vector="async"), policy, SAMPLING, **schedule(mode))
    groups = {1: {0}, 2: {1, 2}, 3: {0, 1, 2}}  # async: env 0, then envs 1 and 2; sync: all three
    seen = []
    real = type(policy).reference_log_probs

    def reference_log_probs(self, batch, *args, **kwargs):
        envs = collector.envs
        stepping = (set(range(envs.num_envs)) if envs._state.name == "WAITING_STEP"  # a whole-batch step
                    else {i for i, call in envs._sent.items() if call == "step"})
        seen.append(groups[batch["input_ids"].shape[0]] <= stepping)
        return real(self, batch, *args, **kwargs)

    monkeypatch.setattr(type(policy), "reference_log_probs", reference_log_probs)
    rollout = collector.collect(3)
    collector.close()
    assert len(seen) == (3 if mode == "sync" else 6) and all(seen)
    assert all(r.ref_log_probs.shape == r.tokens.shape for stream in rollout.steps for r in stream)


def test_async_resets_one_group_while_the_other_generates(policy, monkeypatch):
    """Env 1's episode ends at its 4th step; its reset goes out while group 0 generates its 5th step (the helper
    thread), not after."""
    collector = Collector(settings(vector="async"), policy, SAMPLING, with_reference=False, **schedule("async"))
    calls, reset_sent = [], []

    def before():
        calls.append(1)
        if len(calls) == 9:  # generate group 0, group 1, group 0, ...: the 9th call is group 0's 5th step
            deadline = time.monotonic() + 10
            while collector.envs._sent.get(1) != "reset" and time.monotonic() < deadline:
                time.sleep(0.01)
            reset_sent.append(collector.envs._sent.get(1) == "reset")

    answering(policy, monkeypatch, GARBAGE, before=before)
    rollout = collector.collect(STEP_LIMIT + 1)
    collector.close()
    assert reset_sent == [True]
    assert [(e.seed, e.length) for e in rollout.episodes] == [(100, STEP_LIMIT), (101, STEP_LIMIT)]


def test_unparseable_answers_leave_the_state_unchanged_and_are_counted(policy, mode, monkeypatch):
    collector = Collector(settings(), policy, SAMPLING, with_reference=False, **schedule(mode))
    positions = []
    answering(policy, monkeypatch, GARBAGE,
              before=lambda: positions.append([e.unwrapped.current for e in collector.envs.envs]))
    rollout = collector.collect(STEP_LIMIT)
    collector.close()
    assert all(p == positions[0] for p in positions)  # never turned into some action
    assert [r.reward for s in rollout.steps for r in s] == [-1.0] * 2 * STEP_LIMIT  # the env's invalid penalty
    stats = summarize(rollout.episodes)
    assert stats["parse_failure_rate"] == 1.0 and stats["invalid_action_rate"] == 1.0
    assert rollout.format_failures == 2 * STEP_LIMIT  # not the prompt's JSON format either


@pytest.mark.parametrize(("answer", "valid"),
                         [('{"thoughts": "", "action": "jump"}', False), ('{"action": "+"}', True)])
def test_well_formed_answers_are_not_format_failures(policy, mode, monkeypatch, answer, valid):
    answering(policy, monkeypatch, answer)
    collector = Collector(settings(num_envs=1), policy, SAMPLING, with_reference=False, **schedule(mode))
    rollout = collector.collect(2)
    collector.close()
    episodes = collector.episodes + rollout.episodes
    assert rollout.format_failures == 0
    assert sum(e.invalid_actions for e in episodes) == (0 if valid else 2)


def test_time_limit_truncation_bootstraps_from_the_final_observation(policy, mode, monkeypatch):
    answering(policy, monkeypatch, GARBAGE)
    collector = Collector(settings(), policy, SAMPLING, with_reference=False, **schedule(mode))
    final_prompts = {}
    real_record = collector._record

    def record(*args):
        done = real_record(*args)  # the episodes that just ended, still at their final observation
        final_prompts.update(zip(done, collector.prompts(done), strict=True))
        return done

    collector._record = record
    rollout = collector.collect(STEP_LIMIT + 1)
    collector.close()
    assert sorted(final_prompts) == [0, 1]
    expected = policy.values(policy.encode([final_prompts[0], final_prompts[1]])).tolist()
    for i, stream in enumerate(rollout.steps):
        cut = stream[STEP_LIMIT - 1]
        assert cut.truncated and not cut.terminated
        assert cut.final_value == pytest.approx(expected[i], abs=1e-6)
        assert cut.final_value != pytest.approx(stream[STEP_LIMIT].value, abs=1e-7)  # not the next episode's
        assert all(r.final_value == 0.0 for j, r in enumerate(stream) if j != STEP_LIMIT - 1)
    # with lambda = 0 every advantage is the one-step TD error: the cut step bootstraps from V(final obs),
    # the others from the next stored value, the last one from V(observation after the rollout)
    gamma = 0.9
    assign_advantages(rollout, gamma, 0.0)
    for stream, last_value in zip(rollout.steps, rollout.last_values, strict=True):
        for t, r in enumerate(stream):
            following = r.final_value if r.truncated else (stream[t + 1].value if t + 1 < len(stream) else last_value)
            assert r.advantage == pytest.approx(r.reward + gamma * following - r.value, abs=1e-6)
            assert r.ret == pytest.approx(r.advantage + r.value, abs=1e-6)


def test_split_infos_inverts_gymnasium_aggregation_including_nested_dicts():
    vector = gym.vector.SyncVectorEnv([lambda: gym.make("vlgym/GymCards-NumberLine-v0")] * 3)
    per_env = [{"success": False, "score": 0.0, "available_actions": ["+", "-"]},
               {"success": True, "score": 1.0, "available_actions": [],
                "purchase": {"asin": "B01", "options": {"color": "red"}, "r_att": 0.5}},
               {"success": False, "score": 0.5, "available_actions": ["+"], "only_here": 3}]
    infos = {}
    for i, info in enumerate(per_env):
        infos = vector._add_info(infos, info, i)
    vector.close()
    assert split_infos(infos, 3) == per_env


# -- dead workers (real worker processes) ----------------------------------------------------------------------

def kill_worker(collector, index: int) -> None:
    process = collector.envs.processes[index]
    process.kill()
    process.join()


def test_worker_killed_between_collects_is_replaced(policy, mode, monkeypatch, caplog):
    answering(policy, monkeypatch, GARBAGE)
    collector = Collector(settings(vector="async"), policy, SAMPLING, with_reference=False, **schedule(mode))
    try:
        collector.collect(1)
        old = list(collector.envs.processes)
        kill_worker(collector, 0)
        with caplog.at_level(logging.WARNING):
            rollout = collector.collect(2)
        assert rollout.worker_restarts == 1
        assert "worker 0" in caplog.text and "restarting" in caplog.text
        assert all(p.is_alive() for p in collector.envs.processes) and not set(collector.envs.processes) & set(old)
        # the failed step is made up for, in fresh episodes with fresh seeds: the rollout keeps its size
        assert [len(s) for s in rollout.steps] == [2, 2]
        assert [e.seed for e in collector.episodes] == [102, 103] and collector.episodes[0].length == 2
        assert len(collector.collect(2).steps[0]) == 2  # and training goes on
    finally:
        collector.close()


def test_worker_killed_during_a_step_cuts_the_episodes_as_truncations(policy, mode, monkeypatch):
    collector = Collector(settings(vector="async"), policy, SAMPLING, with_reference=False, **schedule(mode))
    steps = []

    def maybe_kill():  # before the second step of every env (async: the groups generate in turns)
        steps.append(1)
        if len(steps) == (2 if mode == "sync" else 4):
            kill_worker(collector, 1)

    answering(policy, monkeypatch, GARBAGE, before=maybe_kill)
    try:
        rollout = collector.collect(3)
        assert rollout.worker_restarts == 1
        # sync: step 1 kept and cut, step 2 lost and made up for in a new episode. async: env 0's second step came
        # back (received while env 1's group generated) before env 1's send failed, so env 0 is cut after it.
        cut_after = [0, 0] if mode == "sync" else [1, 0]
        for stream, cut in zip(rollout.steps, cut_after, strict=True):
            assert [r.truncated for r in stream] == [t == cut for t in range(3)]
            assert np.isfinite(stream[cut].final_value) and stream[cut].final_value != 0.0
        assert [e.seed for e in collector.episodes] == [102, 103]
        assert [e.length for e in collector.episodes] == [2 - cut for cut in cut_after]
    finally:
        collector.close()


def test_a_worker_that_keeps_dying_stops_the_rollout(policy, mode, monkeypatch):
    collector = Collector(settings(vector="async"), policy, SAMPLING, with_reference=False, **schedule(mode))
    answering(policy, monkeypatch, GARBAGE, before=lambda: kill_worker(collector, 0))
    try:
        with pytest.raises(RuntimeError, match="died 4 times"):
            collector.collect(3)
    finally:
        collector.close()


def test_worker_killed_between_step_and_reset_is_replaced(policy, monkeypatch):
    answering(policy, monkeypatch, GARBAGE)
    collector = Collector(settings(vector="async"), policy, SAMPLING, with_reference=False)
    collector.start()
    real_step_wait = collector.envs.step_wait

    def step_wait(*args, **kwargs):
        result = real_step_wait(*args, **kwargs)
        if np.any(result[3]):  # the episodes just ended: the worker dies before the reset
            kill_worker(collector, 1)
        return result

    collector.envs.step_wait = step_wait
    try:
        rollout = collector.collect(STEP_LIMIT + 1)
        assert rollout.worker_restarts == 1
        assert [(e.seed, e.length) for e in rollout.episodes] == [(100, STEP_LIMIT), (101, STEP_LIMIT)]
        assert [len(s) for s in rollout.steps] == [STEP_LIMIT + 1] * 2
        # seeds 102 and 103 went to the reset that failed; they are never reused
        assert [e.seed for e in collector.episodes] == [104, 105]
    finally:
        collector.close()
