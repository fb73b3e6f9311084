"""Rollout throughput of the two engines (``rollout.engine: hf | vllm``) on the same training config, one run each.

    python scripts/bench_rollout.py                                  # CPU, the vLLM-sized tiny model
    python scripts/bench_rollout.py --arch qwen2.5-vl-3b --device cuda --num-envs 32 --max-new-tokens 64

Reports, per engine, env steps/s, generated tokens/s (over the whole loop and over generation alone) and where the
time went: generate (the engine), score (the policy's batched forward that gives the old log-probs and values;
inside generate for hf), env (prompt encoding, reference log-probs, env steps) and update (PPO epochs). The first
update of each run (start-up, warm-up) is left out. ``--arch`` builds a real-size architecture from its config
with random weights (vlgym_agents/policy/sized.py): answers run to ``--max-new-tokens``, the same for both engines.
Needs .venv-vllm for ``--engine vllm`` (scripts/install_vllm.sh).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def run(engine: str, model: Path, out: Path, args) -> dict:
    from vlgym_agents.config import load_config
    from vlgym_agents.train import Trainer

    steps_per_update = args.num_envs * args.steps_per_env
    config = load_config(None, [
        f"model.path={model}", f"model.dtype={args.dtype}", "model.value_head_hidden=[64]",
        "env.id=vlgym/GymCards-NumberLine-v0", "env.kwargs.state_in_text=true", "env.kwargs.image_size=56",
        f"env.num_envs={args.num_envs}", f"sampling.max_new_tokens={args.max_new_tokens}",
        f"run.steps_per_env={args.steps_per_env}", f"run.total_env_steps={steps_per_update * (args.updates + 1)}",
        f"algo.minibatch_size={min(16, steps_per_update)}", "algo.ppo_epochs=1", "algo.vldac.warmup_updates=0",
        "run.checkpoint_every=100000", "eval.episodes=0", f"run.device={args.device}",
        f"run.torch_threads={args.torch_threads}", f"run.output_dir={out / engine}", f"rollout.engine={engine}",
        f"rollout.vllm.gpu_memory_utilization={args.gpu_memory_utilization}"])
    Trainer(config).train()
    rows = [json.loads(line) for line in (out / engine / "metrics.jsonl").read_text().splitlines()][1:]

    def total(key: str) -> float:
        return sum(r[key] for r in rows)

    seconds, collect = total("collect_s") + total("update_s"), total("collect_s")
    generate, score = total("engine_generate_s"), total("engine_score_s")
    tokens = sum(r["tokens_per_s"] * r["collect_s"] for r in rows)
    steps = steps_per_update * len(rows)
    return {"engine": engine, "env_steps_timed": steps, "seconds": seconds, "env_steps_per_s": steps / seconds,
            "generated_tokens_per_s": tokens / seconds, "generate_tokens_per_s": tokens / generate,
            "mean_answer_tokens": tokens / steps,
            "split_s": {"generate": generate, "score": score, "env": collect - generate - score,
                        "update": total("update_s")},
            **({"engine_logprob_mae": max(r["engine_logprob_mae"] for r in rows)} if engine == "vllm" else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", nargs="+", default=["hf", "vllm"], choices=["hf", "vllm"])
    parser.add_argument("--arch", default="tiny", choices=["tiny", "qwen2.5-vl-3b", "qwen2.5-vl-7b"])
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--steps-per-env", type=int, default=4)
    parser.add_argument("--updates", type=int, default=2, help="timed updates (after one untimed)")
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default=None, help="default: float32 on CPU, bfloat16 on CUDA")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.3, help="vLLM's share (CPU: of RAM)")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    args.dtype = args.dtype or ("float32" if args.device == "cpu" else "bfloat16")

    from vlgym_agents.policy.sized import build_sized_vlm

    with tempfile.TemporaryDirectory() as tmp:
        model = build_sized_vlm(Path(tmp) / "model", args.arch, dtype=args.dtype, device=args.device)
        results = {"arch": args.arch, "device": args.device, "dtype": args.dtype, "num_envs": args.num_envs,
                   "max_new_tokens": args.max_new_tokens,
                   "runs": [run(engine, model, Path(tmp), args) for engine in args.engine]}
    print(json.dumps(results, indent=2))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":  # vLLM's engine process needs the guard
    main()
