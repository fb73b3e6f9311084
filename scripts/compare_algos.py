"""Compare VL-DAC, RL4VLM (λ = 0.5, 0.3) and LOOP from one warm-started tiny VLM, on CPU.

For each env (NumberLine, EZPoints; ``state_in_text=True``: a tiny model cannot read cards from pixels in
CPU-minutes) a tiny Qwen2.5-VL is built and warm-started once on expert
demonstrations until its sampled answers are valid; every algorithm and seed then starts from that same model,
with the same shared settings (configs/quickstart.yaml: LoRA, KL to the warm start, lr, rollout size), and only
``algo.*`` differs. Each run ends with a held-out evaluation (the same seeds for all runs, greedy and sampled).

Outputs under ``--out``: one folder per run (the trainer's metrics.jsonl and eval.json), ``results.json``,
``results.md`` (the table) and ``learning_curves.png``. Finished runs are skipped, so the script resumes.

    nice -n 10 python scripts/compare_algos.py --out outputs/compare --env-steps 1536 --seeds 0 1 2
    python scripts/compare_algos.py --jobs 16 ...     # runs in parallel processes (one torch thread each)

Runs are independent (each starts from the warm-started model with its own seed), so ``--jobs`` changes only
the wall time, not the results.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ENVS = {
    "numberline": {"env.id": "vlgym/GymCards-NumberLine-v0"},
    "ezpoints": {"env.id": "vlgym/GymCards-EZPoints-v0"},
}
# Warm-start stop rules per env. NumberLine: the quickstart's own (its warm start is the one the quickstart shows
# VL-DAC learning from). EZPoints: at valid 0.85 the sampled success was still 0 (a sparse +10 that RL alone would
# not find in CPU-minutes), so stop at valid 0.75 once there is some success.
SFT_STOP = {
    "numberline": [],
    "ezpoints": ["sft.stop_valid_rate=0.75", "sft.stop_success_rate=0.2", "sft.max_steps=300"],
}
VARIANTS = {
    "vldac": ["algo.name=vldac"],
    "rl4vlm-0.5": ["algo.name=rl4vlm", "algo.rl4vlm.thought_coef=0.5"],
    "rl4vlm-0.3": ["algo.name=rl4vlm", "algo.rl4vlm.thought_coef=0.3"],
    "loop": ["algo.name=loop", "algo.loop.group_size=4"],
}
# The quickstart's stabilisers, used by every rule that has them (the VL-DAC paper ran its baselines so).
# Sampling, warm start and rates as docs/baselines.md measured them (T = 1, one stream per batch, value_aux 1.0, no
# readout stop rule, one cosine for every rate), before the quickstart moved to T = 0.5, per-step streams, value_aux
# 3.0, a warm start that waits for its readout and a value head at a constant rate.
SHARED = ["algo.vldac.clip_eps=0.2", "algo.rl4vlm.clip_eps=0.2", "algo.loop.clip_eps=0.2",
          "algo.vldac.value_coef=0.5", "algo.rl4vlm.value_coef=0.5",
          "sampling.temperature=1.0", "rollout.sampling_streams=batch", "sft.value_aux=1.0",
          "sft.stop_readout_r2=null", "optim.value_lr=null", "optim.value_lr_end=null"]
CURVE_WINDOW = 3  # updates in the moving average of the training success curve


def base_config(env: str, overrides: list[str]):
    from vlgym_agents.config import load_config

    env_overrides = [f"{k}={v}" for k, v in ENVS[env].items()]
    return load_config("quickstart", [*env_overrides, "env.kwargs.state_in_text=true", "env.kwargs.image_size=56",
                                      *SHARED, *overrides])


def setup_process(env: str) -> None:
    """Each worker process: quiet libraries, one torch thread (as the quickstart), CPU."""
    from vlgym_agents.runtime import quiet_libraries, setup_torch

    quiet_libraries()
    setup_torch(base_config(env, []).run)


def warm_start_once(out: Path, env: str) -> Path:
    """The tiny model, warm-started on ``env``'s expert demonstrations (reused if already there)."""
    from vlgym_agents.policy.tiny import build_tiny_vlm
    from vlgym_agents.quickstart import warm_start_line
    from vlgym_agents.sft import warm_start

    model_dir = out / env / "warm_start" / "model"
    if (model_dir / "config.json").exists():
        return model_dir
    setup_process(env)
    config = base_config(env, [f"model.path={out / env / 'tiny_model'}", "model.lora=null", *SFT_STOP[env]])
    build_tiny_vlm(out / env / "tiny_model", "qwen2_5_vl", seed=0)
    started = time.perf_counter()
    model_dir, warm = warm_start(config, out / env / "warm_start",
                                 report=lambda check: print(warm_start_line(check, f"[{env} warm start] "), flush=True))
    (out / env / "warm_start" / "summary.json").write_text(json.dumps(
        {"seconds": time.perf_counter() - started, "demonstrations": warm["demonstrations"],
         "last_check": warm["checks"][-1]}, indent=2))
    return model_dir


