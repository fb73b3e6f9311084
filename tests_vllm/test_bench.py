"""scripts/bench_rollout.py at tiny size: both engines run the same config in one process and report the same fields
(the async mode, whose split of the time is the harder one; tests/agents/test_bench_rollout.py compares the modes,
and test_train_vllm.py trains with vLLM in sync mode)."""

import json
import subprocess
import sys
from pathlib import Path

from test_engine import MAE_BOUND

ROOT = Path(__file__).resolve().parents[1]


def test_the_rollout_benchmark_reports_both_engines(tmp_path):
    output = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_rollout.py"), "--mode", "async-2",
                    "--warmup-updates", "1", "--num-envs", "2", "--steps-per-env", "2", "--updates", "1",
                    "--max-new-tokens", "4", "--output", str(output)], check=True, timeout=900, capture_output=True)
    result = json.loads(output.read_text())
    assert [(run["engine"], run["mode"]) for run in result["runs"]] == [("hf", "async-2"), ("vllm", "async-2")]
    assert result["arch"] == "tiny"
    for run in result["runs"]:
        assert run["env_steps_timed"] == 4 and run["env_steps_per_s"] > 0 and run["generated_tokens_per_s"] > 0
        assert run["async_groups"] == [2]
        assert set(run["split_s"]) == {"generate", "score", "env", "update"}
        assert all(seconds >= 0 for seconds in run["split_s"].values())
    hf, vllm = result["runs"]
    assert hf["split_s"]["score"] == 0 < vllm["split_s"]["score"]  # hf scores inside generate
    assert vllm["engine_logprob_mae"] < MAE_BOUND
