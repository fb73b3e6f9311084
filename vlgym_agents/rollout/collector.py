"""Batched rollouts: many environments step in worker processes, the policy answers all of them in one batch.

Every step, the collector builds one prompt per environment, generates all answers in a single batched call
to the rollout engine (:mod:`vlgym_agents.engines`: Hugging Face or vLLM), scores them (old log-probs, values,
reference log-probs) in one batched forward each, and sends the answers as text actions to the vector env.
Episodes run on across ``collect`` calls, so a rollout of T steps per env is just the next T steps of each stream.

Episode seeds come from one cursor: episode k (counted over all envs and ranks) is reset with seed
``seed_start + k * world_size + rank``, so ranks never share an episode, runs are reproducible, and a
checkpoint can store the cursor. With ``group_size`` K > 1 (LOOP), envs gK..gK+K-1 form group g and play
the same episodes: the group's n-th episode has one seed for all K envs, taken from the cursor when the
first of them starts it; each env moves on to the group's next episode as soon as its own ends, so no env ever
waits. Unparseable answers are handled by the env (its invalid-action outcome) and
counted (the env's ``parse_failure``: names no action; the rollout's ``format_failures``: not the prompt's
JSON format); nothing is ever replaced by a random action. A worker process that dies is replaced: the
vector env is rebuilt, the cut episodes end as truncations, and training goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from vlgym.core.parsing import extract_candidate
from vlgym.eval import EpisodeResult
from vlgym.vector import EnvFactory, WorkerDiedError, make_vector_env
from vlgym_agents.config import EnvSettings, Sampling
from vlgym_agents.engines import Engine
from vlgym_agents.engines.hf import HFEngine
from vlgym_agents.policy.vlm import Generation, Prompt, VLMPolicy
from vlgym_agents.rollout.types import Rollout, StepRecord

log = logging.getLogger(__name__)


def is_well_formed(answer: str) -> bool:
    """The answer is a JSON object with an ``action`` field (the prompt's format), valid action or not.

    >>> is_well_formed('{"thoughts": "", "action": "+"}'), is_well_formed("+")
    (True, False)
    """
    return extract_candidate(answer)[1] == "json"


def split_infos(infos: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Vector-env info (arrays with ``_key`` masks) to one dict per env (only the keys that env reported).

    A nested dict in an env's info (WebShop's ``purchase``) arrives as a nested dict of arrays: split it too.
    """
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, values in infos.items():
        if key.startswith("_"):
            continue
        present = infos.get(f"_{key}", np.ones(num_envs, dtype=bool))
        per_env = split_infos(values, num_envs) if isinstance(values, dict) else values
        for i in range(num_envs):
            if present[i]:
                out[i][key] = per_env[i]
    return out


def split_obs(obs: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    return [{key: value[i] for key, value in obs.items()} for i in range(num_envs)]


class Collector:
    """Steps ``settings.num_envs`` copies of an env with a policy; see the module docstring."""

    def __init__(self, settings: EnvSettings, policy: VLMPolicy, sampling: Sampling, *, rank: int = 0,
                 world_size: int = 1, with_reference: bool = True, group_size: int = 1, engine: Engine | None = None):
        if settings.num_envs % group_size:
            raise ValueError(f"env.num_envs ({settings.num_envs}) must be a multiple of group_size ({group_size})")
        self.settings, self.policy, self.sampling = settings, policy, sampling
        self.engine = engine if engine is not None else HFEngine(policy)
        self.rank, self.world_size, self.with_reference = rank, world_size, with_reference
        self.group_size = group_size
        self.seed_cursor = 0
        self.group_episode: list[int] = []  # per env: index of its next episode within its group
        self.group_seeds: dict[int, dict[int, int]] = {}  # per group: episode index -> seed, until all started
        self.envs: gym.vector.VectorEnv | None = None
        self.obs: list[dict[str, Any]] = []
        self.infos: list[dict[str, Any]] = []
        self.episodes: list[EpisodeResult] = []

    # -- env management ------------------------------------------------------------------------------------
    def _make_envs(self) -> gym.vector.VectorEnv:
        s = self.settings
        if s.vector == "sync":
            factory = EnvFactory(s.id, dict(s.kwargs), s.history)
            return gym.vector.SyncVectorEnv([factory] * s.num_envs, autoreset_mode=AutoresetMode.DISABLED)
        return make_vector_env(s.id, s.num_envs, env_kwargs=dict(s.kwargs), history=s.history,
                               backend="ray" if s.vector == "ray" else "processes",
                               autoreset_mode=AutoresetMode.DISABLED)

    def next_seed(self) -> int:
        seed = self.settings.seed_start + self.seed_cursor * self.world_size + self.rank
        self.seed_cursor += 1
        return seed

    def _reset(self, which: Sequence[int]) -> None:
        n = self.settings.num_envs
        seeds: list[int | None] = [None] * n
        for i in which:
            seeds[i] = self._episode_seed(i)
        mask = np.zeros(n, dtype=bool)
        mask[list(which)] = True
        obs, infos = self.envs.reset(seed=seeds, options={"reset_mask": mask})
        obs_list, info_list = split_obs(obs, n), split_infos(infos, n)
        for i in which:
            self.obs[i], self.infos[i] = obs_list[i], info_list[i]
            self.episodes[i] = EpisodeResult(seed=seeds[i])

    def _episode_seed(self, i: int) -> int:
        """The seed of env ``i``'s next episode: a fresh one, or its group's (see the module docstring)."""
        k = self.group_size
        if k == 1:
            return self.next_seed()
        group, index = i // k, self.group_episode[i]
        self.group_episode[i] += 1
        seeds = self.group_seeds.setdefault(group, {})
        if index not in seeds:
            seeds[index] = self.next_seed()
        seed = seeds[index]
        if min(self.group_episode[group * k: (group + 1) * k]) > index:  # all K started it: forget it
            del seeds[index]
        return seed

    def open_seeds(self) -> set[int]:
        """Seeds of group episodes that some env is playing or has still to start."""
        return {e.seed for e in self.episodes} | {s for seeds in self.group_seeds.values() for s in seeds.values()}

    def start(self) -> None:
        """Start (or restart) the workers and a fresh episode in every env."""
        if self.envs is not None:
            self.envs.close()
        self.envs = self._make_envs()
        n = self.settings.num_envs
        self.obs, self.infos = [{} for _ in range(n)], [{} for _ in range(n)]
        self.episodes = [EpisodeResult(seed=-1) for _ in range(n)]
        self.group_episode, self.group_seeds = [0] * n, {}
        self._reset(range(n))

    def close(self) -> None:
        if self.envs is not None:
            self.envs.close()
            self.envs = None

    # -- acting ----------------------------------------------------------------------------------------------
    def prompts(self, indices: Sequence[int] | None = None) -> list[Prompt]:
        indices = range(self.settings.num_envs) if indices is None else indices
        return [self.policy.prompt(self.obs[i], self.infos[i], action_index=self.settings.number_actions)
                for i in indices]

    @torch.no_grad()
    def collect(self, steps_per_env: int) -> Rollout:
        """The next ``steps_per_env`` steps of every env.

        A step lost to a dead worker is made up for: every rollout has the same size, so ranks run the same
        number of minibatches (DDP's collectives pair up) and the env-step counters stay true.
        """
        if self.envs is None:
            self.start()
        n = self.settings.num_envs
        rollout = Rollout(steps=[[] for _ in range(n)], last_values=[0.0] * n)
        while len(rollout.steps[0]) < steps_per_env:
            if rollout.worker_restarts > steps_per_env:
                raise RuntimeError(f"env workers died {rollout.worker_restarts} times in one rollout: giving up")
            self._step(rollout)
        rollout.last_values = self.policy.values(self.policy.encode(self.prompts())).tolist()
        rollout.open_seeds = self.open_seeds()
        return rollout

    def act(self, prompts: Sequence[Prompt], batch: dict[str, torch.Tensor]) -> Generation:
        """Answers for a batch of prompts (``batch``: their encoding), with the policy's log-probs and values."""
        return self.engine.generate(prompts, batch, self.sampling)

    def _step(self, rollout: Rollout) -> None:
        n, policy = self.settings.num_envs, self.policy
        prompts = self.prompts()
        batch = policy.encode(prompts)
        generation = self.act(prompts, batch)
        old_log_probs, values = generation.log_probs, generation.values
        ref_log_probs = (policy.reference_log_probs(batch, generation.tokens, generation.mask, self.sampling)
                         if self.with_reference else old_log_probs)
        rollout.generated_tokens += int(generation.mask.sum())
        try:
            obs, rewards, terminated, truncated, infos = self.envs.step(tuple(generation.texts))
        except WorkerDiedError as error:
            self._recover(rollout, error)
            return
        obs_list, info_list = split_obs(obs, n), split_infos(infos, n)
        records = []
        for i in range(n):
            length = int(generation.mask[i].sum())
            record = StepRecord(prompt=prompts[i], tokens=generation.tokens[i, :length].cpu(),
                                old_log_probs=old_log_probs[i, :length].cpu(),
                                ref_log_probs=ref_log_probs[i, :length].cpu(), value=float(values[i]),
                                seed=self.episodes[i].seed,
                                reward=float(rewards[i]), terminated=bool(terminated[i]),
                                truncated=bool(truncated[i]) and not bool(terminated[i]))
            rollout.steps[i].append(record)
            records.append(record)
            self.obs[i], self.infos[i] = obs_list[i], info_list[i]
            self.episodes[i].add_step(record.reward, info_list[i])
            rollout.format_failures += not is_well_formed(generation.texts[i])
        truncated_now = [i for i in range(n) if records[i].truncated]
        if truncated_now:  # bootstrap from the value of the observation the time limit cut the episode at
            final_values = policy.values(policy.encode(self.prompts(truncated_now)))
            for i, value in zip(truncated_now, final_values.tolist(), strict=True):
                records[i].final_value = value
        done = [i for i in range(n) if records[i].terminated or records[i].truncated]
        if done:
            for i in done:
                self.episodes[i].finish(self.infos[i])
                rollout.episodes.append(self.episodes[i])
            try:
                self._reset(done)
            except WorkerDiedError as error:  # a worker can die between the step and the reset too
                self._recover(rollout, error)

    def _recover(self, rollout: Rollout, error: WorkerDiedError) -> None:
        """A worker died mid-step: end every running episode as a truncation at its last observation."""
        log.warning("%s; restarting the environments with fresh episodes", error)
        rollout.worker_restarts += 1
        cut = [i for i in range(self.settings.num_envs) if rollout.steps[i]]
        if cut:
            values = self.policy.values(self.policy.encode(self.prompts(cut))).tolist()
            for i, value in zip(cut, values, strict=True):
                last = rollout.steps[i][-1]
                if not (last.terminated or last.truncated):
                    last.truncated, last.final_value = True, value
        self.envs = None  # the vector env closed itself when it reported the dead worker
        self.start()
