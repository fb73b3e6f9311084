"""``vlgym-train``: its commands, clear errors for bad configs, and a real SIGKILL followed by ``--resume``."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_train import expected_lrs
from typer.testing import CliRunner

from vlgym_agents.cli import app, packaged_configs
from vlgym_agents.config import dump_config

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_configs_lists_every_packaged_config():
    result = runner.invoke(app, ["configs"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert listed == packaged_configs() and "numberline" in listed


def test_tiny_builds_a_model_that_loads(tmp_path):
    from vlgym_agents.policy.vlm import PolicyConfig, VLMPolicy

    result = runner.invoke(app, ["tiny", str(tmp_path / "m"), "--arch", "idefics3"])
    assert result.exit_code == 0, result.output
    policy = VLMPolicy(PolicyConfig(path=str(tmp_path / "m"), lora=None, value_head_hidden=[8]))
    assert type(policy.model).__name__ == "Idefics3ForConditionalGeneration"
    assert runner.invoke(app, ["tiny", str(tmp_path / "x"), "--arch", "gpt2"]).exit_code != 0


@pytest.mark.parametrize(("arguments", "message"), [
    (["numberline", "algo.vldac.kl_bta=0.1"], "kl_bta"),
    (["numberline", "optim.lr=-1"], "optim.lr"),
    (["numberline", "optim.lr"], "key=value"),
    (["numberline", "env.num_envs=[1,2"], "invalid configuration"),
    (["numberline", "env.num_envs=${nowhere}"], "nowhere"),
    (["no-such-config"], "neither a file nor a packaged config"),
])
def test_a_bad_config_or_override_exits_2_with_a_clear_message(train_main, arguments, message):
    code, out, err = train_main("rl", *arguments)
    assert code == 2, out + err
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def test_the_console_script_is_declared():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["vlgym-train"] == "vlgym_agents.cli:main"


def wait_for(condition, process: subprocess.Popen, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended (code {process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.02)


def read_rows(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):  # the line the kill cut short
            rows.append(json.loads(line))
    return rows


def test_a_killed_run_resumes_where_its_last_checkpoint_stopped(tiny_config, tmp_path):
    config = tiny_config("run.total_env_steps=64", "run.checkpoint_every=2")  # 8 updates, a checkpoint every 2
    path = tmp_path / "tiny.yaml"
    path.write_text(dump_config(config))
    command = [sys.executable, "-m", "vlgym_agents.cli", "rl", str(path)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    checkpoints, metrics = tmp_path / "run" / "checkpoints", tmp_path / "run" / "metrics.jsonl"
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            latest = checkpoints / "latest"
            wait_for(latest.exists, process, "first checkpoint")
            # kill after the next update was logged: work the checkpoint does not hold
            first = int(latest.read_text().strip().removeprefix("update-"))
            wait_for(lambda: any(r["update"] > first for r in read_rows(metrics)), process, "next update")
            process.send_signal(signal.SIGKILL)
            assert process.wait(30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    stopped = json.loads((checkpoints / (checkpoints / "latest").read_text().strip() / "state.json").read_text())
    assert 2 <= stopped["update"] < 8
    rows_before = [r for r in read_rows(metrics) if r["update"] <= stopped["update"]]
    # debris a crash mid-save leaves behind is never picked up
    fake = checkpoints / ".tmp-update-000099"
    fake.mkdir()
    (fake / "state.json").write_text(json.dumps({**stopped, "update": 99}))
    (checkpoints / "latest.tmp").write_text("update-000099\n")

    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"at update {stopped['update']}" in resumed.stderr  # "resumed from ... at update k"
    final = json.loads((checkpoints / "update-000008" / "state.json").read_text())
    assert (checkpoints / "latest").read_text().strip() == "update-000008"
    assert final["update"] == 8 and final["env_steps"] == 64
    assert final["seed_cursor"] > stopped["seed_cursor"] and final["episodes"] > stopped["episodes"]
    rows = read_rows(metrics)
    assert [r["update"] for r in rows] == list(range(1, 9))  # each update once: lost work is not logged twice
    assert rows[: stopped["update"]] == rows_before  # the history up to the checkpoint is kept as it was
    assert [r["lr"] for r in rows] == pytest.approx(expected_lrs(8, 8, 1e-3, 1e-4), rel=1e-9)
    assert [r["env_steps"] for r in rows] == [8 * u for u in range(1, 9)]
