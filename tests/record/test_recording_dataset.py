"""Recordings as Hugging Face datasets: `vlgym eval --record`, export, load_dataset, and `vlgym record`."""

from __future__ import annotations

import json

import datasets
import numpy as np
from PIL import Image
from recordings import KWARGS, NUMBERLINE, record_runs
from typer.testing import CliRunner

from vlgym.cli import app
from vlgym.record import find_runs, load_episode

STEP_FIELDS = ("t", "text", "instruction", "available_actions", "prompt", "answer", "action", "parsed_action",
               "parse_reason", "action_valid", "feedback", "reward", "terminated", "truncated", "success", "score")


def load(folder, cache):
    return datasets.load_dataset(str(folder), split="train", cache_dir=str(cache))


def test_record_export_load_round_trip_keeps_every_field(tmp_path):
    runs = record_runs(tmp_path / "runs")
    result = CliRunner().invoke(app, ["export", str(runs), "--to", str(tmp_path / "dataset")])
    assert result.exit_code == 0, result.output
    rows = int(result.output.split()[0])
    dataset = load(tmp_path / "dataset", tmp_path / "cache")
    assert isinstance(dataset.features["image"], datasets.Image) and len(dataset) == rows
    expected = []
    for run in find_runs(runs):
        for index, folder in enumerate(run.episode_dirs()):
            episode = load_episode(folder)
            for step in episode["steps"]:
                expected.append((run, folder, index, episode, step))
    assert len(expected) == rows
    for row, (run, folder, index, episode, step) in zip(dataset, expected, strict=True):
        assert row["run"] == run.name and row["episode_id"] == f"{run.name}/{folder.name}"
        assert row["episode_index"] == index
        assert (row["env_id"], json.loads(row["env_kwargs"]), row["seed"]) == (NUMBERLINE, KWARGS, episode["seed"])
        assert json.loads(row["options"]) is None and json.loads(row["run_info"]) == run.info
        for key in STEP_FIELDS:
            assert row[key] == step.get(key), key
        assert (row["episode_return"], row["episode_length"], row["episode_outcome"]) == (
            episode["return"], episode["length"], episode["outcome"])
        assert np.array_equal(np.asarray(row["image"]), np.asarray(Image.open(folder / step["frame"])))
    hostile = dataset.filter(lambda r: r["run"] == "hostile")
    assert all(r["prompt"].startswith("<i>prompt</i>") for r in hostile) and not all(hostile["action_valid"])
    assert set(dataset.filter(lambda r: r["run"] == "expert")["prompt"]) == {None}  # the expert writes no prompt


def test_eval_records_the_first_k_episodes_per_env_and_agent(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--env", NUMBERLINE, "--agent", "expert", "--agent", "random",
                                      "--episodes", "3", "--record", str(tmp_path), "--record-episodes", "2"])
    assert result.exit_code == 0, result.output
    runs = find_runs(tmp_path)
    assert [r.name for r in runs] == ["NumberLine-v0__expert", "NumberLine-v0__random"]
    for run in runs:
        assert run.info["kind"] == "eval" and run.info["env_id"] == NUMBERLINE
        assert [e["seed"] for e in run.episodes()] == [0, 1]
    assert runs[0].info["agent_info"] == {"kind": "expert"}
    assert {e["outcome"] for e in runs[0].episodes()} == {"success"}


def test_record_command_writes_an_expert_dataset(tmp_path):
    result = CliRunner().invoke(app, ["record", "--env", NUMBERLINE, "--episodes", "3", "--seed", "10",
                                      "--kwarg", "max_position=3", "--to", str(tmp_path / "demos")])
    assert result.exit_code == 0, result.output
    dataset = load(tmp_path / "demos", tmp_path / "cache")
    assert sorted(set(dataset["seed"])) == [10, 11, 12] and all(dataset["action_valid"])
    assert set(dataset["episode_outcome"]) == {"success"} and f"{len(dataset)} steps" in result.output
    assert json.loads(dataset[0]["env_kwargs"]) == {"max_position": 3}
    assert len(set(dataset["episode_id"])) == 3


def test_export_of_a_folder_without_episodes_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["export", str(tmp_path), "--to", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no recorded episodes" in result.output
