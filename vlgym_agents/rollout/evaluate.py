"""Play a policy on a fixed list of seeds, one episode per seed, generating for all running episodes at once.

Used for the held-out evaluation at the end of training, the warm start's readiness checks, the quickstart and
the comparison script. Episodes are :class:`vlgym.eval.EpisodeResult` and summaries :func:`vlgym.eval.summarize`,
the same as ``vlgym eval``'s; only the loop differs, because it batches generation over many envs (``vlgym
eval`` plays one agent call at a time). Envs live in this process so finished ones simply stop: the result
depends only on the seeds, the checkpoint and the decoding parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import torch

from vlgym.eval import EpisodeResult, summarize
from vlgym_agents.config import EnvSettings, Sampling

if TYPE_CHECKING:
    from vlgym_agents.config import TrainConfig
    from vlgym_agents.policy.vlm import VLMPolicy


def make_env(settings: EnvSettings) -> gym.Env:
    from vlgym.vector import EnvFactory

    return EnvFactory(settings.id, dict(settings.kwargs), settings.history)()


@torch.no_grad()
def play_episodes(policy: VLMPolicy, settings: EnvSettings, seeds: Sequence[int], sampling: Sampling, *,
                  batch_size: int = 8, generator_seed: int = 0, record_dir: str | Path | None = None,
                  run_info: dict | None = None) -> list[EpisodeResult]:
    """One episode per seed (in order), ``batch_size`` at a time; sampling is seeded by ``generator_seed``.

    ``record_dir``: record every episode there (:class:`vlgym.wrappers.RecordEpisode`, with each step's prompt
    text and answer), and ``run_info`` as the run's ``run.json``.
    """
    torch.manual_seed(generator_seed)
    pending = list(seeds)[::-1]
    slots: list[tuple[gym.Env, EpisodeResult, dict, dict] | None] = []
    envs = [make_env(settings) for _ in range(min(batch_size, len(pending)))]
    notes: list[dict] = [{} for _ in envs]  # each env's current prompt, for its recorder
    if record_dir is not None:
        from vlgym.record import write_run
        from vlgym.wrappers import RecordEpisode

        write_run(record_dir, **(run_info or {}))
        envs = [RecordEpisode(env, record_dir, env_id=settings.id, env_kwargs=settings.kwargs,
                              notes=lambda i=i: notes[i]) for i, env in enumerate(envs)]
    finished: dict[int, EpisodeResult] = {}
    try:
        for env in envs:
            slots.append(_start(env, pending.pop()) if pending else None)
        while any(slots):
            active = [i for i, slot in enumerate(slots) if slot is not None]
            prompts = [policy.prompt(slots[i][2], slots[i][3], action_index=settings.number_actions)
                       for i in active]
            answers = policy.generate(policy.encode(prompts), sampling).texts
            for i, prompt, answer in zip(active, prompts, answers, strict=True):
                env, episode, _, _ = slots[i]
                notes[i] = {"prompt": prompt.text}
                obs, reward, terminated, truncated, info = env.step(answer)
                episode.add_step(float(reward), info)
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
    return env, EpisodeResult(seed), obs, info


def held_out_seeds(config: TrainConfig) -> list[int]:
    return list(range(config.eval.seed_start, config.eval.seed_start + config.eval.episodes))


def evaluate_greedy_and_sampled(policy: VLMPolicy, config: TrainConfig) -> dict[str, dict[str, Any]]:
    """Held-out summaries (``config.eval``'s seeds) with greedy decoding and with the training sampler."""
    return {name: summarize(play_episodes(policy, config.env, held_out_seeds(config), sampling,
                                          batch_size=config.eval.num_envs))
            for name, sampling in (("greedy", config.eval.sampling), ("sampled", config.sampling))}
