"""Reading the recording layout: find the runs under a folder, their episodes, and each episode's steps."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlgym.record.writer import EPISODE_FILE, RUN_FILE, STEPS_FILE

#: how deep below a given folder runs are looked for (a trainer's run: <out>/episodes/update-000010).
SEARCH_DEPTH = 4


@dataclass
class Run:
    """A folder of ``episode_<n>`` folders, with its ``run.json`` (empty for recordings made without one)."""

    path: Path
    name: str
    info: dict[str, Any] = field(default_factory=dict)

    def episode_dirs(self) -> list[Path]:
        return sorted(p for p in self.path.glob("episode_*") if (p / STEPS_FILE).exists())

    def episodes(self) -> list[dict[str, Any]]:
        """One summary per episode (``episode.json``, or one rebuilt from the steps of an unfinished episode)."""
        return [episode_summary(folder) for folder in self.episode_dirs()]


def find_runs(root: str | Path, *, depth: int = SEARCH_DEPTH) -> list[Run]:
    """Every run at or below ``root`` (named by its path relative to ``root``), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder at {root}")
    runs = []

    def visit(folder: Path, level: int) -> None:
        if any((p / STEPS_FILE).exists() for p in folder.glob("episode_*")):
            info = json.loads((folder / RUN_FILE).read_text()) if (folder / RUN_FILE).exists() else {}
            name = folder.relative_to(root).as_posix()
            runs.append(Run(folder, root.name if name == "." else name, info))
        if level < depth:
            for child in sorted(folder.iterdir()):
                if child.is_dir() and not child.name.startswith(("episode_", ".")):
                    visit(child, level + 1)

    visit(root, 0)
    return sorted(runs, key=lambda r: r.name)


def read_steps(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(reset record, step records)`` of one episode folder (a line cut short by a kill is dropped)."""
    records = []
    for line in (folder / STEPS_FILE).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    header = records[0] if records and records[0].get("t") == -1 else {}
    return header, [r for r in records if r.get("t", -1) >= 0]


def episode_summary(folder: Path) -> dict[str, Any]:
    if (folder / EPISODE_FILE).exists():
        summary = json.loads((folder / EPISODE_FILE).read_text(encoding="utf-8"))
    else:
        header, steps = read_steps(folder)
        summary = {key: header.get(key) for key in ("env_id", "env_kwargs", "seed", "options")}
        summary.update({"return": sum(s.get("reward", 0.0) for s in steps), "length": len(steps),
                        "outcome": "unfinished", "success": False, "score": 0.0,
                        "invalid_actions": sum(not s.get("action_valid", True) for s in steps)})
    return {"episode": folder.name, **summary}


def load_episode(folder: str | Path) -> dict[str, Any]:
    """An episode's summary and its steps (each step's ``frame`` is relative to ``folder``)."""
    folder = Path(folder)
    header, steps = read_steps(folder)
    return {**episode_summary(folder), "reset": header, "steps": steps}
