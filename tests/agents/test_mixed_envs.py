"""Several environments in one run: a list under ``env``, prompts batched together, seeds per env, metrics and
the final evaluation per env id and overall."""

import json

import pytest

from vlgym_agents.config import EnvSettings, load_config
from vlgym_agents.policy.sampling import Sampling
from vlgym_agents.policy.vlm import LoraSettings, PolicyConfig, VLMPolicy
from vlgym_agents.rollout.collector import Collector
from vlgym_agents.train import Trainer

NUMBERLINE = {"id": "vlgym/GymCards-NumberLine-v0", "num_envs": 2, "seed_start": 100,
              "kwargs": {"state_in_text": True, "image_size": 56, "max_position": 2}}
EZPOINTS = {"id": "vlgym/GymCards-EZPoints-v0", "num_envs": 1, "seed_start": 100, "kwargs": {"image_size": 84}}


@pytest.fixture(scope="module")
def policy(tiny_qwen):
    return VLMPolicy(PolicyConfig(path=str(tiny_qwen), value_head_hidden=[16], lora=LoraSettings(r=4, dropout=0.0)))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("vector", ["sync", "async"])
def test_two_envs_batch_together_with_disjoint_seeds(policy, monkeypatch, mode, vector):
    specs = [EnvSettings(**NUMBERLINE, vector=vector), EnvSettings(**EZPOINTS, vector=vector)]
    collector = Collector(specs, policy, Sampling(max_new_tokens=8), with_reference=False, mode=mode,
                          async_groups=2)
    calls = []
    real = type(policy).generate

    def generate(self, batch, sampling, **kwargs):
        calls.append(batch["input_ids"].shape[0])
        return real(self, batch, sampling, **kwargs)

    monkeypatch.setattr(type(policy), "generate", generate)
    try:
        rollout = collector.collect(5)  # NumberLine's episodes end at step 4
        assert [len(s) for s in rollout.steps] == [5, 5, 5]
        assert calls == ([3] * 5 if mode == "sync" else [1, 2] * 5)  # async: env 0 | envs 1 (NumberLine), 2
        assert {"vlgym/GymCards-NumberLine-v0"} <= set(rollout.episode_envs)
        assert len(rollout.episode_envs) == len(rollout.episodes)
        seeds = [e.seed for e in rollout.episodes] + [e.seed for e in collector.episodes]
        assert len(seeds) == len(set(seeds))  # one cursor over all envs: no seed is played twice
        assert collector.episodes[2].seed in range(100, 100 + collector.seed_cursor)
        assert collector.obs[0]["image"].shape == (56, 56, 3) and collector.obs[2]["image"].shape == (84, 84, 3)
    finally:
        collector.close()


def test_the_single_env_form_and_the_list_form_validate(tiny_config):
    single = tiny_config()
    assert single.envs == [single.env] and single.num_envs == 2
    mixed = load_config(None, base={**single.model_dump(mode="json"), "env": [NUMBERLINE, EZPOINTS]})
    assert [s.id for s in mixed.envs] == [NUMBERLINE["id"], EZPOINTS["id"]] and mixed.num_envs == 3
    with pytest.raises(ValueError, match="multiple of"):
        load_config(None, ["algo.name=loop", "algo.loop.group_size=2"],
                    base={**single.model_dump(mode="json"), "env": [NUMBERLINE, EZPOINTS]})


def test_training_on_two_envs_reports_each(tiny_config):
    base = tiny_config("eval.episodes=2", "eval.num_envs=2").model_dump(mode="json")
    config = load_config(None, base={**base, "env": [{**NUMBERLINE, "vector": "sync"},
                                                     {**EZPOINTS, "num_envs": 2, "vector": "sync"}]})
    summary = Trainer(config).train()
    assert summary["state"]["env_steps"] == 32  # 2 updates of 4 envs x 4 steps
    rows = [json.loads(line) for line in (config.run.output_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("success_rate/vlgym/GymCards-NumberLine-v0" in r for r in rows)
    evaluation = summary["eval"]
    assert set(evaluation["per_env"]) == {NUMBERLINE["id"], EZPOINTS["id"]}
    assert evaluation["episodes"] == sum(e["episodes"] for e in evaluation["per_env"].values()) == 4
