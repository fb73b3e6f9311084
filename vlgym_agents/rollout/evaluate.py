"""Play a policy on a fixed list of seeds, one episode per seed, generating for all running episodes at once.

Used for the held-out evaluation at the end of training, the warm start's readiness checks, and the
``checkpoint:`` agent of ``vlgym eval``. Envs live in this process so finished ones simply stop: the result
depends only on the seeds, the checkpoint and the decoding parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import torch

from vlgym.eval import wilson_interval
from vlgym_agents.policy.sampling import Sampling
from vlgym_agents.policy.vlm import VLMPolicy
from vlgym_agents.rollout.collector import EnvSettings, Episode


def make_env(settings: EnvSettings) -> gym.Env:
    from vlgym.vector import EnvFactory

    return EnvFactory(settings.id, dict(settings.kwargs), settings.history)()


@torch.no_grad()
def play_episodes(policy: VLMPolicy, settings: EnvSettings, seeds: Sequence[int], sampling: Sampling, *,
                  batch_size: int = 8, generator_seed: int = 0, record_dir: str | Path | None = None,
                  run_info: dict | None = None) -> list[Episode]:
    """One episode per seed (in order), ``batch_size`` at a time; sampling is seeded by ``generator_seed``.

    ``record_dir``: record every episode there (:class:`vlgym.wrappers.RecordEpisode`, with each step's prompt
    text and answer), and ``run_info`` as the run's ``run.json``.
    """
    torch.manual_seed(generator_seed)
    pending = list(seeds)[::-1]
    slots: list[tuple[gym.Env, Episode, dict, dict] | None] = []
    envs = [make_env(settings) for _ in range(min(batch_size, len(pending)))]
    notes: list[dict] = [{} for _ in envs]  # each env's current prompt, for its recorder
    if record_dir is not None:
        from vlgym.record import write_run
        from vlgym.wrappers import RecordEpisode

        write_run(record_dir, **(run_info or {}))
        envs = [RecordEpisode(env, record_dir, env_id=settings.id, env_kwargs=settings.kwargs,
                              notes=lambda i=i: notes[i]) for i, env in enumerate(envs)]
    finished: dict[int, Episode] = {}
    try:
        for env in envs:
            slots.append(_start(env, pending.pop()) if pending else None)
        while any(slots):
            active = [i for i, slot in enumerate(slots) if slot is not None]
            prompts = [policy.prompt(slots[i][2], slots[i][3], number_actions=settings.number_actions)
                       for i in active]
            answers = policy.generate(policy.encode(prompts), sampling).texts
            for i, prompt, answer in zip(active, prompts, answers, strict=True):
                env, episode, _, _ = slots[i]
                notes[i] = {"prompt": prompt.text}
                obs, reward, terminated, truncated, info = env.step(answer)
                episode.add_step(info, float(reward), answer)
                slots[i] = (env, episode, obs, info)
                if terminated or truncated:
                    episode.finish(info)
                    finished[episode.seed] = episode
                    slots[i] = _start(env, pending.pop()) if pending else None
    finally:
        for env in envs:
            env.close()
    return [finished[s] for s in seeds]


def _start(env: gym.Env, seed: int):
    obs, info = env.reset(seed=seed)
    return env, Episode(seed=seed), obs, info


def summarize(episodes: Sequence[Episode]) -> dict[str, float]:
    """Success rate with its 95% Wilson interval, mean score/return/length, answer-format failure rate."""
    n = max(1, len(episodes))
    successes = sum(e.success for e in episodes)
    steps = max(1, sum(e.length for e in episodes))
    low, high = wilson_interval(successes, len(episodes))
    return {
        "episodes": len(episodes), "success_rate": successes / n, "success_ci95": [low, high],
        "mean_score": sum(e.score for e in episodes) / n, "mean_return": sum(e.ret for e in episodes) / n,
        "mean_length": sum(e.length for e in episodes) / n,
        "invalid_action_rate": sum(e.invalid_actions for e in episodes) / steps,
        "parse_failure_rate": sum(e.parse_failures for e in episodes) / steps,
    }
