"""The cost of recording: `vlgym eval` with and without `--record`, and the size on disk per 1,000 steps.

    python scripts/bench_record.py [--episodes 50] [--repeats 3] [--agent expert]

For each env the same episodes (seeds 0..N-1) are evaluated alternately without and with recording, ``repeats``
times each after one warm-up; the table gives the median wall time per step of each, the slowdown, and the
recording's size (PNG frames, steps.jsonl, episode.json, run.json) per 1,000 steps. Timings include the env, the
agent and (with recording) everything the recorder writes; nothing else runs in between.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from vlgym.eval import evaluate

ENVS = {"vlgym/GymCards-NumberLine-v0": {}, "vlgym/MiniWorld-OneRoom-v0": {}}


def run(env_id: str, kwargs: dict, agent: str, episodes: int, record_to: Path | None) -> tuple[float, int]:
    start = time.perf_counter()
    result = evaluate(env_id, agent, episodes=episodes, env_kwargs=kwargs, record_to=record_to)
    return time.perf_counter() - start, sum(e.length for e in result.episodes)


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), sum(p.suffix == ".png" for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--agent", default="expert")
    args = parser.parse_args()
    print("| env | agent | steps | plain ms/step | recorded ms/step | added ms/step | slowdown | KB per 1,000 steps "
          "| PNG files per 1,000 steps |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for env_id, kwargs in ENVS.items():
        run(env_id, kwargs, args.agent, 1, None)  # warm-up: imports, simulator start-up
        plain, recorded = [], []
        with tempfile.TemporaryDirectory() as scratch:
            for repeat in range(args.repeats):
                seconds, steps = run(env_id, kwargs, args.agent, args.episodes, None)
                plain.append(seconds / steps)
                folder = Path(scratch) / f"run{repeat}"
                seconds, steps = run(env_id, kwargs, args.agent, args.episodes, folder)
                recorded.append(seconds / steps)
            size, pngs = folder_size(folder)
        a, b = statistics.median(plain) * 1e3, statistics.median(recorded) * 1e3
        print(f"| {env_id.removeprefix('vlgym/')} | {args.agent} | {steps} | {a:.3f} | {b:.3f} | {b - a:.3f} "
              f"| {b / a:.2f}x "
              f"| {size / steps:,.0f} | {pngs / steps * 1000:,.0f} |")


if __name__ == "__main__":
    main()
