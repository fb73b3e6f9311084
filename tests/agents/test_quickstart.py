"""The quickstart pipeline end to end, on a tiny budget (the real run is `bash scripts/quickstart.sh`)."""

import json

import pytest

from vlgym.record import find_runs


@pytest.mark.timeout(300)
def test_quickstart_writes_its_report(tmp_path):
    import torch

    from vlgym_agents.quickstart import run_quickstart

    report = run_quickstart(tmp_path, ["sft.max_steps=3", "sft.check_every=3", "sft.check_episodes=2",
                                       "sft.demos=32", "run.total_env_steps=64", "env.num_envs=2",
                                       "run.steps_per_env=16", "algo.ppo_epochs=1", "eval.episodes=4",
                                       "eval.num_envs=4", "sampling.max_new_tokens=12"])
    results = json.loads((tmp_path / "results.json").read_text())
    for phase in ("before", "after"):
        for decoding in ("greedy", "sampled"):
            assert results[phase][decoding]["episodes"] == 4
    assert results["warm_start"]["checks"][-1]["step"] == 3
    kernels = torch.backends.cpu.get_cpu_capability()
    assert results["numerics"]["cpu_kernels"] == kernels and results["numerics"]["torch"] == torch.__version__
    text = report.read_text()
    assert f"torch {torch.__version__} on {kernels} CPU kernels" in text
    assert "| after VL-DAC, sampled |" in text and "state_in_text=True" in text
    assert (tmp_path / "learning_curve.png").stat().st_size > 1000
    assert (tmp_path / "episode.gif").read_bytes()[:3] == b"GIF"
    view = f"vlgym view {tmp_path / 'episodes' / 'before'} {tmp_path / 'episodes' / 'after'}"
    assert view in text
    for phase in ("before", "after"):
        assert [len(r.episode_dirs()) for r in find_runs(tmp_path / "episodes" / phase)] == [4]
    assert (tmp_path / "rl" / "checkpoints" / "latest").exists()


def result(seed: int, before: int, after: int, ev: float) -> dict:
    """A seed's results.json with ``before`` / ``after`` successes out of 200 held-out episodes."""
    from vlgym.eval import wilson_interval

    phase = lambda k: {d: {"success_rate": k / 200, "episodes": 200,  # noqa: E731
                           "success_ci95": list(wilson_interval(k, 200))} for d in ("greedy", "sampled")}
    return {"seed": seed, "before": phase(before), "after": phase(after), "explained_variance_end": ev,
            "explained_variance_by_observation_end": 0.45}


def test_seeds_are_compared_per_seed_and_pooled():
    from vlgym_agents.quickstart import compare_seeds, seeds_report

    summary = compare_seeds([result(0, 120, 170, 0.5), result(1, 150, 155, 0.1)])
    assert [s["sampled"]["clear_gain"] for s in summary["seeds"]] == [True, False]
    pooled = summary["pooled"]["sampled"]
    assert pooled["before"] == 270 / 400 and pooled["after"] == 325 / 400 and pooled["clear_gains"] == 1
    low, high = pooled["difference_ci95"]
    assert 0 < low < pooled["difference"] < high
    text = seeds_report(summary, ["optim.lr=1e-3"])
    assert "| 0 | 0.600 [" in text and "| 0.50 (0.45) |" in text
    assert "clear gains on 1 of 2 seeds" in text and "optim.lr=1e-3" in text


def test_finished_seeds_are_reused_not_run_again(tmp_path):
    from rich.console import Console

    from vlgym_agents.quickstart import run_quickstart_seeds

    for seed, (before, after) in enumerate([(120, 170), (150, 155)]):
        (tmp_path / f"seed_{seed}").mkdir()
        (tmp_path / f"seed_{seed}" / "results.json").write_text(json.dumps(result(seed, before, after, 0.3)))
    console = Console(record=True, width=200)
    report = run_quickstart_seeds(tmp_path, [], 2, console=console)  # would take minutes per seed if it ran
    assert console.export_text().count("reusing") == 2
    assert "clear gains on 1 of 2 seeds" in report.read_text()
    assert json.loads((tmp_path / "seeds.json").read_text())["pooled"]["sampled"]["after"] == 325 / 400


def test_a_warm_start_check_without_episodes_says_why():
    from vlgym_agents.quickstart import warm_start_line

    played = {"step": 40, "invalid_action_rate": 0.25, "success_rate": 0.5, "readout_r2": 0.93}
    assert warm_start_line(played) == "  step 40: sampled valid 0.75, success 0.50, readout R² 0.93"
    waiting = {"step": 20, "readout_r2": 0.41}
    assert warm_start_line(waiting, "[x] ") == "  [x] step 20: readout R² 0.41, episodes once the readout passes"
