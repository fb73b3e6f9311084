"""The CPU quickstart: a tiny VLM learns NumberLine, first from expert demonstrations, then with VL-DAC.

1. build a tiny Qwen2.5-VL offline (random weights, ~0.9M parameters);
2. warm-start it on expert demonstrations until its *sampled* answers are valid (>= 90%) and succeed on 80% of
   a check's episodes (at most 600 steps): it then knows the answer format but still decides poorly, which
   leaves RL room to improve. An auxiliary loss (``sft.value_aux``) makes the last prompt token's state carry
   the expert's return, so that VL-DAC's critic, which reads that state detached, has something to read;
3. evaluate it on held-out seeds; train it with VL-DAC (LoRA, KL to the warm-started model, value warm-up);
   evaluate again on the same seeds;
4. write ``report.md`` (success rates with 95% intervals, the ``vlgym view`` commands for its recorded
   episodes), ``learning_curve.png`` and an episode GIF.

With several seeds (``vlgym-train quickstart --seeds 5``) each seed (a different tiny model, warm start and
sampling) runs the whole pipeline in ``seed_<k>/``, and ``seeds.md`` / ``seeds.json`` compare warm start and
after-RL per seed and pooled: one lucky seed does not make a result.

NumberLine runs with ``state_in_text=True``: the positions are also written in the prompt (the picture stays).
A tiny model trained from scratch does not learn to read digits and marker positions from pixels within
CPU-minutes; with the state in text the demo shows the learning algorithm, not the
vision tower's pre-training.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from vlgym.eval import difference_interval, wilson_interval
from vlgym_agents.config import TrainConfig, load_config
from vlgym_agents.policy.tiny import build_tiny_vlm
from vlgym_agents.rollout.evaluate import evaluate_greedy_and_sampled, held_out_seeds, play_episodes

RECORDED = 8  # held-out episodes recorded before and after RL, for the viewer
CRITIC_WINDOW = 8  # the last updates whose explained variance says whether the critic learned


def rows_with_episodes(metrics_file: Path) -> list[dict[str, Any]]:
    """The trainer's ``metrics.jsonl`` rows of updates in which some training episode ended."""
    rows = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
    return [r for r in rows if "success_rate" in r]


def warm_start_line(check: dict[str, Any], label: str = "") -> str:
    """One progress line for a warm-start check."""
    head = f"  {label}step {check['step']}: "
    if "success_rate" not in check:  # short of the readout, a check plays no episodes (sft.stop_readout_r2)
        return head + f"readout R² {check['readout_r2']:.2f}, episodes once the readout passes"
    readout = f", readout R² {check['readout_r2']:.2f}" if "readout_r2" in check else ""
    return head + f"sampled valid {1 - check['invalid_action_rate']:.2f}, success {check['success_rate']:.2f}{readout}"


def learning_curve(metrics_file: Path, before: dict, after: dict, total_steps: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rows_with_episodes(metrics_file)
    figure, axis = plt.subplots(figsize=(6, 3.5), dpi=120)
    axis.plot([r["env_steps"] for r in rows], [r["success_rate"] for r in rows], color="tab:blue", alpha=0.5,
              label="training episodes (sampled)")
    for name, color, x in (("before", "tab:red", 0), ("after", "tab:green", total_steps)):
        result = (before if name == "before" else after)["sampled"]
        low, high = result["success_ci95"]
        axis.errorbar([x], [result["success_rate"]], yerr=[[result["success_rate"] - low],
                      [high - result["success_rate"]]], fmt="o", color=color, capsize=4,
                      label=f"held-out, {name} RL (95% CI)")
    axis.set_xlabel("environment steps")
    axis.set_ylabel("success rate")
    axis.set_ylim(0, 1.02)
    axis.set_title("VL-DAC on NumberLine (tiny VLM, CPU)")
    axis.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def final_means(metrics_file: Path, keys: Sequence[str]) -> dict[str, float]:
    """Mean of each per-update metric over the last :data:`CRITIC_WINDOW` updates (NaN values left out)."""
    rows = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()][-CRITIC_WINDOW:]
    means = {}
    for key in keys:
        values = [r[key] for r in rows if r.get(key) is not None and math.isfinite(r[key])]
        means[key] = sum(values) / len(values) if values else float("nan")
    return means


