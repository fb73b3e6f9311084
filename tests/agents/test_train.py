"""The trainer in-process: the LR schedule, what a run writes, NaN losses, bad answers and dead workers."""

import json
import logging
import math
from itertools import pairwise

import pytest
import torch

from vlgym_agents.checkpoint import latest_checkpoint
from vlgym_agents.policy.vlm import VLMPolicy
from vlgym_agents.rollout.collector import Collector
from vlgym_agents.rollout.gae import assign_advantages
from vlgym_agents.train import Trainer, cosine_schedule


def rows(config) -> list[dict]:
    return [json.loads(line) for line in (config.run.output_dir / "metrics.jsonl").read_text().splitlines()]


def weights(policy: VLMPolicy) -> dict[str, torch.Tensor]:
    named = {f"model.{n}": p for n, p in policy.model.named_parameters() if p.requires_grad}
    named |= {f"value_head.{n}": p for n, p in policy.value_head.named_parameters()}
    return {n: p.detach().clone() for n, p in named.items()}


def checkpoint_weights(config, folder) -> dict[str, torch.Tensor]:
    policy = VLMPolicy(config.model, adapter=folder / "model")
    policy.load_value_head(folder)
    return weights(policy)


def expected_lrs(updates: int, total: int, lr: float, lr_end: float) -> list[float]:
    """The LR each update of an uninterrupted run uses."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = cosine_schedule(optimizer, total, lr, lr_end)
    out = []
    for _ in range(updates):
        out.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return out


def test_cosine_schedule_decays_once_and_never_restarts():
    lrs = expected_lrs(30, total=10, lr=1.0, lr_end=0.1)
    assert lrs[0] == pytest.approx(1.0)
    assert lrs[5] == pytest.approx(0.55)  # half way: the mean of both ends
    assert all(a >= b for a, b in pairwise(lrs))
    assert lrs[10:] == pytest.approx([0.1] * 20)  # past the end it stays at lr_end


def test_the_value_head_can_have_its_own_rate_on_the_same_schedule(tiny_config):
    config = tiny_config("optim.value_lr=0.01")
    trainer = Trainer(config)
    try:
        groups = trainer.optimizer.param_groups
        head = {id(p) for p in trainer.unwrapped.value_head.parameters()}
        assert [g["lr"] for g in groups] == [config.optim.lr, 0.01]
        assert {id(p) for p in groups[1]["params"]} == head and not head & {id(p) for p in groups[0]["params"]}
        trainer.scheduler.step()  # the cosine scales both rates by the same factor
        factor = trainer.scheduler.get_last_lr()[0] / config.optim.lr
        assert factor < 1 and trainer.scheduler.get_last_lr()[1] == pytest.approx(0.01 * factor)
    finally:
        trainer.collector.close()
        trainer.engine.close()
    assert len(Trainer(tiny_config()).optimizer.param_groups) == 1  # default: one rate for everything


def test_the_value_head_can_keep_its_rate_while_the_policy_s_decays(tiny_config):
    config = tiny_config("optim.value_lr=0.01", "optim.value_lr_end=0.01")
    trainer = Trainer(config)
    try:
        for _ in range(trainer.updates_total):
            trainer.scheduler.step()
        policy_lr, head_lr = trainer.scheduler.get_last_lr()
        assert policy_lr == pytest.approx(config.optim.lr_end) and head_lr == pytest.approx(0.01)
    finally:
        trainer.collector.close()
        trainer.engine.close()


def test_a_run_logs_every_update_and_writes_complete_checkpoints(tiny_config):
    config = tiny_config("run.keep_checkpoints=2", "eval.episodes=2")
    summary = Trainer(config).train()
    out = config.run.output_dir
    assert summary["state"]["update"] == 3 and summary["state"]["env_steps"] == 24
    assert [r["update"] for r in rows(config)] == [1, 2, 3]
    assert [r["lr"] for r in rows(config)] == pytest.approx(expected_lrs(3, 3, 1e-3, 1e-4))
    assert [r["warmup"] for r in rows(config)] == [True, False, False]
    assert any((out / "tensorboard").iterdir())
    assert json.loads((out / "eval.json").read_text())["episodes"] == 2
    # checkpoints: the newest two, each complete, and "latest" names the newest
    folders = sorted(p.name for p in (out / "checkpoints").iterdir() if p.is_dir())
    assert folders == ["update-000002", "update-000003"]
    latest = latest_checkpoint(out / "checkpoints")
    assert latest.name == "update-000003"
    for name in ("model/adapter_config.json", "model/adapter_model.safetensors", "model/tokenizer_config.json",
                 "value_head.pt", "optimizer.pt", "scheduler.pt", "rng.pt", "state.json"):
        assert (latest / name).exists(), name
    state = json.loads((latest / "state.json").read_text())
    assert state == {**summary["state"]}
    assert state["seed_cursor"] >= config.env.num_envs and state["episodes"] >= 1


def test_resume_restores_weights_optimiser_schedule_rng_and_counters(tiny_config):
    config = tiny_config()
    trainer = Trainer(config)
    trainer.train()
    trained = weights(trainer.unwrapped)
    folder = latest_checkpoint(config.run.output_dir / "checkpoints")
    resumed = Trainer(config, resume=True)
    assert resumed.state == trainer.state and resumed.collector.seed_cursor == trainer.state["seed_cursor"]
    now = weights(resumed.unwrapped)
    assert now.keys() == trained.keys() and all(torch.equal(now[k], trained[k]) for k in now)
    assert resumed.scheduler.state_dict()["last_epoch"] == 3
    assert resumed.scheduler.get_last_lr() == trainer.scheduler.get_last_lr()
    saved, loaded = trainer.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[k]["exp_avg"], loaded[k]["exp_avg"]) for k in saved)
    assert torch.equal(torch.get_rng_state(), torch.load(folder / "rng.pt", weights_only=False)[0]["torch"])
    assert resumed.train()["state"]["update"] == 3  # nothing left to do
    resumed.collector.close()


def nan_loss(batch, loss):
    return loss * float("nan")


def nan_gradient(batch, loss):
    return loss + batch.log_probs.mul(0).sqrt().sum()  # the value is finite, d sqrt(x)/dx at 0 is not


@pytest.mark.parametrize(("poison", "what"), [(nan_loss, "loss"), (nan_gradient, "gradient norm")])
def test_non_finite_numbers_skip_the_update_and_corrupt_nothing(tiny_config, monkeypatch, caplog, poison, what):
    from vlgym_agents.algos.vldac import VLDAC

    real_loss, calls = VLDAC.loss_function, []

    def loss_nan_once(batch, *args, **kwargs):
        loss, stats = real_loss(batch, *args, **kwargs)
        calls.append(1)
        return (poison(batch, loss), stats) if len(calls) == 1 else (loss, stats)

    monkeypatch.setattr(VLDAC, "loss_function", loss_nan_once)
    config = tiny_config()
    trainer = Trainer(config)
    before = weights(trainer.unwrapped)
    with caplog.at_level(logging.WARNING, logger="vlgym_agents.train"):
        summary = trainer.train()
    assert f"non-finite {what} at update 1" in caplog.text
    assert summary["state"]["skipped_updates"] == 1 and summary["state"]["update"] == 3
    assert rows(config)[0].get("skipped") == 1.0 and "skipped" not in rows(config)[1]
    checkpoints = config.run.output_dir / "checkpoints"
    after_skip = checkpoint_weights(config, checkpoints / "update-000001")
    assert all(torch.equal(after_skip[k], before[k]) for k in before)  # the skipped update changed nothing
    final = checkpoint_weights(config, checkpoints / "update-000003")
    assert all(torch.isfinite(w).all() for w in final.values())
    assert any(not torch.equal(final[k], before[k]) for k in before)  # and training went on


def test_unparseable_answers_are_counted_in_the_logs(tiny_config, monkeypatch):
    real = VLMPolicy.generate

    def garbage(self, batch, sampling, **kwargs):
        generation = real(self, batch, sampling, **kwargs)
        generation.texts = ["<<< 42 >>> no json here"] * len(generation.texts)
        return generation

    monkeypatch.setattr(VLMPolicy, "generate", garbage)
    config = tiny_config("run.total_env_steps=8")
    Trainer(config).train()
    (row,) = rows(config)
    assert row["episodes"] == 2  # both envs hit the 4-step limit
    assert row["parse_failure_rate"] == 1.0 and row["invalid_action_rate"] == 1.0
    assert row["format_failure_rate"] == 1.0
    assert row["step_reward"] == -1.0 and row["mean_length"] == 4


def test_training_goes_on_after_an_env_worker_dies(tiny_config, monkeypatch, caplog):
    real_collect, collects = Collector.collect, []

    def collect(self, steps):
        collects.append(1)
        if len(collects) == 2:  # between the first and the second update
            self.envs.processes[0].kill()
            self.envs.processes[0].join()
        return real_collect(self, steps)

    monkeypatch.setattr(Collector, "collect", collect)
    config = tiny_config("env.vector=async")
    with caplog.at_level(logging.WARNING):
        summary = Trainer(config).train()
    assert "worker 0" in caplog.text
    assert summary["state"]["update"] == 3 and summary["state"]["worker_restarts"] == 1
    assert [r["worker_restarts"] for r in rows(config)] == [0, 1, 0]
    assert all(math.isfinite(r["loss"]) for r in rows(config))


def one_update(config, *, warmup: bool) -> tuple[dict, dict]:
    """Weights before and after one update on the same rollout (same initialisation, same samples)."""
    trainer = Trainer(config)
    before = weights(trainer.unwrapped)
    torch.manual_seed(1)
    rollout = trainer.collector.collect(config.run.steps_per_env)
    trainer.collector.close()
    trainer.update(assign_advantages(rollout, config.algo.gamma, config.algo.gae_lambda), warmup=warmup)
    return before, weights(trainer.unwrapped)


def test_gradient_accumulation_equals_one_larger_minibatch(tiny_config):
    before, big = one_update(tiny_config("algo.minibatch_size=4", "algo.grad_accum=1"), warmup=False)
    _, accumulated = one_update(tiny_config("algo.minibatch_size=2", "algo.grad_accum=2"), warmup=False)
    _, small = one_update(tiny_config("algo.minibatch_size=2", "algo.grad_accum=1"), warmup=False)
    lora = [k for k in before if "lora_B" in k]
    assert all(not torch.equal(big[k], before[k]) for k in lora)
    assert all(torch.allclose(big[k], accumulated[k], atol=1e-6) for k in before)
    assert any(not torch.allclose(big[k], small[k], atol=1e-6) for k in lora)  # twice the steps: not the same


def test_value_warmup_moves_only_the_value_head(tiny_config):
    before, after = one_update(tiny_config(), warmup=True)
    assert all(torch.equal(after[k], before[k]) for k in before if k.startswith("model."))
    assert any(not torch.equal(after[k], before[k]) for k in before if k.startswith("value_head."))
