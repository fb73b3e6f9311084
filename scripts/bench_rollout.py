"""Rollout throughput: every requested combination of env, engine (``rollout.engine``: hf | vllm) and rollout mode
(``sync``; ``async``: ``rollout.mode: async`` with ``async_groups: auto``; ``async-2``: two groups always), all in
one run, so that ratios come from one machine state.

    .venv-vllm/bin/python scripts/bench_rollout.py                   # CPU, the vLLM-sized tiny model, both engines
    python scripts/bench_rollout.py --engine hf --mode sync --mode async --env numberline --env webshop
    python scripts/bench_rollout.py --arch qwen2.5-vl-3b --device cuda --num-envs 32 --max-new-tokens 64
    python scripts/bench_rollout.py --engine hf --mode sync --mode async-2 --env numberline-remote --env-latency 0.3

Each combination is one short training run of the same config (same model weights, torch seed and episode
seeds): ``--warmup-updates`` untimed updates (worker start-up, warm-up, and ``async``'s timed trial of one batch
against two groups), then ``--updates`` timed ones of ``--num-envs`` x ``--steps-per-env`` env steps. One row per
combination: the env groups its timed rollouts used, env steps/s over the rollouts alone (what ``rollout.mode``
changes) and over the whole loop, the first as a ratio to the env's first row, the share of rollout wall time in
which the engine generates or scores, generated tokens/s, and where the time went: generate (the engine), score
(the policy's batched forward that gives the old log-probs and values; inside generate for hf), env (the rest of
the rollout: prompt encoding, reference log-probs, env steps and resets not hidden behind generation) and update
(PPO epochs). The load average is printed beside each row: the machine may be shared. ``--arch`` builds a
real-size architecture from its config with random weights (vlgym_agents/policy/sized.py): answers run to
``--max-new-tokens``, the same for both engines. ``--engine vllm`` needs .venv-vllm (scripts/install_vllm.sh).
``numberline-remote`` is NumberLine behind ``--env-latency`` seconds of waiting per step and reset, without using
the CPU (scripts/latency_env.py): a simulator or browser on another machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
from pathlib import Path

ENVS = {  # name -> (env id, kwargs)
    "numberline": ("vlgym/GymCards-NumberLine-v0", {"state_in_text": True, "image_size": 56}),
    "miniworld": ("vlgym/MiniWorld-OneRoom-v0", {"image_size": 256}),
    "alfworld": ("vlgym/ALFWorld-v0", {"image_size": [192, 320]}),
    "webshop": ("vlgym/WebShop-v0", {"renderer": "browser", "num_products": 100, "image_size": [384, 512]}),
    "numberline-remote": ("latency_env:vlgym-bench/RemoteNumberLine-v0", {"state_in_text": True, "image_size": 56}),
}
MODES = {"sync": {"mode": "sync"}, "async": {"mode": "async", "async_groups": "auto"},
         "async-2": {"mode": "async", "async_groups": 2}}
NO_VLLM = ("--engine vllm needs vLLM, which lives in its own virtual environment: run this script with "
           ".venv-vllm/bin/python (build it with `bash scripts/install_vllm.sh`), or pass --engine hf")


def run(env: str, engine: str, mode: str, model: Path, out: Path, args) -> dict:
    """One training run of ``env`` with ``engine`` in ``mode``; its timed updates, summed."""
    from vlgym_agents.config import load_config
    from vlgym_agents.train import Trainer

    env_id, kwargs = ENVS[env]
    if env == "numberline-remote":
        kwargs = {**kwargs, "latency_s": args.env_latency}
    steps_per_update = args.num_envs * args.steps_per_env
    config = load_config(None, base={
        "model": {"path": str(model), "dtype": args.dtype, "value_head_hidden": [64]},
        "env": {"id": env_id, "kwargs": kwargs, "num_envs": args.num_envs},
        "sampling": {"max_new_tokens": args.max_new_tokens},
        "run": {"steps_per_env": args.steps_per_env,
                "total_env_steps": steps_per_update * (args.warmup_updates + args.updates),
                "checkpoint_every": 100000, "device": args.device, "torch_threads": args.torch_threads,
                "output_dir": str(out / f"{env}-{engine}-{mode}")},
        "algo": {"minibatch_size": min(16, steps_per_update), "ppo_epochs": 1, "vldac": {"warmup_updates": 0}},
        "eval": {"episodes": 0},
        "rollout": {"engine": engine, **MODES[mode],
                    "vllm": {"gpu_memory_utilization": args.gpu_memory_utilization}}})
    Trainer(config).train()
    metrics = Path(config.run.output_dir) / "metrics.jsonl"
    rows = [json.loads(line) for line in metrics.read_text().splitlines()][args.warmup_updates:]

    def total(key: str) -> float:
        return sum(r[key] for r in rows)

    collect, update = total("collect_s"), total("update_s")
    generate, score = total("engine_generate_s"), total("engine_score_s")
    tokens = sum(r["tokens_per_s"] * r["collect_s"] for r in rows)
    steps = steps_per_update * len(rows)
    return {"env": env, "engine": engine, "mode": mode, "env_steps_timed": steps, "seconds": collect + update,
            "env_steps_per_s": steps / (collect + update), "rollout_env_steps_per_s": steps / collect,
            "generating": (generate + score) / collect, "generated_tokens_per_s": tokens / (collect + update),
            "generate_tokens_per_s": tokens / generate, "mean_answer_tokens": tokens / steps,
            "split_s": {"generate": generate, "score": score, "env": collect - generate - score, "update": update},
            "worker_restarts": total("worker_restarts"), "load_average": os.getloadavg(),
            "async_groups": sorted({r["async_groups"] for r in rows}),
            **({"engine_logprob_mae": max(r["engine_logprob_mae"] for r in rows)} if engine == "vllm" else {})}


HEADER = (f"{'env':<17} {'engine':<6} {'mode':<7} {'groups':>6} {'steps/s':>7} {'ratio':>5} {'loop':>6} "
          f"{'generating':>10} {'tokens/s':>8} {'generate':>8} {'score':>6} {'env':>6} {'update':>6}  load average")


def table_row(row: dict, first: dict) -> str:
    """``row`` as a table line; ``ratio`` is its rollout env steps/s over ``first``'s (the env's first row)."""
    split = row["split_s"]
    groups = "/".join(map(str, row["async_groups"]))
    line = (f"{row['env']:<17} {row['engine']:<6} {row['mode']:<7} {groups:>6} {row['rollout_env_steps_per_s']:>7.2f} "
            f"{row['rollout_env_steps_per_s'] / first['rollout_env_steps_per_s']:>5.2f} "
            f"{row['env_steps_per_s']:>6.2f} {row['generating']:>10.0%} {row['generated_tokens_per_s']:>8.1f} "
            f"{split['generate']:>7.1f}s {split['score']:>5.1f}s {split['env']:>5.1f}s {split['update']:>5.1f}s  "
            + " ".join(f"{x:.2f}" for x in row["load_average"]))
    if row["worker_restarts"]:
        line += f"  ({row['worker_restarts']} restarts)"
    if "engine_logprob_mae" in row:
        line += f"  (vLLM log-prob MAE {row['engine_logprob_mae']:.1e})"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", choices=sorted(ENVS), help="repeatable; default: numberline")
    parser.add_argument("--engine", action="append", choices=["hf", "vllm"], help="repeatable; default: hf and vllm")
    parser.add_argument("--mode", action="append", choices=sorted(MODES), help="repeatable; default: sync")
    parser.add_argument("--arch", default="tiny", choices=["tiny", "qwen2.5-vl-3b", "qwen2.5-vl-7b"])
    parser.add_argument("--env-latency", type=float, default=0.15,
                        help="seconds numberline-remote waits per reset and step")
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--steps-per-env", type=int, default=4, help="per env and update")
    parser.add_argument("--updates", type=int, default=2, help="timed updates")
    parser.add_argument("--warmup-updates", type=int, default=3, help="untimed updates before them")
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default=None, help="default: float32 on CPU, bfloat16 on CUDA")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.3, help="vLLM's share (CPU: of RAM)")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    envs, engines, modes = args.env or ["numberline"], args.engine or ["hf", "vllm"], args.mode or ["sync"]
    if "vllm" in engines and importlib.util.find_spec("vllm") is None:
        parser.error(NO_VLLM)
    args.dtype = args.dtype or ("float32" if args.device == "cpu" else "bfloat16")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import rich

    from vlgym_agents.policy.sized import build_sized_vlm

    rich.reconfigure(quiet=True)  # the trainer's progress bars would break up the table

    results = {"arch": args.arch, "device": args.device, "dtype": args.dtype, "num_envs": args.num_envs,
               "steps_per_env": args.steps_per_env, "updates": args.updates, "warmup_updates": args.warmup_updates,
               "max_new_tokens": args.max_new_tokens, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        model = build_sized_vlm(Path(tmp) / "model", args.arch, dtype=args.dtype, device=args.device)
        print(HEADER, flush=True)
        for env in envs:
            first = None
            for engine in engines:
                for mode in modes:
                    row = run(env, engine, mode, model, Path(tmp), args)
                    first = first or row
                    results["runs"].append(row)
                    print(table_row(row, first), flush=True)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":  # vLLM's engine process needs the guard
    main()
