"""Rollout throughput, ``rollout.mode`` sync vs async: env steps/s and the share of wall time spent generating.

    python scripts/bench_rollout_modes.py [--env numberline --env miniworld ...] [--mode sync --mode async]
                                    [--num-envs 4] [--steps 8] [--max-new-tokens 16]

Each env and mode plays ``--steps`` steps per env with the tiny Qwen2.5-VL of ``vlgym_agents.policy.tiny``
(same weights, same torch seed, same episode seeds), after one untimed warm-up rollout (worker start-up,
first-call overheads). The table prints the load average beside the numbers: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ENVS = {  # name -> (env id, kwargs)
    "numberline": ("vlgym/GymCards-NumberLine-v0", {"state_in_text": True, "image_size": 56}),
    "miniworld": ("vlgym/MiniWorld-OneRoom-v0", {"image_size": 256}),
    "alfworld": ("vlgym/ALFWorld-v0", {"image_size": [192, 320]}),
    "webshop": ("vlgym/WebShop-v0", {"renderer": "browser", "num_products": 100, "image_size": [384, 512]}),
}


def measure(policy, env: str, mode: str, *, num_envs: int, steps: int, max_new_tokens: int) -> dict:
    import torch

    from vlgym_agents.config import EnvSettings, Sampling
    from vlgym_agents.rollout.collector import Collector

    env_id, kwargs = ENVS[env]
    collector = Collector(EnvSettings(id=env_id, kwargs=kwargs, num_envs=num_envs), policy,
                          Sampling(max_new_tokens=max_new_tokens), with_reference=False, mode=mode)
    generating = [0.0]
    real_generate = collector.generate

    def generate(indices):
        started = time.perf_counter()
        try:
            return real_generate(indices)
        finally:
            generating[0] += time.perf_counter() - started

    collector.generate = generate
    try:
        torch.manual_seed(0)
        collector.collect(1)  # warm-up
        generating[0] = 0.0
        started = time.perf_counter()
        rollout = collector.collect(steps)
        wall = time.perf_counter() - started
    finally:
        collector.close()
    return {"env": env, "mode": mode, "steps_per_s": num_envs * steps / wall, "generating": generating[0] / wall,
            "wall_s": wall, "restarts": rollout.worker_restarts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", choices=sorted(ENVS))
    parser.add_argument("--mode", action="append", choices=["sync", "async"])
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8, help="steps per env in the timed rollout")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from vlgym_agents.policy.tiny import build_tiny_vlm
    from vlgym_agents.policy.vlm import PolicyConfig, VLMPolicy

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        policy = VLMPolicy(PolicyConfig(path=str(build_tiny_vlm(Path(tmp) / "tiny")), value_head_hidden=[64]))
        print(f"{'env':<11} {'mode':<6} {'env steps/s':>11} {'generating':>10} {'wall s':>7}  load average")
        for env in args.env or ["numberline", "miniworld"]:
            for mode in args.mode or ["sync", "async"]:
                row = measure(policy, env, mode, num_envs=args.num_envs, steps=args.steps,
                              max_new_tokens=args.max_new_tokens)
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"{env:<11} {mode:<6} {row['steps_per_s']:>11.2f} {row['generating']:>10.0%} "
                      f"{row['wall_s']:>7.1f}  {load}" + (f"  ({row['restarts']} restarts)" if row["restarts"] else ""),
                      flush=True)


if __name__ == "__main__":
    main()
