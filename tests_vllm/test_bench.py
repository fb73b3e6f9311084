"""scripts/bench_rollout.py at tiny size: both engines, in both rollout modes, run the same config in one process and
report the same fields."""

import json
import subprocess
import sys
from pathlib import Path

from test_engine import MAE_BOUND

ROOT = Path(__file__).resolve().parents[1]


def test_the_rollout_benchmark_reports_both_engines_in_both_modes(tmp_path):
    output = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_rollout.py"), "--mode", "sync", "--mode", "async-2",
                    "--warmup-updates", "1", "--num-envs", "2", "--steps-per-env", "2", "--updates", "1",
                    "--max-new-tokens", "4", "--output", str(output)], check=True, timeout=900, capture_output=True)
    result = json.loads(output.read_text())
    assert [(run["engine"], run["mode"]) for run in result["runs"]] == [
        ("hf", "sync"), ("hf", "async-2"), ("vllm", "sync"), ("vllm", "async-2")] and result["arch"] == "tiny"
    for run in result["runs"]:
        assert run["env_steps_timed"] == 4 and run["env_steps_per_s"] > 0 and run["generated_tokens_per_s"] > 0
        assert run["async_groups"] == ([2] if run["mode"] == "async-2" else [1])
        assert set(run["split_s"]) == {"generate", "score", "env", "update"}
        assert all(seconds >= 0 for seconds in run["split_s"].values())
    for hf, vllm in zip(result["runs"][:2], result["runs"][2:], strict=True):
        assert hf["split_s"]["score"] == 0 < vllm["split_s"]["score"]  # hf scores inside generate
        assert vllm["engine_logprob_mae"] < MAE_BOUND