def evaluate_before(out: Path, env: str, model_dir: Path, episodes: int) -> dict:
    """The warm start's held-out success, greedy and sampled (cached in ``warm_start/eval.json``)."""
    from vlgym_agents.policy.vlm import VLMPolicy
    from vlgym_agents.rollout.evaluate import evaluate_greedy_and_sampled

    before_file = out / env / "warm_start" / "eval.json"
    if not before_file.exists():
        setup_process(env)
        config = base_config(env, [f"model.path={model_dir}", f"eval.episodes={episodes}"])
        before_file.write_text(json.dumps(evaluate_greedy_and_sampled(VLMPolicy(config.model), config), indent=2))
    return json.loads(before_file.read_text())


def run_one(out: Path, env: str, variant: str, seed: int, model_dir: Path, args) -> dict:
    from vlgym_agents.rollout.evaluate import evaluate_greedy_and_sampled
    from vlgym_agents.train import Trainer

    run_dir = out / env / variant / f"seed{seed}"
    done = run_dir / "result.json"
    if done.exists():
        return json.loads(done.read_text())
    setup_process(env)
    print(f"[{env}] {variant} seed {seed}", flush=True)
    overrides = [f"model.path={model_dir}", *VARIANTS[variant], f"run.output_dir={run_dir}",
                 f"run.total_env_steps={args.env_steps}", f"run.seed={seed}", f"env.seed_start={seed * 100_000}",
                 f"eval.episodes={args.eval_episodes}", "run.checkpoint_every=1000"]
    started = time.perf_counter()
    trainer = Trainer(base_config(env, [*overrides, "eval.episodes=0"]))  # evaluated below, greedy and sampled
    trainer.train()
    train_s = time.perf_counter() - started
    result = {"env": env, "variant": variant, "seed": seed, "train_seconds": train_s,
              "eval": evaluate_greedy_and_sampled(trainer.unwrapped, base_config(env, overrides)),
              "curve": training_curve(run_dir / "metrics.jsonl")}
    done.write_text(json.dumps(result, indent=2))
    return result


def training_curve(metrics: Path) -> dict[str, list[float]]:
    """Success of the training episodes that ended in each update, against env steps."""
    from vlgym_agents.quickstart import rows_with_episodes

    rows = rows_with_episodes(metrics)
    return {"env_steps": [r["env_steps"] for r in rows], "success": [r["success_rate"] for r in rows],
            "episodes": [r["episodes"] for r in rows]}


def smoothed(curve: dict) -> tuple[np.ndarray, np.ndarray]:
    """Episode-weighted moving average of the training success over CURVE_WINDOW updates."""
    steps, success, count = (np.asarray(curve[k], dtype=float) for k in ("env_steps", "success", "episodes"))
    hits = success * count
    kernel = np.ones(CURVE_WINDOW)
    num, den = np.convolve(hits, kernel)[: len(hits)], np.convolve(count, kernel)[: len(count)]
    return steps, num / np.maximum(den, 1)


