"""Checkpoints: complete or absent, never half-written; RNG, optimiser and scheduler come back exactly."""

import json
import random

import numpy as np
import pytest
import torch

from vlgym_agents.checkpoint import (
    latest_checkpoint,
    load_training_state,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from vlgym_agents.train import cosine_schedule


class FakePolicy:
    """Writes what a policy writes (a model folder and a value head), without a model."""

    def __init__(self, tag: str = "a"):
        self.tag = tag

    def save(self, path):
        (path / "model").mkdir()
        (path / "model" / "weights.txt").write_text(self.tag)
        (path / "value_head.pt").write_text(self.tag)


def parts():
    parameter = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.AdamW([parameter], lr=0.1)
    scheduler = cosine_schedule(optimizer, 10, 0.1, 0.01)
    return parameter, optimizer, scheduler


def save(root, update, optimizer, scheduler, **kwargs):
    return save_checkpoint(root, update, policy=FakePolicy(str(update)), optimizer=optimizer, scheduler=scheduler,
                           state={"update": update, "seed_cursor": 10 * update}, **kwargs)


def test_a_crash_while_saving_leaves_the_previous_checkpoint_in_charge(tmp_path, monkeypatch):
    _, optimizer, scheduler = parts()
    save(tmp_path, 1, optimizer, scheduler)
    real_save = torch.save

    def crash_on_scheduler(obj, path, *args, **kwargs):
        if str(path).endswith("scheduler.pt"):
            raise KeyboardInterrupt  # the process dies here
        real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", crash_on_scheduler)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path, 2, optimizer, scheduler)
    assert (tmp_path / ".tmp-update-000002").exists() and not (tmp_path / "update-000002").exists()
    assert latest_checkpoint(tmp_path).name == "update-000001"
    monkeypatch.setattr(torch, "save", real_save)
    folder = save(tmp_path, 2, optimizer, scheduler)  # the next attempt replaces the debris
    assert latest_checkpoint(tmp_path) == folder
    assert not (tmp_path / ".tmp-update-000002").exists()
    assert json.loads((folder / "state.json").read_text()) == {"update": 2, "seed_cursor": 20}


def test_only_a_complete_checkpoint_named_by_latest_counts(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    _, optimizer, scheduler = parts()
    (tmp_path / ".tmp-update-000005").mkdir()
    (tmp_path / ".tmp-update-000005" / "state.json").write_text("{}")
    assert latest_checkpoint(tmp_path) is None
    save(tmp_path, 3, optimizer, scheduler)
    (tmp_path / "update-000004").mkdir()  # renamed into place, but "latest" was not yet switched
    assert latest_checkpoint(tmp_path).name == "update-000003"
    (tmp_path / "latest").write_text("update-000004\n")  # pointing at a folder without state.json
    assert latest_checkpoint(tmp_path) is None


def test_older_checkpoints_are_pruned(tmp_path):
    _, optimizer, scheduler = parts()
    for update in range(1, 6):
        save(tmp_path, update, optimizer, scheduler, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "update-000004", "update-000005"]
    assert (tmp_path / "update-000005" / "model" / "weights.txt").read_text() == "5"


def test_optimiser_scheduler_and_rng_come_back(tmp_path):
    parameter, optimizer, scheduler = parts()
    for _ in range(3):
        parameter.grad = torch.full_like(parameter, 0.5)
        optimizer.step()
        scheduler.step()
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    save(tmp_path, 3, optimizer, scheduler)
    expected = (random.random(), np.random.rand(), torch.rand(2))
    lr, moments = scheduler.get_last_lr(), optimizer.state_dict()["state"][0]["exp_avg"].clone()

    _, optimizer2, scheduler2 = parts()
    random.seed(9)
    counters = load_training_state(tmp_path / "update-000003", optimizer=optimizer2, scheduler=scheduler2)
    assert counters == {"update": 3, "seed_cursor": 30}
    assert (random.random(), np.random.rand()) == expected[:2] and torch.equal(torch.rand(2), expected[2])
    assert scheduler2.get_last_lr() == lr and scheduler2.last_epoch == 3
    assert torch.equal(optimizer2.state_dict()["state"][0]["exp_avg"], moments)
    scheduler.step()
    scheduler2.step()
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()  # the schedule goes on, not from the start


def test_rng_state_round_trip():
    state = rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
