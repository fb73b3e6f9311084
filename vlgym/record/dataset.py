"""Recorded episodes as a Hugging Face ``datasets`` dataset: Parquet files, one row per step, the frame as an
``Image`` feature. ``datasets.load_dataset(OUT, split="train")`` reads it back (needs ``pip install 'vlgym[record]'``).

Rows come in a fixed order (runs by name, episodes by folder, steps by ``t``), so the same recordings give the
same dataset. Fields that vary in shape (env kwargs, options, the run's record) are JSON strings.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlgym.record.reader import Run, find_runs, read_steps

ROWS_PER_FILE = 1000
DATA_DIR = "data"
# The dataset card's front matter names the data files, so load_dataset(OUT) reads only them.
CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.parquet
---
# vlgym episodes

One row per environment step, exported by `vlgym export` from recordings in the layout of vlgym's
docs/recording.md. `image` is the frame the agent saw before acting; `episode_id` groups the steps of an episode.
"""


def dataset_features():
    """The dataset's columns (``datasets.Features``)."""
    from datasets import Features, Image, List, Value

    string, boolean, number, integer = Value("string"), Value("bool"), Value("float64"), Value("int64")
    return Features({
        "run": string, "episode_id": string, "episode_index": integer, "t": integer,
        "env_id": string, "env_kwargs": string, "seed": integer, "options": string,
        "image": Image(), "text": string, "instruction": string, "available_actions": List(string),
        "prompt": string, "answer": string, "action": string,
        "parsed_action": string, "parse_reason": string, "parse_failure": boolean, "action_valid": boolean,
        "feedback": string, "reward": number, "terminated": boolean, "truncated": boolean,
        "success": boolean, "score": number,
        "episode_return": number, "episode_length": integer, "episode_outcome": string, "run_info": string,
    })


def step_rows(root: str | Path) -> Iterator[dict[str, Any]]:
    """Every recorded step under ``root`` as a dataset row (the frame as PNG bytes)."""
    runs = find_runs(root)
    if not runs:
        raise ValueError(f"no recorded episodes under {root}")
    for run in runs:
        yield from _run_rows(run)


def _run_rows(run: Run) -> Iterator[dict[str, Any]]:
    run_info = json.dumps(run.info, sort_keys=True, ensure_ascii=False)
    for index, (folder, summary) in enumerate(zip(run.episode_dirs(), run.episodes(), strict=True)):
        _, steps = read_steps(folder)
        for step in steps:
            action = step.get("action")
            yield {
                "run": run.name, "episode_id": f"{run.name}/{folder.name}", "episode_index": index, "t": step["t"],
                "env_id": summary.get("env_id"), "env_kwargs": json.dumps(summary.get("env_kwargs") or {},
                                                                        sort_keys=True),
                "seed": summary.get("seed"), "options": json.dumps(summary.get("options"), sort_keys=True),
                "image": {"bytes": (folder / step["frame"]).read_bytes(), "path": None},
                "text": step.get("text"), "instruction": step.get("instruction"),
                "available_actions": step.get("available_actions"), "prompt": step.get("prompt"),
                "answer": step.get("answer"),
                "action": action if isinstance(action, str) or action is None else json.dumps(action),
                **{key: step.get(key) for key in ("parsed_action", "parse_reason", "parse_failure", "action_valid",
                                                  "feedback", "reward", "terminated", "truncated", "success",
                                                  "score")},
                "episode_return": summary.get("return"), "episode_length": summary.get("length"),
                "episode_outcome": summary.get("outcome"), "run_info": run_info,
            }


def export_dataset(root: str | Path, out: str | Path) -> int:
    """Write every step recorded under ``root`` to the dataset folder ``out``; returns the number of rows.

    >>> import gymnasium as gym, tempfile, vlgym
    >>> from vlgym.wrappers import RecordEpisode
    >>> runs, out = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> env = RecordEpisode(gym.make("vlgym/GymCards-NumberLine-v0"), runs, gif=False)
    >>> _ = env.reset(seed=0); _ = env.step("+"); env.close()
    >>> export_dataset(runs, out)
    1
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    data = out / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    for old in data.glob("*.parquet"):  # a re-export replaces the previous one
        old.unlink()
    features, rows, written, shard = dataset_features(), [], 0, 0

    def flush() -> None:
        nonlocal shard
        # The schema carries the features (its "huggingface" metadata): load_dataset restores the Image column.
        table = pa.Table.from_pylist([features.encode_example(r) for r in rows], schema=features.arrow_schema)
        pq.write_table(table, data / f"train-{shard:05d}.parquet")
        shard += 1

    for row in step_rows(root):
        rows.append(row)
        written += 1
        if len(rows) == ROWS_PER_FILE:
            flush()
            rows = []
    if rows:
        flush()
    (out / "README.md").write_text(CARD)
    return written


def record_dataset(env_id: str, agent: str, out: str | Path, *, episodes: int, seed: int = 0,
                   env_kwargs: dict[str, Any] | None = None, keep: str | Path | None = None) -> int:
    """Play ``agent`` on seeds ``seed .. seed + episodes - 1``, record, and export; returns the number of rows."""
    from vlgym.eval import evaluate
    from vlgym.record.writer import run_folder_name

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(keep) if keep is not None else Path(scratch)
        evaluate(env_id, agent, seeds=range(seed, seed + episodes), env_kwargs=env_kwargs,
                 record_to=root / run_folder_name(env_id, agent))
        return export_dataset(root, out)
