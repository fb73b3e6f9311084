"""Game files in ALFWorld's own layout: finding them, reading them, writing them.

ALFWorld keeps one game per folder: ``<split>/<task>-<Object>-<MovableRecep>-<Receptacle>-<scene>/trial_<id>/``
with ``game.tw-pddl`` (JSON: ``pddl_domain``, ``grammar`` with the goal sentence, ``pddl_problem``,
``solvable``, ``walkthrough``) and ``traj_data.json`` (``task_type``, ``pddl_params``, ``scene``...).
:func:`find_games` selects games the way ``AlfredTWEnv.collect_game_files`` does: folders with both files,
not "movable" or "Sliced", of the wanted task types, marked solvable. :class:`GameSource` gives an env its
games, generated or from files.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vlgym.envs.alfworld.catalog import TASK_TYPES
from vlgym.envs.alfworld.generator import GeneratedGame, Task, generate
from vlgym.envs.alfworld.splits import SPLITS, TASK_MIXES

GAME_FILE = "game.tw-pddl"
TRAJ_FILE = "traj_data.json"
OFFICIAL_SPLITS = {"train": "train", "valid_seen": "valid_seen", "valid_unseen": "valid_unseen"}


class GameFileError(ValueError):
    """A game file that cannot be played: unreadable, malformed, or not solvable. The message names the file."""


@dataclass(frozen=True)
class GameRecord:
    """A playable game: its content, its task and where it came from."""

    data: dict
    task: Task
    floor_plan: int | None
    source: str  # the file's path, or "generated:<split>:<seed>"
    walkthrough: tuple[str, ...] | None = None

    @property
    def generated(self) -> bool:
        return self.source.startswith("generated:")


def default_data_dir(split: str) -> Path:
    """``$ALFWORLD_DATA/json_2.1.1/<split>`` (ALFWorld's own default for ``$ALFWORLD_DATA``: ~/.cache/alfworld)."""
    root = os.environ.get("ALFWORLD_DATA") or os.path.expanduser("~/.cache/alfworld")
    return Path(root) / "json_2.1.1" / OFFICIAL_SPLITS[split]


def find_games(root: str | Path, task_types=TASK_TYPES) -> list[Path]:
    """The ``game.tw-pddl`` paths under ``root`` that ``AlfredTWEnv`` would play, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no ALFWorld games folder at {root} (set ALFWORLD_DATA or pass data_dir)")
    found = []
    for folder, _, files in os.walk(root):
        if TRAJ_FILE not in files or GAME_FILE not in files or "movable" in folder or "Sliced" in folder:
            continue
        path = Path(folder) / GAME_FILE
        if _read_json(Path(folder) / TRAJ_FILE).get("task_type") not in task_types:
            continue
        if _read_json(path).get("solvable") is True:
            found.append(path)
    return sorted(found)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GameFileError(f"{path}: cannot read it as JSON ({error})") from error
    if not isinstance(data, dict):
        raise GameFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_game(path: str | Path) -> GameRecord:
    """Read and check a ``game.tw-pddl`` file and the ``traj_data.json`` beside it."""
    path = Path(path)
    data = _read_json(path)
    for key in ("pddl_domain", "grammar", "pddl_problem"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise GameFileError(f"{path}: missing or empty {key!r}")
    if data.get("solvable") is not True:
        raise GameFileError(f"{path}: not marked solvable (\"solvable\": {data.get('solvable')!r})")
    traj = _read_json(path.parent / TRAJ_FILE)
    params = traj.get("pddl_params")
    task_type = traj.get("task_type")
    if task_type not in TASK_TYPES or not isinstance(params, dict):
        raise GameFileError(f"{path.parent / TRAJ_FILE}: needs a task_type among {TASK_TYPES} and pddl_params")
    task = Task(task_type, str(params.get("object_target", "")), str(params.get("parent_target", "")),
                str(params.get("toggle_target", "")))
    if not task.object or not (task.receptacle or task.lamp):
        raise GameFileError(f"{path.parent / TRAJ_FILE}: pddl_params lack the object and receptacle/lamp targets")
    walkthrough = data.get("walkthrough")
    return GameRecord(data, task, _floor_plan(traj), str(path),
                      tuple(walkthrough) if isinstance(walkthrough, list) else None)


def _floor_plan(traj: dict) -> int | None:
    scene = traj.get("scene") if isinstance(traj.get("scene"), dict) else {}
    for value in (scene.get("scene_num"), scene.get("floor_plan")):
        match = re.fullmatch(r"(?:FloorPlan)?(\d+)", str(value))
        if match:
            return int(match.group(1))
    return None


def generated_record(game: GeneratedGame) -> GameRecord:
    return GameRecord(game.game_data(), game.task, game.floor_plan, f"generated:{game.split}:{game.seed}",
                      game.walkthrough)


def write_game(game: GeneratedGame, root: str | Path) -> Path:
    """Write ``game`` under ``root`` in ALFWorld's layout; returns the ``game.tw-pddl`` path."""
    folder = Path(root) / game.name / f"trial_vlgym_{game.split}_{game.seed:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TRAJ_FILE).write_text(json.dumps(game.traj_data(), indent=2))
    path = folder / GAME_FILE
    path.write_text(json.dumps(game.game_data()))
    return path


class GameSource:
    """Where an env's games come from: drawn by the episode's random generator, the same way every time."""

    def __init__(self, source: str, split: str, task_types: tuple[str, ...], data_dir=None, game_files=None,
                 task_mix: str = "alfworld", held_out_pairs: bool = False):
        if source not in ("generated", "official"):
            raise ValueError(f"source must be 'generated' or 'official', got {source!r}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if task_mix not in TASK_MIXES:
            raise ValueError(f"task_mix must be one of {TASK_MIXES}, got {task_mix!r}")
        self.source, self.split, self.task_types = source, split, task_types
        self.task_mix, self.held_out_pairs = task_mix, bool(held_out_pairs)
        self.files: list[str] = []
        if game_files is not None:
            self.files = [str(f) for f in game_files]
        elif source == "official":
            self.files = [str(p) for p in find_games(data_dir or default_data_dir(split), task_types)]
        if source == "official" and not self.files:
            where = data_dir or default_data_dir(split)
            raise FileNotFoundError(f"no solvable ALFWorld games of types {task_types} in {where}")

    def pick(self, rng: np.random.Generator) -> GameRecord:
        if self.files:
            return read_game(self.files[int(rng.integers(len(self.files)))])
        game = generate(int(rng.integers(2**31)), self.split, self.task_types, task_mix=self.task_mix,
                        held_out_pairs=self.held_out_pairs)
        return generated_record(game)
