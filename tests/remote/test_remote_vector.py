"""Remote envs inside vector envs: the same batches as local workers, and a lost server is a dead worker."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from remote_kit import assert_identical, running_server

from vlgym.remote.client import ServerLostError
from vlgym.vector import EnvFactory, WorkerDiedError, make_vector_env

NUMBERLINE = "vlgym/GymCards-NumberLine-v0"
KWARGS = {"image_size": 64, "state_in_text": True}


def test_async_vector_env_of_remote_envs_matches_local_workers(server):
    local = make_vector_env(NUMBERLINE, 2, env_kwargs=KWARGS)
    remote = make_vector_env(NUMBERLINE, 2, env_kwargs={**KWARGS, "remote": server.url})
    try:
        assert_identical(remote.reset(seed=3), local.reset(seed=3), "reset")
        for t, actions in enumerate([("+", "-"), ("junk", "+"), ("-", "-")]):
            assert_identical(remote.step(actions), local.step(actions), f"step {t}")
        assert len(server.sessions.open) == 2
    finally:
        local.close(), remote.close()


def test_a_lost_server_is_a_dead_worker_in_an_async_vector_env():
    with running_server() as only:
        envs = make_vector_env(NUMBERLINE, 2, env_kwargs={**KWARGS, "remote": only.url, "remote_wait": 0})
        envs.reset(seed=0)
    with pytest.raises(WorkerDiedError, match=rf"running {NUMBERLINE} \(episode reset with seed"):
        envs.step(("+", "+"))


def test_a_lost_server_is_a_dead_worker_in_a_sync_vector_env():
    with running_server() as only:
        factory = EnvFactory(NUMBERLINE, {**KWARGS, "remote": only.url, "remote_wait": 0})
        envs = gym.vector.SyncVectorEnv([factory, factory])
        envs.reset(seed=0)
    with pytest.raises(WorkerDiedError, match=only.url.replace(".", r"\.")) as caught:
        envs.step(np.array(["+", "+"], dtype=object))
    assert isinstance(caught.value, ServerLostError)
