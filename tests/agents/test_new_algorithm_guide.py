"""docs/new_algorithm.md runs: its blocks register a fourth rule (REINFORCE on GAE advantages) without touching the
trainer or the config module, and that rule trains."""

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import tiny_run_config
from pydantic import ValidationError
from safetensors.torch import load_file

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "new_algorithm.md"


def guide_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)


@pytest.fixture
def guide(monkeypatch):
    """The guide's namespace after running its blocks; its registration is undone after the test."""
    from vlgym_agents.algos import registry

    monkeypatch.setattr(registry, "_RULES", dict(registry._RULES))
    namespace = {"__name__": "new_algorithm_guide"}
    for block in guide_blocks():
        exec(compile(block, str(GUIDE), "exec"), namespace)  # our own documentation, not model output
    return namespace


def test_the_guide_has_the_steps_it_promises():
    assert len(guide_blocks()) == 5


def test_the_fourth_rule_is_a_checked_config_choice(guide):
    from vlgym_agents.config import load_config

    config = load_config("numberline", ["algo.name=reinforce", "algo.reinforce.value_coef=0.25"])
    assert config.algo.settings.value_coef == 0.25 and config.algo.group_size == 1
    with pytest.raises(ValidationError, match="value_cof"):
        load_config("numberline", ["algo.name=reinforce", "algo.reinforce.value_cof=0.25"])


def test_without_registration_the_name_is_refused():
    from vlgym_agents.config import load_config

    with pytest.raises(ValidationError, match="not a registered rule"):
        load_config("numberline", ["algo.name=reinforce"])


def test_the_fourth_rule_trains_one_update(guide, tiny_qwen, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_run_config(tiny_qwen, tmp_path / "run")))
    summary = guide["train_reinforce"](str(path), "run.total_env_steps=8")
    assert summary["state"]["update"] == 1 and summary["state"]["skipped_updates"] == 0
    (row,) = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"policy_loss", "value_loss", "mean_step_return", "grad_norm"} <= row.keys()
    assert row["warmup"] is False and row["trained_steps"] == 8
    adapter = load_file(tmp_path / "run" / "checkpoints" / "update-000001" / "model" / "adapter_model.safetensors")
    lora_b = [w for name, w in adapter.items() if "lora_B" in name]
    assert lora_b and any(w.abs().sum() > 0 for w in lora_b)  # LoRA's B starts at zero: the update moved it
