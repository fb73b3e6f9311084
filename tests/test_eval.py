import json
import math
import sys
import textwrap
from importlib import metadata
from typing import ClassVar

import numpy as np
import pytest
from typer.testing import CliRunner

import vlgym  # noqa: F401
from vlgym.cli import app
from vlgym.core.base import Transition, VLGymEnv
from vlgym.eval import (
    bootstrap_interval,
    evaluate,
    markdown_table,
    run_episode,
    wilson_interval,
)
from vlgym.manifest import Episode, Manifest, default_manifest, make_manifest, save_manifest

runner = CliRunner()
NUMBERLINE = "vlgym/GymCards-NumberLine-v0"


def test_wilson_interval_against_hand_computed_values():
    # 8/10 at z = 1.96: centre (0.8 + 0.19208) / 1.38416 = 0.71676; half 0.22632 (worked by hand).
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 50)[0] == 0.0 and wilson_interval(50, 50)[1] == 1.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = [0.0, 1.0] * 50
    low, high = bootstrap_interval(values)
    assert low < 0.5 < high and high - low < 0.3
    assert bootstrap_interval(values) == (low, high)
    assert bootstrap_interval([1.0, 1.0]) == (1.0, 1.0)


def test_expert_beats_random_and_results_reproduce():
    expert = evaluate("vlgym/GymCards-EZPoints-v0", "expert", episodes=30, seed=5)
    random_ = evaluate("vlgym/GymCards-EZPoints-v0", "random", episodes=30, seed=5)
    assert expert.success_rate == 1.0 and random_.success_rate < 0.5
    assert [e.seed for e in expert.episodes] == list(range(5, 35))
    again = evaluate("vlgym/GymCards-EZPoints-v0", "random", episodes=30, seed=5)
    assert again.to_dict() == random_.to_dict()
    summary = random_.summary()
    assert summary["success_ci95"][0] <= summary["success_rate"] <= summary["success_ci95"][1]


def test_callable_agent_and_invalid_action_rate():
    result = evaluate(NUMBERLINE, lambda obs, info: "fly", episodes=3)
    assert result.agent == "<lambda>"
    summary = result.summary()
    assert summary["invalid_action_rate"] == 1.0 and summary["parse_failure_rate"] == 1.0
    assert result.success_rate == 0.0  # NumberLine truncates after 10 steps, invalid ones included
    assert all(e.length == 10 for e in result.episodes)
    assert (summary["min_length"], summary["median_length"], summary["max_length"]) == (10, 10.0, 10)
    assert summary["agent_info"] == {"kind": "callable", "callable": "test_callable_agent_and_invalid_action_rate"
                                     ".<locals>.<lambda>"}


def test_unknown_agent_name_is_an_error():
    with pytest.raises(ValueError, match="unknown agent"):
        evaluate(NUMBERLINE, "genius", episodes=1)
    # checkpoint: is vlgym_agents' plugin: without it a hint to install it, with it the missing path is named
    installed = any(ep.name == "checkpoint" for ep in metadata.entry_points(group="vlgym.agents"))
    with pytest.raises(FileNotFoundError if installed else ValueError,
                       match="/nowhere" if installed else "comes with vlgym_agents"):
        evaluate(NUMBERLINE, "checkpoint:/nowhere", episodes=1)
    with pytest.raises(ValueError, match="takes no argument"):
        evaluate(NUMBERLINE, "expert:3", episodes=1)


# --------------------------------------------------------------------------------------------- manifests
def test_manifest_runs_its_split_and_records_which(tmp_path):
    manifest = default_manifest(NUMBERLINE)
    result = evaluate(manifest, "expert", split="val", episodes=7)
    assert [e.seed for e in result.episodes] == [e.seed for e in manifest.split("val")[:7]]
    assert result.manifest == {"split": "val", "sha256": manifest.sha256, "episodes_in_split": 100}
    assert result.success_rate == 1.0
    with pytest.raises(ValueError, match="seeds, not both"):
        evaluate(manifest, "expert", seeds=[1])


