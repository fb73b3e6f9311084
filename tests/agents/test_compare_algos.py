"""scripts/compare_algos.py's verdicts: pooled differences against VL-DAC, on hand-worked held-out counts."""

import importlib.util
from pathlib import Path

import pytest

from vlgym.eval import difference_interval

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_algos.py"


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("compare_algos", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(variant: str, seed: int, greedy: float, sampled: float, episodes: int = 100) -> dict:
    return {"env": "numberline", "variant": variant, "seed": seed,
            "eval": {"greedy": {"episodes": episodes, "success_rate": greedy},
                     "sampled": {"episodes": episodes, "success_rate": sampled}}}


def test_differences_are_pooled_over_the_seeds_both_ran_and_called_significant_only_outside_zero(compare):
    results = [run("vldac", 0, 0.50, 0.60), run("vldac", 1, 0.50, 0.60), run("vldac", 2, 0.10, 0.10),
               run("loop", 0, 0.90, 0.62), run("loop", 1, 0.90, 0.58)]  # LOOP has no seed 2
    lines = compare.significance_lines("numberline", results, ["vldac", "loop"])
    row = next(line for line in lines if line.startswith("| loop |"))
    greedy_low, greedy_high = difference_interval(100, 200, 180, 200)  # seeds 0 and 1 only
    sampled_low, sampled_high = difference_interval(120, 200, 120, 200)
    assert f"+0.400 [{greedy_low:+.3f}, {greedy_high:+.3f}], significant" in row
    assert f"+0.000 [{sampled_low:+.3f}, {sampled_high:+.3f}], not significant" in row
    assert compare.pooled([r for r in results if r["variant"] == "loop"], "greedy")[0] == pytest.approx(0.9)
