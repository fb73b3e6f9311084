"""Checkpoints that survive a kill at any moment, and resume from the state training had when they were written.

A checkpoint is a folder ``update-000123`` holding the adapter (or model), processor, value head, optimiser,
scheduler, RNG states, the run's ``config.yaml`` and a ``state.json`` of counters (updates, env steps, the
episode seed cursor). It is
written under a temporary name and renamed into place in one step, then ``latest`` (a one-line file, also
replaced atomically) points to it: a crash leaves either the previous checkpoint or the new one, never half.

What a resume restores exactly: weights, optimiser, scheduler, every rank's RNG states and the counters.
What it does not, so a resumed run is not an exact replay of an uninterrupted one after the checkpoint:
episodes in flight are not saved (the resumed run starts fresh episodes from the saved seed cursor, and
LOOP's incomplete groups are dropped), and the trainer's minibatch shuffling generator is seeded again from
the update count rather than restored. Up to the checkpoint both runs are identical.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

LATEST = "latest"


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _write_text_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(root: str | Path, update: int, *, policy, optimizer, scheduler, state: dict[str, Any],
                    config_yaml: str = "", keep: int = 2, rng_states: list[dict[str, Any]] | None = None) -> Path:
    """Write checkpoint ``update`` under ``root`` atomically and keep the newest ``keep`` of them.

    ``rng_states``: every rank's :func:`rng_state`, in rank order (default: this process's only).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"update-{update:06d}"
    tmp = root / f".tmp-{final.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    policy.save(tmp)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save(rng_states or [rng_state()], tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    (tmp / "config.yaml").write_text(config_yaml)  # what the checkpoint is: enough to load it for evaluation
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _write_text_atomically(root / LATEST, final.name + "\n")
    for old in sorted(root.glob("update-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: str | Path) -> Path | None:
    """The folder ``latest`` points to, or None when there is no complete checkpoint."""
    pointer = Path(root) / LATEST
    if not pointer.exists():
        return None
    folder = Path(root) / pointer.read_text().strip()
    return folder if (folder / "state.json").exists() else None


def load_training_state(folder: Path, *, optimizer, scheduler, rank: int = 0) -> dict[str, Any]:
    """Restore optimiser, scheduler and this rank's RNGs from ``folder``; returns its counters."""
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=False))
    scheduler.load_state_dict(torch.load(folder / "scheduler.pt", map_location="cpu", weights_only=False))
    rng_states = torch.load(folder / "rng.pt", weights_only=False)
    if rank < len(rng_states):  # a rank the saving run did not have keeps its fresh seed
        set_rng_state(rng_states[rank])
    return json.loads((folder / "state.json").read_text())
