"""Episodes recorded by the trainer, and the warm start from a recorded dataset."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

from vlgym.cli import app
from vlgym.eval import evaluate
from vlgym.record import find_runs, load_episode
from vlgym_agents.policy.agent import load_checkpoint_agent
from vlgym_agents.policy.vlm import VLMPolicy
from vlgym_agents.recording import TrainingRecorder
from vlgym_agents.sft import collect_demonstrations, load_demonstrations, warm_start
from vlgym_agents.train import Trainer


def metric_rows(config):
    timing = {"env_steps_per_s", "tokens_per_s", "collect_s", "update_s", "engine_generate_s", "engine_score_s"}
    rows = [json.loads(line) for line in (config.run.output_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in timing} for row in rows]


def test_the_trainer_records_sampled_episodes_every_n_updates_and_the_final_evaluation(tiny_config):
    config = tiny_config("record.every_updates=2", "record.episodes=3", "eval.episodes=2")
    Trainer(config).train()
    runs = {run.name: run for run in find_runs(config.run.output_dir / "episodes")}
    assert sorted(runs) == ["eval", "update-000002"]  # 3 updates: a recording after update 2, then the eval
    train, held_out = runs["update-000002"], runs["eval"]
    assert train.info["kind"] == "train" and train.info["update"] == 2 and held_out.info["kind"] == "eval"
    assert train.info["config"]["model"]["path"] == config.model.path
    start = config.env.seed_start
    assert sorted(e["seed"] for e in train.episodes()) == [start, start + 1, start + 2]  # the first training seeds
    eval_start = config.eval.seed_start
    assert sorted(e["seed"] for e in held_out.episodes()) == [eval_start, eval_start + 1]
    folder = train.episode_dirs()[0]
    episode = load_episode(folder)
    policy = VLMPolicy(config.model)  # the prompt is the chat-templated text the policy was given
    first = episode["steps"][0]
    obs = {"image": np.asarray(Image.open(folder / first["frame"])), "text": first["text"]}
    assert first["prompt"] == policy.prompt(obs, {"instruction": first["instruction"],
                                                 "available_actions": first["available_actions"]}).text
    assert all(isinstance(s["answer"], str) and "action_valid" in s for s in episode["steps"])
    assert episode["env_id"] == config.env.id and episode["env_kwargs"] == config.env.kwargs
    # A resumed run that evaluates again replaces the recording instead of appending to it.
    folder, info = TrainingRecorder(config, config.run.output_dir).eval_folder(3)
    assert folder == held_out.path and not folder.exists() and info["kind"] == "eval"


def test_recording_leaves_the_training_run_unchanged(tiny_config, tmp_path):
    plain = tiny_config(f"run.output_dir={tmp_path / 'plain'}")
    recorded = tiny_config(f"run.output_dir={tmp_path / 'recorded'}", "record.every_updates=1", "record.episodes=2")
    for config in (plain, recorded):
        Trainer(config).train()
    assert metric_rows(plain) == metric_rows(recorded)
    assert len(find_runs(tmp_path / "recorded" / "episodes")) == 3
    weights = [load_file(c.run.output_dir / "checkpoints" / "update-000003" / "model" / "adapter_model.safetensors")
               for c in (plain, recorded)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_the_warm_start_from_a_recorded_dataset_equals_the_one_that_plays_the_expert(tiny_config, tmp_path):
    overrides = ("sft.demos=12", "sft.seed_start=700", "sft.max_steps=2", "sft.check_every=2",
                 "sft.check_episodes=2", "sft.batch_size=4", "eval.num_envs=2")
    played = tiny_config(*overrides)
    kwargs = [f"--kwarg={k}={json.dumps(v)}" for k, v in played.env.kwargs.items()]
    result = CliRunner().invoke(app, ["record", "--env", played.env.id, "--agent", "expert", "--episodes", "12",
                                      "--seed", "700", "--to", str(tmp_path / "demos"), *kwargs])
    assert result.exit_code == 0, result.output
    from_dataset = tiny_config(*overrides, f"sft.dataset={tmp_path / 'demos'}")
    policy = VLMPolicy(played.model)
    expected, loaded = collect_demonstrations(policy, played), load_demonstrations(policy, from_dataset)
    assert len(expected) == len(loaded) == 12
    for a, b in zip(expected, loaded, strict=True):
        assert a.prompt.text == b.prompt.text and a.answer == b.answer
        assert len(a.prompt.images) == len(b.prompt.images) == 1
        assert (a.prompt.images[0] == b.prompt.images[0]).all()
    folders = [warm_start(c, tmp_path / name)[0] for c, name in ((played, "played"), (from_dataset, "dataset"))]
    weights = [load_file(f / "model.safetensors") for f in folders]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert (tmp_path / "played" / "sft_log.json").read_text() == (tmp_path / "dataset" / "sft_log.json").read_text()


def test_eval_records_the_checkpoint_agents_prompts_and_answers(tiny_config, tmp_path):
    config = tiny_config("run.total_env_steps=8")
    Trainer(config).train()
    folder = tmp_path / "recorded"
    evaluate(config.env.id, f"checkpoint:{config.run.output_dir}", seeds=[3], env_kwargs=config.env.kwargs,
             record_to=folder)
    (run,) = find_runs(folder)
    assert run.info["agent_info"]["weights_sha256"] and run.info["agent_info"]["model"] == config.model.path
    episode = load_episode(run.episode_dirs()[0])
    agent = load_checkpoint_agent(str(config.run.output_dir), config.env.id, config.env.kwargs)
    agent.reset(3)
    env = gym.make(config.env.id, **config.env.kwargs)
    obs, info = env.reset(seed=3)
    for step in episode["steps"]:  # replay: the same prompts and answers
        answer = agent.act(obs, info)
        assert (step["prompt"], step["answer"]) == (agent.last_prompt, answer) and step["prompt"].strip()
        obs, _, _, _, info = env.step(answer)
    env.close()
