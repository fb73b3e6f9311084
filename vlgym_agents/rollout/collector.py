"""Batched rollouts: many environments step in worker processes, the policy answers all of them in one batch.

Every step, the collector builds one prompt per environment, generates all answers in a single batched call
to the rollout engine (:mod:`vlgym_agents.engines`: Hugging Face or vLLM), scores them (old log-probs, values)
and sends the answers as text actions to the vector env; the frozen reference's log-probs (a batched forward
that no env needs) are computed while the workers step.
Episodes run on across ``collect`` calls, so a rollout of T steps per env is just the next T steps of each stream.

Episode seeds come from one cursor: episode k (counted over all envs and ranks) is reset with seed
``seed_start + k * world_size + rank``, so ranks never share an episode, runs are reproducible, and a
checkpoint can store the cursor. With ``group_size`` K > 1 (LOOP), envs gK..gK+K-1 form group g and play
the same episodes: the group's n-th episode has one seed for all K envs, taken from the cursor when the
first of them starts it; each env moves on to the group's next episode as soon as its own ends, so no env ever
waits. Unparseable answers are handled by the env (its invalid-action outcome) and
counted (the env's ``parse_failure``: names no action; the rollout's ``format_failures``: not the prompt's
JSON format); nothing is ever replaced by a random action. A worker process that dies, or hangs past
``env.step_timeout``/``env.reset_timeout`` (then it is killed), is replaced: the vector env is rebuilt, the cut
episodes end as truncations, and training goes on.

``mode="async"`` (``rollout.mode``) splits the envs into two groups that take turns, so one group's env steps
and resets run in its workers while the other generates (:meth:`Collector._collect_overlapped`). Two half
batches cost more generation than one full batch, so with ``async_groups="auto"`` the collector times one
rollout each way at the start of the run and keeps the faster (:meth:`Collector.async_groups`). Async samples
every env step from its own seeded stream (``rollout.sampling_streams: per_step``), so the grouping changes no
answer: an async run plays what a sync run with per-step streams plays. Several env
settings (``env`` as a list) run one vector env each behind :class:`~vlgym_agents.rollout.mixed.MixedVectorEnv`,
their prompts in the same batches. :meth:`Collector.generate` is the one place that generates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from vlgym.core.parsing import extract_candidate
from vlgym.eval import EpisodeResult
from vlgym.vector import (
    EnvFactory,
    InProcessVectorEnv,
    WorkerDiedError,
    WorkerHungError,
    make_vector_env,
    split_infos,
    split_obs,
)
from vlgym_agents.config import EnvSettings, Sampling, sampling_streams_for
from vlgym_agents.engines import Engine
from vlgym_agents.engines.hf import HFEngine
from vlgym_agents.policy.sampling import step_seeds
from vlgym_agents.policy.vlm import Generation, Prompt, VLMPolicy
from vlgym_agents.rollout.mixed import MixedVectorEnv
from vlgym_agents.rollout.types import Rollout, StepRecord

log = logging.getLogger(__name__)

#: ``async_groups: auto`` keeps two groups only if their timed rollout took at most this share of one batch's
#: (faster by more than the run-to-run noise); otherwise one batch, as in ``sync``.
TWO_GROUPS_MAX_TIME_RATIO = 0.9


def is_well_formed(answer: str) -> bool:
    """The answer is a JSON object with an ``action`` field (the prompt's format), valid action or not.

    >>> is_well_formed('{"thoughts": "", "action": "+"}'), is_well_formed("+")
    (True, False)
    """
    return extract_candidate(answer)[1] == "json"


@dataclass
class Turn:
    """The answers generated for some envs in one batch, before the envs have stepped with them."""

    indices: list[int]
    prompts: list[Prompt]
    batch: Any  # the encoded prompts, kept for the reference forward
    generation: Generation
    policy_version: int  # the update count of the weights that generated it
    ref_log_probs: torch.Tensor | None = None  # filled in by add_reference while the envs step


class Background:
    """One call in a daemon thread; ``result()`` waits for it and returns its value or re-raises its error."""

    def __init__(self, call, *args: Any):
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call, *args), daemon=True)
        self._thread.start()

    def _run(self, call, *args: Any) -> None:
        try:
            self._result = call(*args)
        except BaseException as error:  # re-raised in the caller's thread by result()
            self._error = error

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> Any:
        self.wait()
        if self._error is not None:
            raise self._error
        return self._result


class Collector:
    """Steps ``settings.num_envs`` copies of an env (or of each env of a list) with a policy; see the module
    docstring."""

    def __init__(self, settings: EnvSettings | Sequence[EnvSettings], policy: VLMPolicy, sampling: Sampling, *,
                 rank: int = 0,
                 world_size: int = 1, with_reference: bool = True, group_size: int = 1, mode: str = "sync",
                 max_staleness: int = 0, async_groups: int | str = "auto", sampling_streams: str = "auto",
                 engine: Engine | None = None):
        self.specs = [settings] if isinstance(settings, EnvSettings) else list(settings)
        for spec in self.specs:  # a LOOP group never spans two envs
            if spec.num_envs % group_size:
                raise ValueError(f"env.num_envs ({spec.num_envs}) must be a multiple of group_size ({group_size})")
        self.spec_of = [spec for spec in self.specs for _ in range(spec.num_envs)]  # env index -> its settings
        self.num_envs = len(self.spec_of)
        self.policy, self.sampling = policy, sampling
        self.engine = engine if engine is not None else HFEngine(policy)
        self.rank, self.world_size, self.with_reference = rank, world_size, with_reference
        self.group_size, self.mode, self.max_staleness = group_size, mode, max_staleness
        self.policy_version = 0  # the trainer's update count: recorded with each step (its behaviour policy)
        self.carried: dict[int, Turn] = {}  # async, max_staleness 1: a group's step left in flight over an update
        self.may_overlap = mode == "async" and self.num_envs > 1  # else every rollout is one batch
        self.per_step_streams = sampling_streams_for(mode, sampling_streams) == "per_step"
        self.rollout_seed = 0  # per_step streams: drawn from torch's stream at the start of every rollout
        self.groups: int | None = None if async_groups == "auto" else int(async_groups)  # async: decided groups
        self.trial_s: list[float] = []  # async_groups auto: the timed rollouts (one batch, then two groups)
        self.seed_cursor = 0
        self.group_episode: list[int] = []  # per env: index of its next episode within its group
        self.group_seeds: dict[int, dict[int, int]] = {}  # per group: episode index -> seed, until all started
        self.envs: gym.vector.VectorEnv | None = None
        self.obs: list[dict[str, Any]] = []
        self.infos: list[dict[str, Any]] = []
        self.episodes: list[EpisodeResult] = []

    # -- env management ------------------------------------------------------------------------------------
    def _make_envs(self) -> gym.vector.VectorEnv | MixedVectorEnv:
        if len(self.specs) > 1:
            return MixedVectorEnv([self._make_part(spec) for spec in self.specs])
        return self._make_part(self.specs[0])

    @staticmethod
    def _make_part(s: EnvSettings) -> gym.vector.VectorEnv:
        if s.vector == "sync":
            factory = EnvFactory(s.id, dict(s.kwargs), s.history)
            return InProcessVectorEnv([factory] * s.num_envs, autoreset_mode=AutoresetMode.DISABLED)
        return make_vector_env(s.id, s.num_envs, env_kwargs=dict(s.kwargs), history=s.history,
                               **({"backend": "ray"} if s.vector == "ray" else  # timeouts: worker processes only
                                  {"step_timeout": s.step_timeout, "reset_timeout": s.reset_timeout}),
                               autoreset_mode=AutoresetMode.DISABLED)

    def next_seed(self, spec: EnvSettings | None = None) -> int:
        """The next episode seed from the cursor, in ``spec``'s range (default: the first env's)."""
        seed = (spec or self.specs[0]).seed_start + self.seed_cursor * self.world_size + self.rank
        self.seed_cursor += 1
        return seed

    def _reset(self, which: Sequence[int]) -> None:
        n = self.num_envs
        seeds: list[int | None] = [None] * n
        for i in which:
            seeds[i] = self._episode_seed(i)
        if isinstance(self.envs, MixedVectorEnv):
            self.envs.send_resets(which, [seeds[i] for i in which])
            self._receive_resets(list(which))
            for i in which:
                self.episodes[i] = EpisodeResult(seed=seeds[i])
            return
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
            return self.next_seed(self.spec_of[i])
        group, index = i // k, self.group_episode[i]
        self.group_episode[i] += 1
        seeds = self.group_seeds.setdefault(group, {})
        if index not in seeds:
            seeds[index] = self.next_seed(self.spec_of[i])
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
        n = self.num_envs
        self.obs, self.infos = [{} for _ in range(n)], [{} for _ in range(n)]
        self.episodes = [EpisodeResult(seed=-1) for _ in range(n)]
        self.group_episode, self.group_seeds = [0] * n, {}
        self.carried = {}
        self._reset(range(n))

    def close(self) -> None:
        self.carried = {}
        if self.envs is not None:
            self.envs.close()
            self.envs = None

    # -- acting ----------------------------------------------------------------------------------------------
    def prompts(self, indices: Sequence[int] | None = None) -> list[Prompt]:
        indices = range(self.num_envs) if indices is None else indices
        return [self.policy.prompt(self.obs[i], self.infos[i], action_index=self.spec_of[i].number_actions)
                for i in indices]

    @torch.no_grad()
    def collect(self, steps_per_env: int) -> Rollout:
        """The next ``steps_per_env`` steps of every env.

        A step lost to a dead or hung worker is made up for: every rollout has the same size, so ranks run the
        same number of minibatches (DDP's collectives pair up) and the env-step counters stay true.
        """
        if self.envs is None:
            self.start()
        n = self.num_envs
        rollout = Rollout(steps=[[] for _ in range(n)], last_values=[0.0] * n)
        if self.per_step_streams:
            self.rollout_seed = int(torch.randint(0, 2**31 - 1, ()))
        rollout.async_groups = self.async_groups()
        started = time.perf_counter()
        if rollout.async_groups == 2:
            self._collect_overlapped(rollout, steps_per_env)
        else:
            while len(rollout.steps[0]) < steps_per_env:
                self._check_restarts(rollout, steps_per_env)
                self._step(rollout)
        self._time_trial(time.perf_counter() - started)
        rollout.last_values = self.policy.values(self.policy.encode(self.prompts())).tolist()
        rollout.open_seeds = self.open_seeds()
        return rollout

    def async_groups(self) -> int:
        """How many env groups take turns in the next rollout: 1 (one batch, as ``sync``) or 2.

        ``async_groups: auto`` measures instead of guessing: the first rollout (worker start-up, warm-up) runs as one
        batch, the second is timed as one batch and the third as two groups; from then on the run keeps two groups
        only if they took at most ``TWO_GROUPS_MAX_TIME_RATIO`` of one batch's time. The choice is logged, reported
        as the ``async_groups`` metric and checkpointed (the run state's ``async_groups``), so a resumed run keeps it.
        """
        if not self.may_overlap:
            return 1
        if self.groups is None:
            return 2 if len(self.trial_s) == 2 else 1
        return self.groups

    def _time_trial(self, seconds: float) -> None:
        if not self.may_overlap or self.groups is not None:
            return
        self.trial_s.append(seconds)  # the first one, start-up included, is dropped below
        if len(self.trial_s) == 3:
            one_batch, two_groups = self.trial_s[1:]
            self.groups = 2 if two_groups <= TWO_GROUPS_MAX_TIME_RATIO * one_batch else 1
            log.info("rollout.async_groups auto: a rollout took %.2f s as one batch and %.2f s as two groups; "
                     "using %s", one_batch, two_groups, "two groups" if self.groups == 2 else "one batch")

    def generate(self, rollout: Rollout, indices: Sequence[int]) -> Turn:
        """One batched answer for each env in ``indices`` (the only place the collector generates).

        With per-step streams, env i's t-th step of the rollout is sampled with seed
        ``step_seeds(rollout_seed, [(i, t)])``: the same answer whether it is generated with all envs (one batch) or
        with its group's (two groups), up to float rounding.
        """
        prompts = self.prompts(indices)
        batch = self.policy.encode(prompts)
        seeds = (step_seeds(self.rollout_seed, [(i, len(rollout.steps[i])) for i in indices])
                 if self.per_step_streams else None)
        generation = self.engine.generate(prompts, batch, self.sampling, seeds)
        return Turn(list(indices), prompts, batch, generation, self.policy_version)

    def add_reference(self, turn: Turn) -> None:
        """The frozen reference's log-probs of the turn's answers. No env needs them, so the callers send the
        actions first: the reference forward runs while the workers step."""
        generation = turn.generation
        turn.ref_log_probs = (self.policy.reference_log_probs(turn.batch, generation.tokens, generation.mask,
                                                              self.sampling)
                              if self.with_reference else generation.log_probs)

    def _step(self, rollout: Rollout) -> None:
        """Generate for every env, step every env (one vector-env call), reset the finished ones."""
        n = self.num_envs
        turn = self.generate(rollout, range(n))
        rollout.generated_tokens += int(turn.generation.mask.sum())
        try:
            if isinstance(self.envs, MixedVectorEnv):
                self.envs.send_steps(turn.indices, turn.generation.texts)
                self.add_reference(turn)
                results = self.envs.receive(turn.indices)
            else:
                in_workers = isinstance(self.envs, gym.vector.AsyncVectorEnv)
                if in_workers:
                    self.envs.step_async(tuple(turn.generation.texts))
                self.add_reference(turn)
                obs, rewards, terminated, truncated, infos = (self.envs.step_wait() if in_workers else
                                                              self.envs.step(tuple(turn.generation.texts)))
                results = list(zip(split_obs(obs, n), rewards, terminated, truncated, split_infos(infos, n),
                                   strict=True))
        except WorkerDiedError as error:
            self._recover(rollout, error)
            return
        done = self._record(rollout, turn, results)
        if done:
            try:
                self._reset(done)
            except WorkerDiedError as error:  # a worker can die between the step and the reset too
                self._recover(rollout, error)

    def _collect_overlapped(self, rollout: Rollout, steps_per_env: int) -> None:
        """``rollout.mode: async``: two env groups take turns; while one generates, the other steps and resets.

        A turn of group A: take A's reset observations, then, while A generates, a helper thread receives B's step
        results and sends the resets of B's finished episodes (so B's workers step and reset back to back, without
        waiting for the main thread); then B's results are recorded and A's actions go to its workers. The order of
        calls is fixed, never decided by which worker answers first, so seeds and samples do not depend on timing.
        In the last turn group A has all its steps and would wait for B's last one; with ``max_staleness`` 1 (and
        two groups decided, not on trial) it generates its next step instead, which steps in its workers during the
        update and enters the next rollout with this policy version (one update stale).
        """
        n = self.num_envs
        groups = [list(range(n // 2)), list(range(n // 2, n))]
        sent: dict[int, Turn] = self.carried  # group -> the turn whose actions its workers are stepping
        self.carried = {}
        resetting: dict[int, list[int]] = {}  # group -> its envs being reset
        g = 1 - next(iter(sent)) if sent else 0  # a carried step is received in the other group's turn
        while sent or any(len(rollout.steps[group[0]]) < steps_per_env for group in groups):
            self._check_restarts(rollout, steps_per_env)
            other, finishing = 1 - g, None
            try:
                if g in resetting:
                    self._receive_resets(resetting.pop(g))
                if other in sent and self._workers_step():  # meanwhile its results come in, its resets go out
                    finishing = Background(self._finish_step, sent[other].indices)
                turn, carry = None, False
                last_turn = other in sent and len(rollout.steps[groups[other][0]]) + 1 >= steps_per_env
                if g not in sent and len(rollout.steps[groups[g][0]]) < steps_per_env:
                    turn = self._generate_counted(rollout, groups[g])
                elif g not in sent and last_turn and self.max_staleness >= 1 and self.groups == 2:
                    turn, carry = self._generate_counted(rollout, groups[g]), True
                if other in sent:  # from the helper, or (in-process envs) received here, after the generation
                    results, done, seeds = (finishing.result() if finishing is not None else
                                            self._finish_step(sent[other].indices))
                    finishing = None
                    self._record(rollout, sent.pop(other), results)
                    for i, seed in zip(done, seeds, strict=True):
                        self.episodes[i] = EpisodeResult(seed=seed)
                    if done:
                        resetting[other] = done
                if turn is not None:
                    self._dispatch(turn)
                    if carry:
                        self.carried = {g: turn}
                    else:
                        sent[g] = turn
            except WorkerDiedError as error:
                if finishing is not None:  # let the helper finish with the dead vector env before it is replaced
                    finishing.wait()
                sent.clear()
                resetting.clear()
                self.carried = {}
                self._recover(rollout, error)
            g = other
        for envs in resetting.values():
            try:
                self._receive_resets(envs)
            except WorkerDiedError as error:
                self._recover(rollout, error)

    def _workers_step(self) -> bool:
        """Whether every env steps in a worker process (then a helper thread may wait for them; in-process envs,
        MiniWorld's OpenGL or a browser among them, stay in the main thread)."""
        parts = self.envs.parts if isinstance(self.envs, MixedVectorEnv) else [self.envs]
        return all(isinstance(part, gym.vector.AsyncVectorEnv) for part in parts)

    def _finish_step(self, indices: list[int]) -> tuple[list[tuple], list[int], list[int]]:
        """Receive the step results of envs ``indices``, take seeds for the finished episodes (in env order, as
        ``sync`` does) and send their resets; the results are recorded by the caller."""
        results = self.envs.receive(indices)
        done = [i for i, result in zip(indices, results, strict=True) if result[2] or result[3]]
        seeds = [self._episode_seed(i) for i in done]
        if done:
            self.envs.send_resets(done, seeds)
        return results, done, seeds

    def _generate_counted(self, rollout: Rollout, group: list[int]) -> Turn:
        turn = self.generate(rollout, group)
        rollout.generated_tokens += int(turn.generation.mask.sum())
        return turn

    def _dispatch(self, turn: Turn) -> None:
        """Send the turn's actions to its envs' workers; the reference forward runs while they step."""
        self.envs.send_steps(turn.indices, turn.generation.texts)
        self.add_reference(turn)

    def _receive_resets(self, which: list[int]) -> None:
        for i, (obs, info) in zip(which, self.envs.receive(which), strict=True):
            self.obs[i], self.infos[i] = obs, info

    def _record(self, rollout: Rollout, turn: Turn, results: list[tuple]) -> list[int]:
        """Store the step of each env of ``turn``; return the envs whose episode ended (not yet reset)."""
        generation, records = turn.generation, []
        for row, (i, (obs, reward, terminated, truncated, info)) in enumerate(zip(turn.indices, results,
                                                                                 strict=True)):
            length = int(generation.mask[row].sum())
            record = StepRecord(prompt=turn.prompts[row], tokens=generation.tokens[row, :length].cpu(),
                                old_log_probs=generation.log_probs[row, :length].cpu(),
                                ref_log_probs=turn.ref_log_probs[row, :length].cpu(),
                                value=float(generation.values[row]), seed=self.episodes[i].seed,
                                reward=float(reward), terminated=bool(terminated),
                                truncated=bool(truncated) and not bool(terminated),
                                policy_version=turn.policy_version)
            rollout.steps[i].append(record)
            records.append(record)
            self.obs[i], self.infos[i] = obs, info
            self.episodes[i].add_step(record.reward, info)
            rollout.format_failures += not is_well_formed(generation.texts[row])
        truncated_now = [i for i, r in zip(turn.indices, records, strict=True) if r.truncated]
        if truncated_now:  # bootstrap from the value of the observation the time limit cut the episode at
            final_values = self.policy.values(self.policy.encode(self.prompts(truncated_now)))
            for i, value in zip(truncated_now, final_values.tolist(), strict=True):
                rollout.steps[i][-1].final_value = value
        done = [i for i, r in zip(turn.indices, records, strict=True) if r.terminated or r.truncated]
        for i in done:
            self.episodes[i].finish(self.infos[i])
            rollout.episodes.append(self.episodes[i])
            rollout.episode_envs.append(self.spec_of[i].id)
        return done

    def _check_restarts(self, rollout: Rollout, steps_per_env: int) -> None:
        if rollout.worker_restarts > steps_per_env:
            raise RuntimeError(f"env workers died {rollout.worker_restarts} times in one rollout: giving up")

    def _recover(self, rollout: Rollout, error: WorkerDiedError) -> None:
        """A worker died mid-step: end every running episode as a truncation at its last observation."""
        log.warning("%s; restarting the environments with fresh episodes", error)
        rollout.worker_restarts += 1
        rollout.worker_timeouts += isinstance(error, WorkerHungError)
        cut = [i for i in range(self.num_envs) if rollout.steps[i]]
        if cut:
            values = self.policy.values(self.policy.encode(self.prompts(cut))).tolist()
            for i, value in zip(cut, values, strict=True):
                last = rollout.steps[i][-1]
                if not (last.terminated or last.truncated):
                    last.truncated, last.final_value = True, value
        self.envs = None  # the vector env closed itself when it reported the dead worker
        self.start()
