"""``vlgym serve`` as a user runs it: a process that serves gym.make(id, remote=URL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import httpx
import pytest
from testkit import free_port
from typer.testing import CliRunner

from vlgym.cli import app


def test_serve_runs_a_server_that_gym_make_talks_to():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "vlgym.cli", "serve", "--port", str(port)],
                               env={**os.environ, "VLGYM_TOKEN": ""}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"vlgym serve did not come up: {process.stdout.read().decode()}")
                time.sleep(0.2)
        env = gym.make("vlgym/GymCards-Blackjack-v0", remote=url)
        obs, info = env.reset(seed=0)
        assert obs["image"].shape == env.observation_space["image"].shape and info["available_actions"]
        env.close()
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode in (0, 128 + signal.SIGINT, -signal.SIGINT)  # uvicorn re-raises the interrupt
    assert "Traceback" not in output


def test_serve_refuses_a_public_interface_without_a_token(monkeypatch):
    monkeypatch.delenv("VLGYM_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "requires an auth token" in result.output
