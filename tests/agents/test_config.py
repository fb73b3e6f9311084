"""Training configs: validated on load, overridable from the command line, and the packaged ones all valid."""

import pytest
from pydantic import ValidationError

from vlgym_agents.cli import PACKAGED, packaged_configs
from vlgym_agents.config import TrainConfig, dump_config, load_config

BASE = {"model": {"path": "some/model"}, "env": {"id": "vlgym/GymCards-NumberLine-v0"}}


def load(*overrides: str, base=None) -> TrainConfig:
    return load_config(None, list(overrides), base=base or BASE)


def test_every_packaged_config_loads_and_validates():
    names = packaged_configs()
    assert {"numberline", "ezpoints", "points24", "blackjack", "alfworld", "miniworld", "webshop",
            "quickstart"} <= set(names)
    for name in names:
        config = load_config(PACKAGED / f"{name}.yaml")
        assert config.env.id.startswith("vlgym/")
        # the held-out seeds of every packaged config are far from its training seeds
        assert config.eval.seed_start >= config.training_seeds().stop


def test_overrides_are_typed_and_nested():
    config = load("optim.lr=1e-4", "env.num_envs=4", "algo.vldac.kl_beta=0.1", "env.kwargs.image_size=64",
                  "model.lora=null", "sampling.do_sample=false")
    assert config.optim.lr == pytest.approx(1e-4)
    assert config.env.num_envs == 4 and config.algo.vldac.kl_beta == pytest.approx(0.1)
    assert config.env.kwargs == {"image_size": 64}
    assert config.model.lora is None and config.sampling.do_sample is False


def test_overrides_win_over_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(load("optim.lr=1e-3")))
    assert load_config(path).optim.lr == pytest.approx(1e-3)
    assert load_config(path, ["optim.lr=2e-3"]).optim.lr == pytest.approx(2e-3)


def test_dump_round_trips(tmp_path):
    config = load("env.num_envs=3", "algo.vldac.clip_eps=0.2")
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(config))
    assert load_config(path) == config


@pytest.mark.parametrize("override", ["algo.vldac.kl_bta=0.1", "optim.learning_rate=1e-4", "run.epochs=3",
                                      "nonsense=1", "env.kwarg.image_size=3", "sampling.beam_width=4"])
def test_unknown_keys_are_errors_that_name_the_key(override):
    with pytest.raises(ValidationError) as error:
        load(override)
    assert override.split("=")[0].split(".")[-1] in str(error.value)


@pytest.mark.parametrize("override", [
    "optim.lr=0", "optim.lr=-1e-4", "env.num_envs=0", "sampling.top_p=0", "sampling.top_p=1.5",
    "sampling.temperature=0", "algo.vldac.clip_eps=1", "algo.gamma=1.5", "algo.minibatch_size=0",
    "run.total_env_steps=0", "run.device=tpu", "model.dtype=float8", "sft.stop_valid_rate=2",
    "optim.lr_end=1e-3",  # above the default lr: a cosine that climbs
    "optim.value_lr_end=1e-4",  # without optim.value_lr: no head rate to decay from
    "algo.minibatch_size=100000",  # more than one rollout holds
    "env.num_envs=many",
])
def test_impossible_values_are_errors(override):
    with pytest.raises(ValidationError):
        load(override)


def test_override_without_equals_sign_is_an_error():
    with pytest.raises(ValueError, match="key=value"):
        load("optim.lr")


def test_held_out_seeds_may_not_overlap_training_seeds():
    # 2 envs x 4 steps per rollout, 10 steps -> 2 rollouts = 16 steps; the 2 episodes running at the end are
    # seeded too: training can use seeds 100..117.
    base = [f"{k}={v}" for k, v in {"env.num_envs": 2, "run.steps_per_env": 4, "run.total_env_steps": 10,
                                    "env.seed_start": 100, "algo.minibatch_size": 4, "eval.episodes": 5}.items()]
    config = load(*base, "eval.seed_start=118")
    assert config.training_seeds() == range(100, 118)
    for start in (95, 50, 118):  # 95..99 ends just before the training seeds
        assert load(*base, f"eval.seed_start={start}").eval.seed_start == start
    for start in (96, 110, 117):
        with pytest.raises(ValidationError, match="overlap the training seeds"):
            load(*base, f"eval.seed_start={start}")
    # no held-out episodes, no overlap
    assert load(*base, "eval.seed_start=100", "eval.episodes=0").eval.episodes == 0


def test_training_seed_range_grows_with_ranks():
    config = load("env.num_envs=2", "run.steps_per_env=4", "run.total_env_steps=16", "algo.minibatch_size=4",
                  "eval.seed_start=18", "eval.episodes=5")
    assert config.training_seeds(1).stop == 18
    # 2 ranks: 16 steps in one update of 2 x 2 x 4, and 4 episodes running at the end
    assert config.training_seeds(2).stop == 20
    with pytest.raises(ValueError, match="overlap"):
        config.check_held_out_seeds(2)


def test_held_out_seeds_may_not_overlap_demonstration_seeds():
    with pytest.raises(ValidationError, match="sft demonstration"):
        load("sft.seed_start=1000000", "sft.demos=10")


def test_async_rollouts_need_envs_that_step_some_at_a_time():
    with pytest.raises(ValidationError, match="Ray actors"):
        load("rollout.mode=async", "env.vector=ray", "env.num_envs=4")
    assert load("rollout.mode=async", "env.vector=ray", "env.num_envs=1").env.vector == "ray"  # one env: as sync
    assert load("rollout.mode=sync", "env.vector=ray", "env.num_envs=4").rollout.mode == "sync"
