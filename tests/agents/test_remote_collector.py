"""The collector with remote envs: a server that goes away is recovered from like a dead worker."""

from __future__ import annotations

import threading
import time

import pytest
import ray
from remote.remote_kit import RunningServer, running_server
from testkit import free_port

from vlgym.remote.server import Limits
from vlgym_agents.policy.sampling import Sampling
from vlgym_agents.policy.vlm import LoraSettings, PolicyConfig, VLMPolicy
from vlgym_agents.rollout.collector import Collector, EnvSettings

SAMPLING = Sampling(max_new_tokens=8)


@pytest.fixture(scope="module")
def policy(tiny_qwen):
    return VLMPolicy(PolicyConfig(path=str(tiny_qwen), value_head_hidden=[16], lora=LoraSettings(r=4, dropout=0.0)))


def test_a_restarted_server_is_recovered_from_like_a_dead_worker(policy, caplog):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = EnvSettings(id="vlgym/GymCards-NumberLine-v0", num_envs=2, vector="sync", seed_start=100,
                           kwargs={"state_in_text": True, "image_size": 56, "max_position": 2, "remote": url,
                                   "remote_wait": 2.0})
    collector = Collector(settings, policy, SAMPLING, with_reference=False)
    replacement = RunningServer(Limits(), None, port)
    restart = threading.Timer(3.0, replacement.start)  # the server is down for 3 s
    try:
        with running_server(port=port):
            collector.collect(1)
        # the next step gives up after 2 s (a dead worker); the restarted workers find the new server
        restart.start()
        started = time.monotonic()
        rollout = collector.collect(2)
        assert time.monotonic() - started >= 2.0
        assert rollout.worker_restarts == 1 and "no vlgym server answered" in caplog.text
        assert [len(s) for s in rollout.steps] == [2, 2]  # the lost step is made up for
        assert [e.seed for e in collector.episodes] == [102, 103]  # fresh episodes, no seed played twice
        assert len(replacement.sessions.open) == 2
    finally:
        collector.close()
        restart.cancel()
        if replacement.thread.is_alive():
            replacement.stop()


def test_ray_actors_collect_the_rollout_of_in_process_envs_and_a_dead_actor_is_replaced(policy, monkeypatch):
    real = type(policy).generate

    def generate(self, batch, sampling, **kwargs):  # fixed answers: the envs, not the sampling, are compared
        generation = real(self, batch, sampling, **kwargs)
        generation.texts = ["+", "-"][: len(generation.texts)]
        return generation

    monkeypatch.setattr(type(policy), "generate", generate)
    kwargs = {"state_in_text": True, "image_size": 56, "max_position": 2}
    rollouts = {}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for vector in ("sync", "ray"):
            settings = EnvSettings(id="vlgym/GymCards-NumberLine-v0", num_envs=2, vector=vector, seed_start=100,
                                   kwargs=kwargs)
            collector = Collector(settings, policy, SAMPLING, with_reference=False)
            rollouts[vector] = collector.collect(5)
            if vector == "ray":  # an actor dies between two collects: replaced, like a dead worker process
                ray.kill(collector.envs.envs[0].actor)
                after = collector.collect(2)
                assert after.worker_restarts == 1 and [len(s) for s in after.steps] == [2, 2]
            collector.close()
    finally:
        ray.shutdown()

    def outline(rollout):
        return ([[(s.seed, s.reward, s.terminated, s.truncated) for s in steps] for steps in rollout.steps],
                [(e.seed, e.length, e.success) for e in rollout.episodes])

    assert outline(rollouts["ray"]) == outline(rollouts["sync"])
    assert rollouts["ray"].episodes  # episodes ended and were reset inside the rollout
