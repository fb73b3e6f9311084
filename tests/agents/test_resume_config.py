"""``--resume`` with a config that differs from the checkpoint's lists the differences and refuses, unless told
to go on (``--allow-config-change``)."""

import pytest

from vlgym_agents.config import dump_config
from vlgym_agents.train import ConfigChangedError, Trainer


@pytest.fixture
def trained(tiny_config):
    """A run that stopped after its first checkpoint (1 update of 2 envs x 4 steps)."""
    config = tiny_config("run.total_env_steps=8")
    Trainer(config).train()
    return config


def test_resuming_with_a_changed_config_says_what_changed_and_refuses(trained, tiny_config):
    changed = tiny_config("run.total_env_steps=16", "optim.lr=0.002")
    with pytest.raises(ConfigChangedError) as error:
        Trainer(changed, resume=True)
    assert "optim.lr: 0.001 -> 0.002" in str(error.value)
    assert "run.total_env_steps: 8 -> 16" in str(error.value)
    assert "--allow-config-change" in str(error.value)


def test_resuming_with_the_same_config_or_with_permission_goes_on(trained, tiny_config, caplog):
    same = Trainer(tiny_config("run.total_env_steps=8"), resume=True)
    assert same.state["update"] == 1
    same.collector.close()
    allowed = Trainer(tiny_config("run.total_env_steps=16"), resume=True, allow_config_change=True)
    assert allowed.state["update"] == 1 and "run.total_env_steps: 8 -> 16" in caplog.text
    assert allowed.train()["state"]["update"] == 2


def test_the_command_line_refuses_a_changed_config_with_exit_2(trained, tmp_path, train_main):
    path = tmp_path / "run.yaml"
    path.write_text(dump_config(trained))
    code, out, err = train_main("rl", str(path), "run.total_env_steps=16", "--resume")
    assert code == 2
    assert "run.total_env_steps: 8 -> 16" in err and "Traceback" not in out + err