def steps_to_80(curve: dict, start: float = 0.0) -> float:
    """First env step where the smoothed training success covers 80% of the way from ``start`` to its final
    (last) value; NaN when the final value is not above ``start``. ``start=0``: 80% of the final value."""
    steps, success = smoothed(curve)
    if not len(success) or success[-1] <= start:
        return float("nan")
    return float(steps[np.argmax(success >= start + 0.8 * (success[-1] - start))])


def pooled(runs: list[dict], mode: str) -> tuple[float, list[float]]:
    """Success over all seeds' held-out episodes together, with its 95% Wilson interval."""
    from vlgym.eval import wilson_interval

    wins, n = counts(runs, mode)
    return wins / max(1, n), list(wilson_interval(wins, n))


def counts(runs: list[dict], mode: str) -> tuple[int, int]:
    """Successes and episodes over runs' held-out evaluations (all seeds together)."""
    n = sum(r["eval"][mode]["episodes"] for r in runs)
    return round(sum(r["eval"][mode]["episodes"] * r["eval"][mode]["success_rate"] for r in runs)), n


def significance_lines(env: str, results: list[dict], variants: list[str], reference: str = "vldac") -> list[str]:
    """Each algorithm against VL-DAC: pooled difference in held-out success (other − VL-DAC) with Newcombe's
    95% interval, and whether that interval excludes 0 (per decoding), over the seeds both have."""
    from vlgym.eval import difference_interval

    ours = {r["seed"]: r for r in results if r["variant"] == reference}
    lines = [f"Against {reference} on {env} (pooled over the seeds both ran; significant: the 95% interval of the "
             "difference excludes 0):", "",
             "| algorithm | greedy: difference [95% CI] | sampled: difference [95% CI] |", "|---|---|---|"]
    for variant in variants:
        theirs = [r for r in results if r["variant"] == variant and r["seed"] in ours]
        if variant == reference or not theirs:
            continue
        cells = []
        for mode in ("greedy", "sampled"):
            (k_a, n_a), (k_b, n_b) = counts([ours[r["seed"]] for r in theirs], mode), counts(theirs, mode)
            low, high = difference_interval(k_a, n_a, k_b, n_b)
            verdict = "significant" if low > 0 or high < 0 else "not significant"
            cells.append(f"{k_b / n_b - k_a / n_a:+.3f} [{low:+.3f}, {high:+.3f}], {verdict}")
        lines.append(f"| {variant} | {' | '.join(cells)} |")
    return [*lines, ""]


