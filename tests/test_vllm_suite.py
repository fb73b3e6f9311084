"""The vLLM tests (tests_vllm/) run in their own virtual environment, .venv-vllm: vLLM pins a torch and a
transformers that differ from this one's (constraints-vllm.txt says why). scripts/test.sh builds it with
scripts/install_vllm.sh; this test runs that suite and fails when it fails."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_vllm_suite_passes_in_its_own_venv():
    python = ROOT / ".venv-vllm" / "bin" / "python"
    assert python.exists(), "no .venv-vllm: build it with `bash scripts/install_vllm.sh` (scripts/test.sh does)"
    result = subprocess.run([str(python), "-m", "pytest", "tests_vllm", "-q", "-p", "no:cacheprovider", "-x"],
                            cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
