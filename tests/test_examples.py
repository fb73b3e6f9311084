"""The documented examples run end to end (for a tiny budget; docs/classic_rl.md has the real runs)."""

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("env_id", ["vlgym/GymCards-NumberLine-v0", "vlgym/MiniWorld-OneRoom-v0"])
def test_sb3_ppo_example_trains_saves_and_evaluates(tmp_path, env_id, monkeypatch):
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path / "sb3"))  # SB3 makes a log folder, by default in /tmp
    example = load_example("sb3_ppo")
    out, model = tmp_path / "report.json", tmp_path / "model.zip"
    report = example.main(["--env", env_id, "--timesteps", "64", "--n-envs", "2", "--n-steps", "32",
                           "--image-size", "36", "--eval-episodes", "2", "--save", str(model), "--output", str(out)])
    assert model.stat().st_size > 0
    assert json.loads(out.read_text()) == report
    trained, random_ = report["results"]
    assert (trained["agent"], random_["agent"]) == ("sb3-ppo", "random")
    for result in (trained, random_):
        assert result["env_id"] == env_id and result["env_kwargs"] == {"image_size": 36}
        assert [e["seed"] for e in result["per_episode"]] == [1_000_000, 1_000_001]  # held out from training
        assert result["parse_failure_rate"] == 0.0  # the policy's actions are vocabulary entries