def numerics() -> dict[str, str]:
    """What a run's numbers depend on besides its seed: the versions of the libraries that compute them and the CPU
    kernels torch dispatches to (``AVX512``, ``AVX2``, ...), whose floating-point sums differ in the last bits.

    >>> sorted(numerics())
    ['cpu_kernels', 'peft', 'torch', 'transformers']
    """
    from importlib.metadata import version

    import torch

    return {"torch": torch.__version__, "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
            "transformers": version("transformers"), "peft": version("peft")}


def _row(name: str, result: dict) -> str:
    low, high = result["success_ci95"]
    return (f"| {name} | {result['success_rate']:.3f} [{low:.3f}, {high:.3f}] | {result['mean_return']:.2f} | "
            f"{result['mean_length']:.2f} | {result['invalid_action_rate']:.3f} |")


def write_report(path: Path, config: TrainConfig, warm: dict, before: dict, after: dict, timings: dict,
                 machine: dict[str, str], output: Path) -> None:
    episodes = before["greedy"]["episodes"]
    lines = [
        "# vlgym quickstart: VL-DAC on NumberLine with a tiny VLM (CPU)", "",
        f"Env `{config.env.id}` with `state_in_text=True` (the positions are also in the prompt; the picture "
        "stays). Model: a tiny Qwen2.5-VL built offline with random weights.", "",
        f"Warm start: {warm['demonstrations']} expert steps, stopped after {warm['checks'][-1]['step']} steps "
        f"when sampled answers were valid {1 - warm['checks'][-1]['invalid_action_rate']:.1%} of the time.", "",
        f"Held-out evaluation: {episodes} episodes, seeds {config.eval.seed_start}.."
        f"{config.eval.seed_start + episodes - 1}; success rate with 95% Wilson intervals.", "",
        "| policy | success [95% CI] | mean return | mean length | invalid answers |", "|---|---|---|---|---|",
        _row("warm start, greedy", before["greedy"]), _row("warm start, sampled", before["sampled"]),
        _row("after VL-DAC, greedy", after["greedy"]), _row("after VL-DAC, sampled", after["sampled"]), "",
        f"VL-DAC: {config.run.total_env_steps} env steps, {config.env.num_envs} envs, sampling temperature "
        f"{config.sampling.temperature}.", "",
        "Wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()), "",
        f"Computed with torch {machine['torch']} on {machine['cpu_kernels']} CPU kernels, transformers "
        f"{machine['transformers']}, peft {machine['peft']}: the same seed repeats these numbers bit for bit with "
        "the same versions on a CPU with the same kernels; another kernel set rounds differently and takes another "
        "path.", "",
        "![learning curve](learning_curve.png)", "", "An episode of the trained policy: `episode.gif`.", "",
        f"Step through the first {RECORDED} held-out episodes (greedy) before and after RL, side by side: "
        f"`vlgym view {output / 'episodes' / 'before'} {output / 'episodes' / 'after'}`; episodes sampled during "
        f"RL: `vlgym view {output / 'rl' / 'episodes'}`.",
    ]
    path.write_text("\n".join(lines) + "\n")


