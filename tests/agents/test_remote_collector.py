"""The collector with remote envs: a server that goes away is recovered from like a dead worker."""

from __future__ import annotations

import threading
import time

import pytest
from remote.remote_kit import RunningServer, free_port, running_server

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
