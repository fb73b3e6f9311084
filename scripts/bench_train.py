"""Throughput of the full VL-DAC loop (rollout + update) with a tiny VLM: the authors' structure vs ours.

    python scripts/bench_train.py [--env-steps 512] [--output bench_train.json]

- "authors": 1 environment, batch-1 generation, then a separate forward for the values and old log-probs,
  minibatch 1 in the update (the structure of the VL-DAC code);
- "batched": 8 environments in worker processes, one batched generation for all of them per step,
  minibatches of 16 steps.
Both runs use the same tiny Qwen2.5-VL, the same env (NumberLine with the state in text), the same number of
env steps and PPO epochs, and the same answer length cap. The first update of each run (process start-up,
first-call overheads) is left out of the timing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def authors_generate(policy):
    """The authors' acting step: generate, then score the answer in a second forward (values, log-probs)."""

    def generate(prompts, batch, sampling, seeds=None):
        generation = policy.generate(batch, sampling, seeds=seeds)
        generation.log_probs, generation.values = policy(batch, generation.tokens, generation.mask, sampling)
        return generation

    return generate


def run(label: str, model: Path, out: Path, *, num_envs: int, minibatch: int, env_steps: int, steps_per_env: int,
        max_new_tokens: int, device: str) -> dict:
    from vlgym_agents.config import load_config
    from vlgym_agents.train import Trainer

    config = load_config(None, [
        f"model.path={model}", "model.value_head_hidden=[64]", "env.id=vlgym/GymCards-NumberLine-v0",
        "env.kwargs.state_in_text=true", "env.kwargs.image_size=56", f"env.num_envs={num_envs}",
        f"sampling.max_new_tokens={max_new_tokens}", f"run.steps_per_env={steps_per_env}",
        f"run.total_env_steps={env_steps}", f"algo.minibatch_size={minibatch}", "algo.ppo_epochs=2",
        "algo.vldac.warmup_updates=0", "run.checkpoint_every=100000", "eval.episodes=0", "run.torch_threads=1",
        f"run.device={device}", f"run.output_dir={out / label}"])
    trainer = Trainer(config)
    if label == "authors":
        trainer.collector.engine.generate = authors_generate(trainer.collector.policy)
    trainer.train()
    rows = [json.loads(line) for line in (out / label / "metrics.jsonl").read_text().splitlines()][1:]
    seconds = sum(r["collect_s"] + r["update_s"] for r in rows)
    steps = sum(num_envs * steps_per_env for _ in rows)
    tokens = sum(r["tokens_per_s"] * r["collect_s"] for r in rows)
    return {"label": label, "num_envs": num_envs, "minibatch": minibatch, "env_steps_timed": steps,
            "seconds": seconds, "env_steps_per_s": steps / seconds, "generated_tokens_per_s": tokens / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-steps", type=int, default=512, help="env steps per run (incl. the untimed first update)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: a fresh tiny Qwen2.5-VL)")
    parser.add_argument("--output", type=Path, default=Path("bench_train.json"))
    args = parser.parse_args()

    from vlgym_agents.policy.tiny import build_tiny_vlm

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model or build_tiny_vlm(tmp / "tiny", "qwen2_5_vl")
        common = dict(env_steps=args.env_steps, max_new_tokens=args.max_new_tokens, device=args.device)
        authors = run("authors", model, tmp, num_envs=1, minibatch=1, steps_per_env=64, **common)
        batched = run("batched", model, tmp, num_envs=8, minibatch=16, steps_per_env=16, **common)
    result = {"authors": authors, "batched": batched,
              "speedup_env_steps": batched["env_steps_per_s"] / authors["env_steps_per_s"],
              "speedup_tokens": batched["generated_tokens_per_s"] / authors["generated_tokens_per_s"]}
    args.output.write_text(json.dumps(result, indent=2))
    for row in (authors, batched):
        print(f"{row['label']:>8}: {row['num_envs']} env(s), minibatch {row['minibatch']}: "
              f"{row['env_steps_per_s']:.2f} env steps/s, {row['generated_tokens_per_s']:.0f} generated tokens/s")
    print(f"speed-up: {result['speedup_env_steps']:.1f}x env steps/s, {result['speedup_tokens']:.1f}x tokens/s")


if __name__ == "__main__":
    main()