def run_quickstart(output: str | Path, overrides: list[str], *, console: Console | None = None) -> Path:
    """The whole pipeline (see the module docstring); returns the report's path."""
    from vlgym_agents.policy.vlm import VLMPolicy
    from vlgym_agents.runtime import quiet_libraries, setup_torch
    from vlgym_agents.sft import warm_start
    from vlgym_agents.train import Trainer

    console = console or Console()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    overrides = [f"run.output_dir={output / 'rl'}", *overrides]

    def stage(*extra: str) -> TrainConfig:  # each stage's config: the quickstart's, with its own overrides
        return load_config("quickstart", [*overrides, *extra])

    config = stage()
    quiet_libraries()
    setup_torch(config.run)
    tiny = build_tiny_vlm(output / "tiny_model", "qwen2_5_vl", seed=config.run.seed)
    console.print("[bold]1/4[/] warm start on expert demonstrations")
    model_dir, warm = warm_start(stage(f"model.path={tiny}", "model.lora=null"), output / "warm_start",
                                 report=lambda check: console.print(warm_start_line(check)))
    timings["warm start"] = time.perf_counter() - started
    config = stage(f"model.path={model_dir}")

    console.print("[bold]2/4[/] held-out evaluation of the warm-started policy")
    mark = time.perf_counter()
    warm_policy = VLMPolicy(config.model)
    before = evaluate_greedy_and_sampled(warm_policy, config)
    play_episodes(warm_policy, config.env, held_out_seeds(config)[:RECORDED], config.eval.sampling,
                  record_dir=output / "episodes" / "before")
    timings["evaluation before"] = time.perf_counter() - mark
    console.print(f"  success: greedy {before['greedy']['success_rate']:.3f}, "
                  f"sampled {before['sampled']['success_rate']:.3f}")

    console.print("[bold]3/4[/] VL-DAC")
    mark = time.perf_counter()
    trainer = Trainer(stage(f"model.path={model_dir}", "eval.episodes=0"))  # held-out evaluation comes next
    trainer.train()
    timings["VL-DAC"] = time.perf_counter() - mark

    console.print("[bold]4/4[/] held-out evaluation of the trained policy")
    mark = time.perf_counter()
    after = evaluate_greedy_and_sampled(trainer.unwrapped, config)
    play_episodes(trainer.unwrapped, config.env, held_out_seeds(config)[:RECORDED], config.eval.sampling,
                  record_dir=output / "episodes" / "after")
    (output / "episode.gif").write_bytes((output / "episodes" / "after" / "episode_00000" / "episode.gif").read_bytes())
    timings["evaluation after"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    learning_curve(output / "rl" / "metrics.jsonl", before, after, config.run.total_env_steps,
                   output / "learning_curve.png")
    machine = numerics()
    (output / "results.json").write_text(json.dumps({
        "seed": config.run.seed, "numerics": machine, "warm_start": warm, "before": before, "after": after,
        **{f"{key}_end": value for key, value in final_means(
            output / "rl" / "metrics.jsonl", ["explained_variance", "explained_variance_by_observation"]).items()},
        "timings_s": timings}, indent=2))
    report = output / "report.md"
    write_report(report, config, warm, before, after, timings, machine, output)
    console.print(report.read_text())
    return report


def _counts(result: dict) -> tuple[int, int]:
    return round(result["success_rate"] * result["episodes"]), result["episodes"]


def compare_seeds(results: list[dict]) -> dict[str, Any]:
    """Per seed and pooled: warm start vs after VL-DAC, greedy and sampled, with 95% intervals.

    A seed counts as a clear gain when the after-RL Wilson interval lies entirely above the warm start's.
    The pooled difference (after − before, all seeds' episodes together) has Newcombe's interval.
    """
    summary: dict[str, Any] = {"seeds": [], "pooled": {}}
    for result in results:
        row: dict[str, Any] = {"seed": result["seed"], "explained_variance_end": result["explained_variance_end"],
                               "explained_variance_by_observation_end": result.get(
                                   "explained_variance_by_observation_end", float("nan"))}
        for decoding in ("greedy", "sampled"):
            before, after = result["before"][decoding], result["after"][decoding]
            row[decoding] = {"before": before["success_rate"], "before_ci95": before["success_ci95"],
                             "after": after["success_rate"], "after_ci95": after["success_ci95"],
                             "clear_gain": after["success_ci95"][0] > before["success_ci95"][1]}
        summary["seeds"].append(row)
    for decoding in ("greedy", "sampled"):
        (k_b, n_b), (k_a, n_a) = ([sum(x) for x in zip(*[_counts(r[phase][decoding]) for r in results], strict=True)]
                                  for phase in ("before", "after"))
        summary["pooled"][decoding] = {
            "before": k_b / n_b, "before_ci95": list(wilson_interval(k_b, n_b)), "after": k_a / n_a,
            "after_ci95": list(wilson_interval(k_a, n_a)), "difference": k_a / n_a - k_b / n_b,
            "difference_ci95": list(difference_interval(k_b, n_b, k_a, n_a)),
            "clear_gains": sum(s[decoding]["clear_gain"] for s in summary["seeds"])}
    return summary


def _number(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "n/a"  # n/a: not measured (results from before the metric)


def seeds_report(summary: dict[str, Any], overrides: list[str]) -> str:
    """``seeds.md``: the table of :func:`compare_seeds`."""
    fmt = lambda p, ci: f"{p:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"  # noqa: E731
    lines = ["# vlgym quickstart over seeds: warm start vs after VL-DAC", "",
             f"Overrides: `{' '.join(overrides) or '(none)'}`. Each seed builds its own tiny model, warm start and "
             "sampling; all are evaluated on the same held-out episodes. Success with 95% Wilson intervals; a clear "
             "gain is an after-RL interval entirely above the warm start's. Critic: mean explained variance over "
             f"the last {CRITIC_WINDOW} updates, and in brackets what the observation alone explains of the same "
             "returns (each step predicted by the other steps with the same prompt).", "",
             "| seed | greedy: warm start | greedy: after VL-DAC | sampled: warm start | sampled: after VL-DAC | "
             "clear gain (greedy / sampled) | critic EV (observation alone) |", "|---|---|---|---|---|---|---|"]
    for row in summary["seeds"]:
        g, s = row["greedy"], row["sampled"]
        lines.append(f"| {row['seed']} | {fmt(g['before'], g['before_ci95'])} | {fmt(g['after'], g['after_ci95'])} | "
                     f"{fmt(s['before'], s['before_ci95'])} | {fmt(s['after'], s['after_ci95'])} | "
                     f"{'yes' if g['clear_gain'] else 'no'} / {'yes' if s['clear_gain'] else 'no'} | "
                     f"{row['explained_variance_end']:.2f} ({_number(row['explained_variance_by_observation_end'])}) |")
    lines += [""]
    for decoding, pooled in summary["pooled"].items():
        lines.append(f"Pooled, {decoding}: {fmt(pooled['before'], pooled['before_ci95'])} -> "
                     f"{fmt(pooled['after'], pooled['after_ci95'])}; difference "
                     f"{fmt(pooled['difference'], pooled['difference_ci95'])}; clear gains on "
                     f"{pooled['clear_gains']} of {len(summary['seeds'])} seeds.")
    return "\n".join(lines) + "\n"


def run_quickstart_seeds(output: str | Path, overrides: list[str], seeds: int, *,
                         console: Console | None = None) -> Path:
    """The quickstart for ``run.seed`` = 0 .. ``seeds``-1, each in ``output/seed_<k>``; returns ``seeds.md``.

    >>> import inspect; list(inspect.signature(run_quickstart_seeds).parameters)[:3]
    ['output', 'overrides', 'seeds']
    """
    console = console or Console()
    output = Path(output)
    results = []
    for seed in range(seeds):
        done = output / f"seed_{seed}" / "results.json"
        if done.exists():  # a finished seed (an interrupted multi-seed run, or seeds run side by side)
            console.print(f"[bold]seed {seed}[/]: reusing {done}")
        else:
            console.print(f"[bold]seed {seed}[/] ({seed + 1} of {seeds})")
            run_quickstart(output / f"seed_{seed}", [*overrides, f"run.seed={seed}"], console=console)
        results.append(json.loads(done.read_text()))
    summary = compare_seeds(results)
    (output / "seeds.json").write_text(json.dumps(summary, indent=2))
    report = output / "seeds.md"
    report.write_text(seeds_report(summary, overrides))
    console.print(report.read_text())
    return report
