"""``vlgym``'s user errors: one line on stderr, exit code 2, no traceback; bugs and ``--debug`` keep tracebacks.

The user errors run ``vlgym`` in this process the way the console script does, from a temporary folder; the exit
codes a user sees (0, and 1 with the traceback of ``--debug`` or a bug) come from the command run as a user runs
it, in a subprocess (``python -m vlgym.cli``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from vlgym.cli_errors import user_error_message

ROOT = Path(__file__).resolve().parents[1]
NUMBERLINE = ["eval", "--env", "vlgym/GymCards-NumberLine-v0", "--agent", "expert"]


def vlgym_cli(*args: str, cwd: Path, env: dict | None = None):
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "VLGYM_DEBUG": "", **(env or {})}
    return subprocess.run([sys.executable, "-m", "vlgym.cli", *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)


@pytest.fixture
def vlgym_main(monkeypatch, capsys, tmp_path):
    """``vlgym_main(*args)``: ``vlgym ARGS`` in this process the way the console script runs it, from tmp_path;
    a CompletedProcess with its exit code and output."""
    from vlgym.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VLGYM_DEBUG", raising=False)

    def run(*args: str) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, "argv", ["vlgym", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        output = capsys.readouterr()
        return subprocess.CompletedProcess(args, exited.value.code, output.out, output.err)

    return run


def assert_user_error(result, *fragments: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, output
    for fragment in fragments:
        assert fragment in lines[0], output


def manifest_file(vlgym_main, tmp_path: Path) -> Path:
    path = tmp_path / "nl.json"
    result = vlgym_main("manifest", "vlgym/GymCards-NumberLine-v0", "--split", "eval=3", "--output", str(path))
    assert result.returncode == 0, result.stderr
    return path


CASES = {
    # bad -k values and unknown keywords
    "kwarg value the env refuses": (
        [*NUMBERLINE, "-k", "image_size=-5"], ["vlgym/GymCards-NumberLine-v0", "image_size must be at least 16x16"]),
    "unknown kwarg": ([*NUMBERLINE, "-k", "colour=red"], ["has no argument 'colour'"]),
    "kwarg without =": ([*NUMBERLINE, "-k", "image_size"], ["expected KEY=VALUE", "--help"]),
    "unknown env id": (["play", "vlgym/Nope-v0"], ["unknown env id(s): vlgym/Nope-v0"]),
    # missing files and folders
    "missing manifest": ([*NUMBERLINE, "--manifest", "no/such/manifest.json"], ["no/such/manifest.json"]),
    "manifest that is a folder": ([*NUMBERLINE, "--manifest", "."], ["Is a directory"]),
    "missing checkpoint": (
        ["eval", "--env", "vlgym/GymCards-NumberLine-v0", "--agent", "checkpoint:no/such/run"], ["no/such/run"]),
    # unwritable output folders
    "output under a file": ([*NUMBERLINE, "--episodes", "2", "--output", "a_file/results.json"], ["a_file"]),
    "output where nothing may be written": (
        ["bench", "-e", "vlgym/GymCards-NumberLine-v0", "--seconds", "0.1", "--output", "/proc/results.json"],
        ["/proc/results.json"]),
    "manifest into a folder": (
        ["manifest", "vlgym/GymCards-NumberLine-v0", "--split", "eval=3", "--output", "."], ["Is a directory"]),
    # bad numbers
    "negative episodes": ([*NUMBERLINE, "--episodes", "-5"], ["--episodes", "greater than or equal to 1"]),
    "episodes not a number": ([*NUMBERLINE, "--episodes", "many"], ["--episodes"]),
    "no seconds": (["bench", "-e", "vlgym/GymCards-NumberLine-v0", "--seconds", "0"], ["--seconds"]),
    "negative workers": (["bench", "-e", "vlgym/GymCards-NumberLine-v0", "--workers", "-1"], ["--workers"]),
    "bad split size": (["manifest", "vlgym/GymCards-NumberLine-v0", "--split", "eval=x", "--output", "m.json"],
                       ["expected NAME=COUNT"]),
    # typos
    "unknown command": (["evl"], ["No such command 'evl'"]),
    "unknown option": ([*NUMBERLINE, "--episode", "3"], ["--episode"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_user_error_is_one_line_and_exit_code_2(case, vlgym_main, tmp_path):
    args, fragments = CASES[case]
    (tmp_path / "a_file").write_text("not a folder")
    assert_user_error(vlgym_main(*args), *fragments)


def test_a_manifest_for_another_env_is_a_user_error(vlgym_main, tmp_path):
    manifest = manifest_file(vlgym_main, tmp_path)
    result = vlgym_main("eval", "--env", "vlgym/GymCards-Blackjack-v0", "--manifest", str(manifest))
    assert_user_error(result, "manifest for vlgym/GymCards-NumberLine-v0")


def test_a_manifest_that_is_not_json_is_a_user_error(vlgym_main, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert_user_error(vlgym_main("eval", "--manifest", str(bad)), "bad.json")


def test_debug_flag_and_variable_show_the_traceback(tmp_path):
    args = [*NUMBERLINE, "-k", "image_size=-5"]
    for result in (vlgym_cli(*args, "--debug", cwd=tmp_path), vlgym_cli(*args, cwd=tmp_path, env={"VLGYM_DEBUG": "1"})):
        assert result.returncode == 1
        assert "Traceback" in result.stderr and "image_size must be at least 16x16" in result.stderr


def test_success_still_exits_0(tmp_path):
    out = tmp_path / "r.json"
    result = vlgym_cli(*NUMBERLINE, "--episodes", "2", "--output", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(out.read_text())[0]["per_episode"]) == 2


BUGGY_APP = """
import typer
from vlgym.cli_errors import run_cli

app = typer.Typer()

@app.command()
def lookup(key: str):
    print({"a": 1}[key])

run_cli(app, "buggy")
"""


def test_a_bug_keeps_its_traceback(tmp_path):
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "VLGYM_DEBUG": ""}
    run = [sys.executable, "-c", BUGGY_APP]
    ok = subprocess.run([*run, "a"], env=environ, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.strip() == "1"
    bug = subprocess.run([*run, "b"], env=environ, capture_output=True, text=True, timeout=60)
    assert bug.returncode == 1 and "Traceback" in bug.stderr and "KeyError: 'b'" in bug.stderr


def _raised_by_make(**kwargs) -> BaseException:
    with pytest.raises(Exception) as caught:
        gym.make("vlgym/GymCards-NumberLine-v0", **kwargs)
    return caught.value


def test_env_argument_errors_are_user_errors_but_bugs_are_not():
    refused = _raised_by_make(image_size=-5)
    assert user_error_message(refused) == ("vlgym/GymCards-NumberLine-v0: image_size must be at least 16x16, "
                                           "got -5x-5")
    assert "has no argument 'nope'" in user_error_message(_raised_by_make(nope=1))
    # A ValueError outside env construction, and a TypeError inside it that is not about a keyword, stay bugs.
    assert user_error_message(ValueError("image_size must be at least 16x16")) is None
    inner = _raised_by_make(image_size=None)
    assert isinstance(inner, TypeError) and user_error_message(inner) is None


def test_both_console_scripts_are_the_main_functions_these_tests_run():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert (scripts["vlgym"], scripts["vlgym-train"]) == ("vlgym.cli:main", "vlgym_agents.cli:main")
