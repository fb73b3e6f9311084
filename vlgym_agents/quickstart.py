"""The CPU quickstart: a tiny VLM learns NumberLine, first from expert demonstrations, then with VL-DAC.

1. build a tiny Qwen2.5-VL offline (random weights, ~0.9M parameters);
2. warm-start it on expert demonstrations until its *sampled* answers are valid (>= 90%): it then knows the
   answer format but still decides poorly, which leaves RL room to improve;
3. evaluate it on held-out seeds; train it with VL-DAC (LoRA, KL to the warm-started model, value warm-up);
   evaluate again on the same seeds;
4. write ``report.md`` (success rates with 95% intervals, the ``vlgym view`` commands for its recorded
   episodes), ``learning_curve.png`` and an episode GIF.

NumberLine runs with ``state_in_text=True``: the positions are also written in the prompt (the picture stays).
A tiny model trained from scratch does not learn to read digits and marker positions from pixels within
CPU-minutes (research/learnability.md); with the state in text the demo shows the learning algorithm, not the
vision tower's pre-training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from vlgym_agents.config import TrainConfig, load_config
from vlgym_agents.policy.tiny import build_tiny_vlm
from vlgym_agents.rollout.evaluate import evaluate_greedy_and_sampled, held_out_seeds, play_episodes

RECORDED = 8  # held-out episodes recorded before and after RL, for the viewer


def rows_with_episodes(metrics_file: Path) -> list[dict[str, Any]]:
    """The trainer's ``metrics.jsonl`` rows of updates in which some training episode ended."""
    rows = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
    return [r for r in rows if "success_rate" in r]


def warm_start_line(check: dict[str, Any], label: str = "") -> str:
    """One progress line for a warm-start check."""
    return (f"  {label}step {check['step']}: sampled valid {1 - check['invalid_action_rate']:.2f}, "
            f"success {check['success_rate']:.2f}")


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


def _row(name: str, result: dict) -> str:
    low, high = result["success_ci95"]
    return (f"| {name} | {result['success_rate']:.3f} [{low:.3f}, {high:.3f}] | {result['mean_return']:.2f} | "
            f"{result['mean_length']:.2f} | {result['invalid_action_rate']:.3f} |")


def write_report(path: Path, config: TrainConfig, warm: dict, before: dict, after: dict, timings: dict,
                 output: Path) -> None:
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
    (output / "results.json").write_text(json.dumps({"warm_start": warm, "before": before, "after": after,
                                                      "timings_s": timings}, indent=2))
    report = output / "report.md"
    write_report(report, config, warm, before, after, timings, output)
    console.print(report.read_text())
    return report
