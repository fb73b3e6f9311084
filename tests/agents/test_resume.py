"""A run killed and resumed: TensorBoard agrees with metrics.jsonl, and the resumed run repeats the
uninterrupted one up to its checkpoint (what differs after it: see vlgym_agents/checkpoint.py)."""

import json
import shutil

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from vlgym_agents.train import Trainer

TIMINGS = {"collect_s", "update_s", "env_steps_per_s", "tokens_per_s", "engine_generate_s", "engine_score_s"}


def rows(out) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def tensorboard(out, tag: str) -> list[tuple[int, float]]:
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


def kill_after_logging(out, checkpoint: int) -> None:
    """What a kill leaves when the later updates were logged but ``checkpoint`` is the last one written."""
    folders = out / "checkpoints"
    (folders / "latest").write_text(f"update-{checkpoint:06d}\n")
    for folder in folders.glob("update-*"):
        if int(folder.name.split("-")[1]) > checkpoint:
            shutil.rmtree(folder)


def without_timings(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in TIMINGS}


def test_a_resumed_run_logs_each_update_once_in_tensorboard_and_metrics(tiny_config, tmp_path):
    config = tiny_config()
    out = config.run.output_dir
    Trainer(config).train()  # 3 updates, a checkpoint after each
    kill_after_logging(out, 1)
    Trainer(config, resume=True).train()  # updates 2 and 3 again
    logged = rows(out)
    assert [row["update"] for row in logged] == [1, 2, 3]
    for tag in ("update", "lr", "step_reward", "loss"):
        points = tensorboard(out, tag)
        assert [step for step, _ in points] == [row["env_steps"] for row in logged], tag
        assert [value for _, value in points] == pytest.approx([row[tag] for row in logged], rel=1e-6), tag

    straight = tiny_config(f"run.output_dir={tmp_path / 'straight'}")
    Trainer(straight).train()
    uninterrupted = rows(straight.run.output_dir)
    assert without_timings(logged[0]) == without_timings(uninterrupted[0])  # up to the checkpoint: the same run
    assert [row["env_steps"] for row in logged] == [row["env_steps"] for row in uninterrupted]
