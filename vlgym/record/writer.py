"""Writing the recording layout (docs/recording.md): a run folder with ``run.json`` and one folder per episode."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

FORMAT = "vlgym-record/1"
# PNG encoding is most of a recorder's cost; Pillow releases the GIL while it encodes, so one background thread
# overlaps it with the env and the agent. Writers wait for their own frames when an episode ends.
_FRAME_SAVER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vlgym-record-frames")
RUN_FILE, STEPS_FILE, EPISODE_FILE = "run.json", "steps.jsonl", "episode.json"

#: info entries describing what the agent saw: recorded from the info *before* each step (the prompt's info).
SEEN_INFO = ("instruction", "available_actions")
#: info entries describing what the step did: recorded from the info *after* it.
OUTCOME_INFO = ("action_valid", "parsed_action", "parse_reason", "parse_failure", "feedback", "success", "score")
#: agent attributes read after each ``act`` (the optional recording protocol), and the step fields they fill.
AGENT_NOTES = {"last_prompt": "prompt", "last_answer": "answer"}


def jsonable(value: Any) -> Any:
    """``value`` as JSON data (anything JSON cannot hold becomes its ``repr``)."""
    return json.loads(json.dumps(value, default=repr))


def write_run(root: str | Path, **fields: Any) -> Path:
    """Write ``<root>/run.json``: the format tag and what produced the run (config or manifest, agent, model)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / RUN_FILE
    path.write_text(json.dumps({"format": FORMAT, **jsonable(fields)}, indent=2, ensure_ascii=False) + "\n")
    return path


def claim_episode_dir(root: Path) -> Path:
    """Create and return the next free ``episode_<n>`` folder; atomic, so writers can share ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    index = len(list(root.glob("episode_*")))
    while True:
        folder = root / f"episode_{index:05d}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            index += 1


def agent_notes(agent: Any) -> Callable[[], dict[str, Any]]:
    """A ``notes`` callable for :class:`EpisodeWriter`: the agent's ``last_prompt`` / ``last_answer``, if set."""

    def notes() -> dict[str, Any]:
        out = {}
        for attribute, key in AGENT_NOTES.items():
            value = getattr(agent, attribute, None)
            if value is not None:
                out[key] = value
        return out

    return notes


class EpisodeWriter:
    """Writes one episode folder: ``steps.jsonl`` line by line, deduplicated PNG frames, then ``episode.json``.

    >>> import gymnasium as gym, tempfile, vlgym
    >>> env = gym.make("vlgym/GymCards-NumberLine-v0")
    >>> obs, info = env.reset(seed=0)
    >>> writer = EpisodeWriter(Path(tempfile.mkdtemp()), env_id=env.spec.id, env_kwargs={}, seed=0)
    >>> writer.start(obs, info)
    >>> writer.step("+", *env.step("+"), notes={"prompt": "..."})
    >>> writer.finish()["length"]
    1
    """

    def __init__(self, folder: Path, *, env_id: str | None, env_kwargs: dict[str, Any] | None,
                 seed: int | None, options: dict[str, Any] | None = None):
        self.folder = folder
        (folder / "frames").mkdir(parents=True, exist_ok=True)
        self.header = {"env_id": env_id, "env_kwargs": jsonable(env_kwargs or {}), "seed": seed,
                       "options": jsonable(options)}
        self.frames: list[np.ndarray] = []  # the distinct frames, in order (for a GIF)
        self._saving: list[Future] = []
        self._frame_name: str | None = None
        self._obs: dict[str, Any] = {}
        self._info: dict[str, Any] = {}
        self.t, self.total, self.invalid, self.unparsed = 0, 0.0, 0, 0
        self.last: dict[str, Any] = {}

    def start(self, obs: dict[str, Any], info: dict[str, Any]) -> None:
        self._see(obs, info)
        self._write({"t": -1, **self.header, "text": obs.get("text", ""), "frame": self._frame_name,
                     **_pick(info, SEEN_INFO + OUTCOME_INFO)})

    def step(self, action: Any, obs: dict[str, Any], reward: float, terminated: bool, truncated: bool,
             info: dict[str, Any], notes: dict[str, Any] | None = None) -> None:
        """Record the step from the previous observation with ``action``; ``notes``: ``prompt``, ``answer``."""
        notes = dict(notes or {})
        record = {"t": self.t, "text": self._obs.get("text", ""), "frame": self._frame_name,
                  **_pick(self._info, SEEN_INFO), "prompt": notes.pop("prompt", None),
                  "answer": notes.pop("answer", action if isinstance(action, str) else None),
                  "action": jsonable(action), "reward": float(reward), "terminated": bool(terminated),
                  "truncated": bool(truncated), **_pick(info, OUTCOME_INFO), **jsonable(notes)}
        self._write(record)
        self.t += 1
        self.total += float(reward)
        self.invalid += not info.get("action_valid", True)
        self.unparsed += bool(info.get("parse_failure", False))
        self.last = {"terminated": bool(terminated), "truncated": bool(truncated),
                     "success": bool(info.get("success", False)), "score": float(info.get("score", 0.0))}
        self._see(obs, info)

    def finish(self) -> dict[str, Any]:
        """Write ``episode.json`` (return, length, outcome, ...) once every frame is on disk, and return it."""
        for saving in self._saving:
            saving.result()
        last = self.last or {"terminated": False, "truncated": False, "success": False, "score": 0.0}
        if last["success"]:
            outcome = "success"
        elif last["terminated"] or last["truncated"]:
            outcome = "failure" if last["terminated"] else "truncated"
        else:
            outcome = "unfinished"
        summary = {**self.header, "return": self.total, "length": self.t, "outcome": outcome,
                   "success": last["success"], "score": last["score"], "invalid_actions": self.invalid,
                   "parse_failures": self.unparsed, "final_text": self._obs.get("text", ""),
                   "final_frame": self._frame_name}
        (self.folder / EPISODE_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        return summary

    def _see(self, obs: dict[str, Any], info: dict[str, Any]) -> None:
        """Remember what the agent sees now; a frame equal to the previous one reuses its file."""
        image = np.asarray(obs["image"])
        if not self.frames or not np.array_equal(image, self.frames[-1]):
            self._frame_name = f"frames/{self.t:04d}.png"
            image = image.copy()  # the env may reuse its buffer
            self._saving.append(_FRAME_SAVER.submit(_save_png, image, self.folder / self._frame_name))
            self.frames.append(image)
        self._obs, self._info = obs, info

    def _write(self, record: dict[str, Any]) -> None:
        with open(self.folder / STEPS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, default=repr) + "\n")


def _save_png(image: np.ndarray, path: Path) -> None:
    Image.fromarray(image).save(path, compress_level=1)


def _pick(info: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: jsonable(info[key]) for key in keys if key in info}


def run_folder_name(env_id: str, agent: str) -> str:
    """A folder name for one (env, agent) run: ``NumberLine-v0__expert`` (unsafe characters become ``_``)."""
    name = f"{env_id.removeprefix('vlgym/').removeprefix('GymCards-')}__{agent}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
