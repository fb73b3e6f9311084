import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_core_dependencies_do_not_pull_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in project["dependencies"]]
    assert not {"torch", "transformers", "stable-baselines3"} & set(names)
    assert set(project["optional-dependencies"]) >= {"miniworld", "alfworld", "webshop", "agents", "all", "dev"}


def test_importing_vlgym_imports_no_torch_and_registers_ids():
    code = ("import sys, gymnasium as gym, vlgym; gym.make('vlgym/GymCards-Points24-v0').reset(seed=0); "
            "assert 'torch' not in sys.modules, 'torch imported'; print(len(vlgym.list_envs()))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(output) >= 4


def test_readme_and_ci_run_the_same_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in readme and "bash scripts/test.sh" in ci
    assert "bash scripts/quickstart.sh" in readme


def test_agents_ship_their_configs_and_register_the_checkpoint_agent():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "configs/*.yaml" in project["tool"]["setuptools"]["package-data"]["vlgym_agents"]
    assert project["project"]["entry-points"]["vlgym.agents"]["checkpoint"] == (
        "vlgym_agents.policy.agent:load_checkpoint_agent")
    assert project["project"]["scripts"]["vlgym-train"] == "vlgym_agents.cli:main"
    assert {"quickstart", "numberline", "miniworld", "alfworld", "webshop"} <= {
        p.stem for p in (ROOT / "vlgym_agents" / "configs").glob("*.yaml")}
