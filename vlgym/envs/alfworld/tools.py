"""Batch jobs behind ``vlgym alfworld ...``: write generated games to disk, measure the expert."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym

from vlgym.envs.alfworld.catalog import TASK_TYPES
from vlgym.envs.alfworld.engine import Engine
from vlgym.envs.alfworld.env import task_type_names
from vlgym.envs.alfworld.games import GameFileError, write_game
from vlgym.envs.alfworld.generator import GeneratedGame, generate


def check_walkthrough(engine: Engine, game: GeneratedGame) -> None:
    """Play ``game``'s walkthrough in the engine; raise GameFileError unless it wins exactly at its end."""
    engine.load(game.game_data())
    engine.reset()
    for i, command in enumerate(game.walkthrough):
        if engine.won or command not in engine.admissible_commands:
            raise GameFileError(f"generated:{game.split}:{game.seed}: walkthrough step {i} {command!r} failed")
        engine.step(command)
    if not engine.won:
        raise GameFileError(f"generated:{game.split}:{game.seed}: the walkthrough does not win")


def write_games(out: Path, count: int, *, split: str = "train", task_types=None, seed: int = 0,
                task_mix: str = "alfworld", held_out_pairs: bool = False,
                progress: Callable[[Path], None] | None = None) -> list[Path]:
    """Generate games ``seed .. seed + count - 1``, check each in the engine (a game whose walkthrough does not
    win is never written), write them in ALFWorld's layout."""
    types, engine, paths = task_type_names(task_types), Engine(), []
    for game_seed in range(seed, seed + count):
        game = generate(game_seed, split, types, task_mix=task_mix, held_out_pairs=held_out_pairs)
        check_walkthrough(engine, game)
        paths.append(write_game(game, out))
        if progress:
            progress(paths[-1])
    return paths


@dataclass
class ExpertResult:
    task_type: str
    episodes: int = 0
    successes: int = 0
    steps: list[int] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # reset seeds of the episodes the expert lost

    @property
    def success_rate(self) -> float:
        return self.successes / max(1, self.episodes)


def expert_success(per_type: int, *, split: str = "train", seed: int = 0, env_kwargs: dict | None = None,
                   progress: Callable[[], None] | None = None) -> tuple[list[ExpertResult], float]:
    """Run the expert on ``per_type`` generated games of each task type (reset seeds ``seed ..``); returns the
    per-type results and the seconds taken."""
    start, results = time.perf_counter(), []
    for task_type in TASK_TYPES:
        env = gym.make("vlgym/ALFWorld-v0", split=split, task_types=[task_type], **(env_kwargs or {}))
        result = ExpertResult(task_type)
        for episode_seed in range(seed, seed + per_type):
            env.reset(seed=episode_seed)
            done, steps, info = False, 0, {}
            while not done:
                _, _, terminated, truncated, info = env.step(env.unwrapped.expert_action())
                done, steps = terminated or truncated, steps + 1
            result.episodes += 1
            result.successes += bool(info["success"])
            result.steps.append(steps)
            if not info["success"]:
                result.failures.append(episode_seed)
            if progress:
                progress()
        env.close()
        results.append(result)
    return results, time.perf_counter() - start
