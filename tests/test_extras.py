"""A base install (``pip install vlgym``, no extras) tells which extra a family needs, at ``gym.make``.

These tests run Python in ``.venv-base``, the base install that ``scripts/test.sh`` builds with
``scripts/base_venv.sh``, on this checkout's code.
"""

import os
import subprocess
from pathlib import Path

import pytest

from vlgym.extras import FAMILY_EXTRAS, missing_modules

ROOT = Path(__file__).resolve().parents[1]
BASE_PYTHON = ROOT / ".venv-base" / "bin" / "python"


def base_python(*args: str):
    assert BASE_PYTHON.exists(), "no base install: run `bash scripts/base_venv.sh` (scripts/test.sh does)"
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "VLGYM_DEBUG": ""}
    return subprocess.run([str(BASE_PYTHON), *args], env=environ, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, cwd=ROOT)


MAKE = """
import sys
import gymnasium as gym
import vlgym
try:
    gym.make(sys.argv[1])
except vlgym.MissingExtraError as error:
    assert isinstance(error, ImportError)
    print(error.family, error.extra, ",".join(error.missing), sep="|")
    print(error)
else:
    print("made")
"""


@pytest.mark.parametrize(("env_id", "family", "package"), [
    ("vlgym/MiniWorld-OneRoom-v0", "miniworld", "pyglet"),
    ("vlgym/ALFWorld-v0", "alfworld", "fast_downward"),
    ("vlgym/WebShop-v0", "webshop", "bm25s"),
])
def test_making_an_env_without_its_extra_names_the_install_command(env_id, family, package):
    result = base_python("-c", MAKE, env_id)
    assert result.returncode == 0, result.stderr
    fields, message = result.stdout.splitlines()
    got_family, extra, missing = fields.split("|")
    assert (got_family, extra) == (family, family) and package in missing.split(",")
    assert f"the {family} envs need" in message and package in message
    assert f'pip install "vlgym[{family}]"' in message and f"bash scripts/install.sh {family}" in message


def test_the_base_install_has_no_torch_and_plays_gym_cards():
    script = """
import importlib.util
import gymnasium as gym
import vlgym
assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("miniworld") is None
env = gym.make("vlgym/GymCards-NumberLine-v0")
env.reset(seed=0)
print(env.step(env.unwrapped.expert_action())[4]["action_valid"])
"""
    result = base_python("-c", script)
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr


def test_vlgym_list_and_the_cli_say_what_to_install():
    listed = base_python("-m", "vlgym.cli", "list")
    assert listed.returncode == 0, listed.stderr
    assert "families usable here: cards\n" in listed.stdout
    for family in ("miniworld", "alfworld", "webshop"):
        assert f'{family}: needs the \'{family}\' extra (pip install "vlgym[{family}]")' in listed.stdout
    played = base_python("-m", "vlgym.cli", "play", "vlgym/MiniWorld-OneRoom-v0")
    assert played.returncode == 2 and "Traceback" not in played.stderr
    assert played.stderr.startswith("error: the miniworld envs need the 'miniworld' extra")


def test_the_trainer_start_up_check_names_the_extra():
    script = "from vlgym_agents.preflight import check_env; check_env('vlgym/ALFWorld-v0')"
    result = base_python("-c", script)
    assert result.returncode == 1
    assert "MissingExtraError: the alfworld envs need the 'alfworld' extra" in result.stderr


def test_every_family_with_an_extra_is_usable_in_the_full_install():
    # scripts/test.sh installs every extra: the same checks find nothing missing there.
    assert {family: missing_modules(family) for family in FAMILY_EXTRAS} == {family: [] for family in FAMILY_EXTRAS}