def test_same_manifest_twice_gives_byte_identical_json():
    manifest = default_manifest("vlgym/GymCards-Blackjack-v0")
    runs = [json.dumps(evaluate(manifest, "random", episodes=60).to_dict(), indent=2) for _ in range(2)]
    assert runs[0] == runs[1]
    other = json.dumps(evaluate(manifest, "random", split="val", episodes=60).to_dict(), indent=2)
    assert other != runs[0]  # a different split is different episodes, and the JSON says so


def test_manifest_options_reach_reset_and_the_results():
    seen = []

    class Recorder(DoorEnv):
        def reset(self, *, seed=None, options=None):
            seen.append((seed, options))
            return super().reset(seed=seed, options=options)

    env = Recorder()
    result = run_episode(env, lambda obs, info: "open", 4, options={"task": "t1"})
    assert seen == [(4, {"task": "t1"})] and result.options == {"task": "t1"}


# -------------------------------------------------------------------------------------- parse failures
class DoorEnv(VLGymEnv):
    """A door: "open" is available while it is shut, "close" while it is open; opening it wins."""

    action_vocabulary: ClassVar[tuple[str, ...]] = ("open", "close")

    def __init__(self):
        super().__init__(image_size=16)
        self.is_open = False

    def _game_reset(self, seed, options):
        self.is_open = False
        return ""

    def _game_actions(self):
        return ["close"] if self.is_open else ["open"]

    def _game_step(self, action):
        self.is_open = action == "open"
        return Transition(1.0 if self.is_open else 0.0, terminated=self.is_open)

    def _game_image(self):
        return np.zeros((16, 16, 3), np.uint8)

    def _game_instruction(self):
        return "Open the door."

    def _game_success(self):
        return self.is_open

    def _game_step_limit(self):
        return 10


def test_parse_failures_are_told_apart_from_unavailable_actions():
    env = DoorEnv()
    env.reset(seed=0)
    for answer, parse_failure in [('{"action": "close"}', False), ("fly", True), ('{"action": ', True),
                                  ("CLOSE", False), (None, True)]:
        *_, info = env.step(answer)
        assert not info["action_valid"] and info["parse_failure"] == parse_failure, answer
    answers = iter(["close", "jump", "close", "open"])
    result = run_episode(env, lambda obs, info: next(answers), 0)
    assert (result.length, result.invalid_actions, result.parse_failures, result.success) == (4, 3, 1, True)


# -------------------------------------------------------------------------------------- agent plugins
def install_fake_plugin(tmp_path, monkeypatch, name="constant"):
    """A distribution on sys.path whose entry point registers an agent factory in vlgym.agents."""
    (tmp_path / "fake_vlgym_agent.py").write_text(textwrap.dedent("""
        CALLS = []

        class ConstantAgent:
            def __init__(self, action):
                self.action = action

            def act(self, obs, info):
                return self.action

            def describe(self):
                return {"decoding": {"temperature": 0.0, "max_new_tokens": 8}, "action": self.action}

        def make(arg, env_id, env_kwargs):
            CALLS.append((arg, env_id, env_kwargs))
            return ConstantAgent(arg)
    """))
    dist = tmp_path / "fake_vlgym_agent-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-vlgym-agent\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[vlgym.agents]\n{name} = fake_vlgym_agent:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_vlgym_agent", raising=False)  # a fresh module (and CALLS) per test


def test_agents_by_name_come_from_entry_points(tmp_path, monkeypatch):
    install_fake_plugin(tmp_path, monkeypatch)
    import fake_vlgym_agent

    result = evaluate(NUMBERLINE, "constant:+", episodes=3, env_kwargs={"image_size": 64})
    assert fake_vlgym_agent.CALLS == [("+", NUMBERLINE, {"image_size": 64})]
    assert result.agent == "constant:+"
    assert result.summary()["agent_info"] == {"decoding": {"temperature": 0.0, "max_new_tokens": 8}, "action": "+"}
    assert result.summary()["parse_failure_rate"] == 0.0


def test_cli_resolves_plugin_agents_and_rejects_unknown_ones(tmp_path, monkeypatch):
    install_fake_plugin(tmp_path, monkeypatch)
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["eval", "--env", NUMBERLINE, "--agent", "constant:-", "--episodes", "2",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())[0]["agent_info"]["action"] == "-"
    result = runner.invoke(app, ["eval", "--env", NUMBERLINE, "--agent", "checkpoint:model/", "--episodes", "2"])
    installed = any(ep.name == "checkpoint" for ep in metadata.entry_points(group="vlgym.agents"))
    # without vlgym_agents: a hint to install it; with it: the missing checkpoint is named; never a traceback
    expected = "no trainer checkpoint at model" if installed else "vlgym_agents"
    assert result.exit_code == 2 and expected in " ".join(result.output.replace("│", " ").split())


