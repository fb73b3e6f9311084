"""The verl-agent-style environment manager, driven the way verl-agent's multi-turn rollout loop drives one."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import testkit

from vlgym.adapters.verl import VerlEnvManager

ENV_ID = "vlgym/GymCards-NumberLine-v0"
KWARGS = {"image_size": 64, "state_in_text": True}


def rollout_loop(manager: VerlEnvManager, answer, max_turns: int):
    """verl-agent's loop: reset, then step the whole batch with the model's answers until all are done."""
    obs, infos = manager.reset(kwargs=None)
    trajectories = [[info] for info in infos]
    returns = np.zeros(manager.batch_size)
    for _ in range(max_turns):
        active = ~manager.done
        next_obs, rewards, dones, infos = manager.step([answer(i, obs) for i in range(manager.batch_size)])
        returns += rewards
        for i in np.flatnonzero(active):
            trajectories[i].append(infos[i])
        obs = next_obs
        if dones.all():
            break
    return returns, trajectories, manager.success_evaluator(total_infos=trajectories, total_batch_list=None)


def test_manager_plays_groups_like_separate_local_envs(server):
    manager = VerlEnvManager(ENV_ID, env_num=2, group_n=2, seed=40, env_kwargs={**KWARGS, "remote": server.url})
    experts = [gym.make(ENV_ID, **KWARGS) for _ in range(4)]
    try:
        for i, env in enumerate(experts):  # the same seeds, in a group per seed
            env.reset(seed=40 + i // 2)

        def answer(i, obs):  # env 3 answers nonsense; the others follow the expert of their own local twin
            return "no idea" if i == 3 else f'{{"thoughts": "...", "action": "{testkit.policy_action(experts[i])}"}}'

        local_returns = np.zeros(4)

        def play(i, obs):
            text = answer(i, obs)
            if not manager.done[i]:
                local_returns[i] += experts[i].step(text)[1]
            return text

        returns, trajectories, success = rollout_loop(manager, play, max_turns=10)
        assert success["success_rate"].tolist() == [1.0, 1.0, 1.0, 0.0]
        assert all(t[-1]["is_action_valid"] for t in trajectories[:3]) and not trajectories[3][-1]["is_action_valid"]
        assert returns.tolist() == local_returns.tolist()
        assert returns[0] == returns[1] and returns[3] < 0  # a group shares its episode
        assert manager.reset()[1][0]["instruction"]  # next batch: seeds 42, 43
        assert manager.next_seed == 44
    finally:
        manager.close()
        for env in experts:
            env.close()
