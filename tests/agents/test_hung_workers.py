"""Hung env workers (env.step_timeout / env.reset_timeout): killed, replaced, counted; training goes on."""

import logging
import os

import psutil
import pytest

from vlgym.vector import WorkerHungError, make_vector_env
from vlgym_agents.config import EnvSettings
from vlgym_agents.policy.sampling import Sampling
from vlgym_agents.policy.vlm import LoraSettings, PolicyConfig, VLMPolicy
from vlgym_agents.rollout.collector import Collector

HANGING = "hanging_env:vlgym-test/HangingNumberLine-v0"
KWARGS = {"state_in_text": True, "image_size": 56, "max_position": 2}  # episodes end at their 4th step


@pytest.fixture(scope="module")
def policy(tiny_qwen):
    return VLMPolicy(PolicyConfig(path=str(tiny_qwen), value_head_hidden=[16], lora=LoraSettings(r=4, dropout=0.0)))


def settings(hang_seeds, hang_on="step") -> EnvSettings:
    return EnvSettings(id=HANGING, num_envs=2, seed_start=100, step_timeout=2.0, reset_timeout=2.0,
                       kwargs={**KWARGS, "hang_seeds": hang_seeds, "hang_on": hang_on})


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_hung_step_is_cut_as_a_truncation_and_training_goes_on(policy, mode, caplog):
    collector = Collector(settings([101]), policy, Sampling(max_new_tokens=8), with_reference=False, mode=mode,
                          async_groups=2)
    try:
        with caplog.at_level(logging.WARNING):
            rollout = collector.collect(3)
        assert rollout.worker_restarts == 1 and rollout.worker_timeouts == 1
        assert "worker 1" in caplog.text and "no answer in 2.0 s" in caplog.text and "seed 101" in caplog.text
        # env 1's first step never came back: made up for in a fresh episode. sync: env 0 stepped in the same
        # batch call, lost too; async: env 0 (the other group) had its step back, and its episode is cut there
        assert [len(s) for s in rollout.steps] == [3, 3]
        assert not rollout.steps[1][0].truncated and rollout.steps[1][0].seed == 103
        first = rollout.steps[0][0]
        if mode == "sync":
            assert first.seed == 102 and not first.truncated
        else:
            assert first.seed == 100 and first.truncated and first.final_value != 0.0
        assert sorted(e.seed for e in collector.episodes) == [102, 103]
        assert [len(s) for s in collector.collect(2).steps] == [2, 2]  # and training goes on
    finally:
        collector.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_hung_reset_is_replaced_and_its_seed_skipped(policy, mode):
    collector = Collector(settings([102], hang_on="reset"), policy, Sampling(max_new_tokens=8),
                          with_reference=False, mode=mode, async_groups=2)
    try:
        rollout = collector.collect(6)  # the first episodes end at step 4; the reset with seed 102 hangs
        assert rollout.worker_timeouts == 1 and [len(s) for s in rollout.steps] == [6, 6]
        if mode == "sync":  # both episodes ended in the step before the reset
            assert sorted((e.seed, e.length) for e in rollout.episodes) == [(100, 4), (101, 4)]
        else:  # env 1's 4th step was still in its worker when env 0's reset hung: its episode is cut at step 3
            assert [(e.seed, e.length) for e in rollout.episodes] == [(100, 4)]
            assert rollout.steps[1][2].truncated and rollout.steps[1][2].seed == 101
        assert 102 not in {e.seed for e in collector.episodes}
    finally:
        collector.close()


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}


def test_twenty_hung_workers_leave_no_process_behind():
    before = make_vector_env(HANGING, 1, env_kwargs={**KWARGS, "hang_seeds": [7]}, step_timeout=0.2)
    before.close()  # the forkserver is up: it stays for the session
    baseline = descendants()
    for _ in range(20):
        envs = make_vector_env(HANGING, 1, env_kwargs={**KWARGS, "hang_seeds": [7]}, step_timeout=0.2)
        envs.reset(seed=7)
        with pytest.raises(WorkerHungError, match=r"worker 0 .*seed 7"):
            envs.step(("+",))
        assert not any(p.is_alive() for p in envs.processes)
    assert descendants() == baseline


def test_an_env_error_in_a_call_to_some_envs_is_raised():
    envs = make_vector_env(HANGING, 2, env_kwargs={**KWARGS, "hang_seeds": [2], "hang_on": "step-error"})
    try:
        envs.send_resets([0, 1], [1, 2])
        envs.receive([0, 1])
        envs.send_steps([1], ["+"])
        with pytest.raises(RuntimeError, match="simulator crashed"):
            envs.receive([1])
    finally:
        envs.close(terminate=True)