# ------------------------------------------------------------------------------------------ command line
def test_cli_writes_a_manifest_and_evaluates_it_reproducibly(tmp_path):
    path = tmp_path / "numberline.json"
    result = runner.invoke(app, ["manifest", NUMBERLINE, "--split", "train=5", "--split", "eval=40",
                                 "--first-seed", "100", "--kwarg", "max_position=7", "--output", str(path)])
    assert result.exit_code == 0, result.output
    expected = make_manifest(NUMBERLINE, {"train": 5, "eval": 40}, first_seed=100, env_kwargs={"max_position": 7})
    assert path.read_text() == expected.to_json()
    outputs = []
    for i in range(2):
        out, table = tmp_path / f"results{i}.json", tmp_path / f"table{i}.md"
        result = runner.invoke(app, ["eval", "--manifest", str(path), "--agent", "random", "--agent", "expert",
                                     "--output", str(out), "--markdown", str(table)])
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), table.read_text()))
    assert outputs[0] == outputs[1]
    data = json.loads(outputs[0][0])
    assert [d["agent"] for d in data] == ["random", "expert"]
    assert [e["seed"] for e in data[0]["per_episode"]] == list(range(105, 145))
    assert data[0]["env_kwargs"] == {"max_position": 7} and data[0]["manifest"]["sha256"] == expected.sha256
    rows = outputs[0][1].splitlines()
    assert rows[0].startswith("| env | agent | episodes | success [95% CI] | score [95% CI] | parse failures")
    assert rows[3].startswith(f"| GymCards-NumberLine-v0 | expert | 40 (eval, manifest {expected.sha256[:12]}) "
                              "| 1.000 [0.912, 1.000] | 1.000 [1.000, 1.000] | 0.000 | 0.000 |")


def test_cli_uses_the_shipped_manifests(tmp_path):
    out = tmp_path / "results.json"
    result = runner.invoke(app, ["eval", "--family", "cards", "--manifest", "default", "--split", "val",
                                 "--episodes", "5", "--agent", "expert", "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert len(data) == 4 and all(d["manifest"]["split"] == "val" for d in data)
    assert all(d["per_episode"][0]["seed"] == 1_000_500 for d in data)


@pytest.mark.parametrize(("args", "message"), [
    (["--manifest", "default", "--env", "vlgym/MiniWorld-OneRoom-v0"], "ships no manifest"),
    (["--manifest", "default", "--env", NUMBERLINE, "--split", "test"], "no split 'test'"),
    (["--manifest", "MANIFEST", "--env", "vlgym/GymCards-Blackjack-v0"], "drop --env"),
    (["--manifest", "BROKEN"], "repeats the episode"),
    (["--manifest", "missing.json"], "missing.json"),
])
def test_cli_rejects_bad_manifest_use(tmp_path, args, message):
    save_manifest(make_manifest(NUMBERLINE, {"eval": 3}), tmp_path / "manifest.json")
    (tmp_path / "broken.json").write_text(Manifest(NUMBERLINE, {"eval": (Episode(1),)}).to_json().replace(
        '{"seed": 1}', '{"seed": 1}, {"seed": 1}'))
    args = [str(tmp_path / "manifest.json") if a == "MANIFEST" else str(tmp_path / "broken.json") if a == "BROKEN"
            else a for a in args]
    result = runner.invoke(app, ["eval", "--agent", "expert", *args])
    flat = " ".join(result.output.replace("│", " ").split())  # rich wraps the message in a box
    assert result.exit_code == 2 and message in flat, result.output


def test_markdown_table_without_a_manifest_names_the_seeds():
    table = markdown_table([evaluate(NUMBERLINE, "expert", episodes=3, seed=9)])
    assert "| GymCards-NumberLine-v0 | expert | 3 (seeds 9..11) | 1.000 [0.438, 1.000] |" in table
