"""Ray actors as vector env workers: the same batches as in-process envs, and a dead actor is a dead worker."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import ray
from remote_kit import assert_identical

from vlgym.vector import EnvFactory, WorkerDiedError, make_vector_env

KWARGS = {"image_size": 64, "state_in_text": True}
ACTIONS = [("+", "-"), ("junk", "+"), ("-", "-"), ("+", "+"), ("-", "+")]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize("autoreset", [gym.vector.AutoresetMode.NEXT_STEP, gym.vector.AutoresetMode.DISABLED])
def test_ray_actors_give_the_batches_of_in_process_envs(local_ray, autoreset):
    env_id = "vlgym/GymCards-NumberLine-v0"
    factory = EnvFactory(env_id, {**KWARGS, "max_position": 2})
    local = gym.vector.SyncVectorEnv([factory, factory], autoreset_mode=autoreset)
    actors = make_vector_env(env_id, 2, env_kwargs={**KWARGS, "max_position": 2}, backend="ray",
                             autoreset_mode=autoreset, ray_actor_options={"num_cpus": 0.5})
    try:
        assert_identical(actors.reset(seed=[5, 9]), local.reset(seed=[5, 9]), "reset")
        for t, actions in enumerate(ACTIONS):
            result = actors.step(np.array(actions, dtype=object))
            assert_identical(result, local.step(np.array(actions, dtype=object)), f"step {t}")
            done = np.logical_or(result[2], result[3])
            if autoreset == gym.vector.AutoresetMode.DISABLED and done.any():
                options = {"reset_mask": done}
                assert_identical(actors.reset(seed=[t, t + 1], options=dict(options)),
                                 local.reset(seed=[t, t + 1], options=dict(options)), f"reset after {t}")
        assert ray.get(actors.envs[0].actor.describe.remote())[0] == local.single_observation_space
    finally:
        actors.close(), local.close()


def test_a_dead_actor_is_a_dead_worker_and_closes_the_vector_env(local_ray):
    env_id = "vlgym/GymCards-Blackjack-v0"
    actors = make_vector_env(env_id, 2, env_kwargs={"image_size": 64}, backend="ray",
                             ray_actor_options={"num_cpus": 0.5})
    actors.reset(seed=0)
    ray.kill(actors.envs[1].actor)
    with pytest.raises(WorkerDiedError, match=rf"ray actor 1 running {env_id} \(episode reset with seed 1"):
        actors.step(np.array(["hit", "hit"], dtype=object))
    assert actors.closed


def test_only_the_ray_backend_imports_ray():
    import subprocess
    import sys

    code = ("import sys, gymnasium as gym, vlgym, vlgym.vector; vlgym.vector.make_vector_env("
            "'vlgym/GymCards-NumberLine-v0', 1, context='spawn').close(); "
            "print(sorted({'ray', 'fastapi', 'uvicorn', 'httpx'} & set(sys.modules)))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