def summarize_results(out: Path, results: list[dict], before: dict, args) -> None:
    lines = ["# VL-DAC vs RL4VLM vs LOOP: tiny Qwen2.5-VL on CPU", "",
             f"Each run: {args.env_steps} env steps from the same warm-started model; seeds "
             f"{', '.join(map(str, args.seeds))}; held-out evaluation on {args.eval_episodes} episodes per run "
             "(the same seeds for every run). Final: held-out success after training, pooled over seeds, with a "
             "95% Wilson interval, and the per-seed values. Best: the highest smoothed training-episode success "
             f"(moving average over {CURVE_WINDOW} updates), mean over seeds. Steps to 80%: first env step where "
             "the smoothed training success reaches 80% of its final value, mean over seeds; on a flat curve that "
             "is the first update. Steps to 80% of gain: the same for 80% of the way from the warm start's sampled "
             "success to the final value, over the seeds that gained (n = how many).", ""]
    table = {}
    for env in args.envs:
        b = before[env]
        lines += [f"## {env}", "",
                  f"Warm start (before RL): greedy {b['greedy']['success_rate']:.3f}, sampled "
                  f"{b['sampled']['success_rate']:.3f} held-out success.", "",
                  "| algorithm | final greedy [95% CI] | per seed | final sampled [95% CI] | per seed | "
                  "best training (mean) | steps to 80% | steps to 80% of gain (n) | train s/run |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for variant in args.variants:
            runs = [r for r in results if r["env"] == env and r["variant"] == variant]
            if not runs:
                continue
            row = {}
            for mode in ("greedy", "sampled"):
                row[mode] = pooled(runs, mode)
            per_seed = [r["eval"]["greedy"]["success_rate"] for r in runs]
            per_seed_sampled = [r["eval"]["sampled"]["success_rate"] for r in runs]
            best = float(np.mean([smoothed(r["curve"])[1].max() for r in runs if r["curve"]["success"]]))
            to80 = [steps_to_80(r["curve"]) for r in runs]
            gain = [x for x in (steps_to_80(r["curve"], b["sampled"]["success_rate"]) for r in runs) if x == x]
            seconds = float(np.mean([r["train_seconds"] for r in runs]))
            table.setdefault(env, {})[variant] = {"greedy": row["greedy"], "sampled": row["sampled"],
                                                  "per_seed_greedy": per_seed,
                                                  "per_seed_sampled": per_seed_sampled, "best_training": best,
                                                  "steps_to_80": to80, "steps_to_80_of_gain": gain,
                                                  "train_seconds": seconds}
            fmt = lambda p: f"{p[0]:.3f} [{p[1][0]:.3f}, {p[1][1]:.3f}]"  # noqa: E731
            seeds = lambda values: ", ".join(f"{x:.2f}" for x in values)  # noqa: E731
            lines.append(f"| {variant} | {fmt(row['greedy'])} | {seeds(per_seed)} | "
                         f"{fmt(row['sampled'])} | {seeds(per_seed_sampled)} | {best:.3f} | {np.nanmean(to80):.0f} | "
                         f"{f'{np.mean(gain):.0f}' if gain else '-'} ({len(gain)}) | {seconds:.0f} |")
        lines += ["", *significance_lines(env, [r for r in results if r["env"] == env], args.variants)]
    lines += ["![learning curves](learning_curves.png)", ""]
    (out / "results.json").write_text(json.dumps({"before": before, "table": table, "runs": results}, indent=2))
    (out / "results.md").write_text("\n".join(lines) + "\n")
    plot_curves(out / "learning_curves.png", results, args)


def plot_curves(path: Path, results: list[dict], args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(args.envs), figsize=(5.5 * len(args.envs), 3.6), dpi=120, squeeze=False)
    for axis, env in zip(axes[0], args.envs, strict=True):
        for variant in args.variants:
            runs = [r for r in results if r["env"] == env and r["variant"] == variant and r["curve"]["success"]]
            if not runs:
                continue
            curves = [smoothed(r["curve"]) for r in runs]
            length = min(len(c[0]) for c in curves)
            steps = curves[0][0][:length]
            values = np.stack([c[1][:length] for c in curves])
            line, = axis.plot(steps, values.mean(0), label=variant)
            axis.fill_between(steps, values.min(0), values.max(0), color=line.get_color(), alpha=0.15)
        axis.set_title(f"{env} (mean over seeds, band: min-max)")
        axis.set_xlabel("environment steps")
        axis.set_ylabel("training success (smoothed)")
        axis.set_ylim(0, 1.02)
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs/compare"))
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--env-steps", type=int, default=1536, help="env steps per run")
    parser.add_argument("--eval-episodes", type=int, default=100, help="held-out episodes per run")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time, each in its own process")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        models = dict(zip(args.envs, pool.map(warm_start_once, [args.out] * len(args.envs), args.envs), strict=True))
        count = len(args.envs)
        before = dict(zip(args.envs, pool.map(evaluate_before, [args.out] * count, args.envs,
                                              [models[env] for env in args.envs], [args.eval_episodes] * count),
                          strict=True))
        # Seeds outermost: a comparison cut short still covers every env and algorithm.
        runs = [(env, variant, seed) for seed in args.seeds for env in args.envs for variant in args.variants]
        results = []
        for future in as_completed([pool.submit(run_one, args.out, env, variant, seed, models[env], args)
                                    for env, variant, seed in runs]):
            result = future.result()
            print(f"[{result['env']}] {result['variant']} seed {result['seed']}: done", flush=True)
            results.append(result)
            results.sort(key=lambda r: (r["seed"], args.envs.index(r["env"]), args.variants.index(r["variant"])))
            summarize_results(args.out, results, before, args)
    print((args.out / "results.md").read_text())


if __name__ == "__main__":
    main()
