"""The vLLM tests (tests_vllm/) run in their own virtual environment, .venv-vllm: vLLM pins a torch and a
transformers that differ from this one's (constraints-vllm.txt says why). scripts/test.sh builds it with
scripts/install_vllm.sh; this test runs that suite and fails when it fails."""

import contextlib
import subprocess
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]


def kill_tree(process: subprocess.Popen) -> None:
    """Kill ``process`` and everything it started, servers in sessions of their own included (a suite stopped
    midway, by a timeout or Ctrl-C, would otherwise leave its ``vllm serve`` running)."""
    try:  # listed while the parent lives: once it is dead they belong to init
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    for child in [*descendants, process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    process.wait()


@pytest.mark.timeout(1800)  # the whole suite; each of its own tests has the usual limit
def test_the_vllm_suite_passes_in_its_own_venv():
    python = ROOT / ".venv-vllm" / "bin" / "python"
    assert python.exists(), "no .venv-vllm: build it with `bash scripts/install_vllm.sh` (scripts/test.sh does)"
    process = subprocess.Popen([str(python), "-m", "pytest", "tests_vllm", "-q", "-p", "no:cacheprovider", "-x"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=1700)
    finally:
        kill_tree(process)
    assert process.returncode == 0, stdout[-8000:] + stderr[-4000:]
    assert " passed" in stdout and "skipped" not in stdout, stdout[-2000:]
