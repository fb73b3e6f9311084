"""No browser outlives the process that started it: SIGKILL, SIGTERM, a dead vector-env worker; and the
periodic browser restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest

from vlgym.envs.webshop import guard
from vlgym.vector import WorkerDiedError, make_vector_env

SMALL = {"num_products": 300, "image_size": (64, 64)}
HOLDER = f"""
import time
import gymnasium as gym
import vlgym
env = gym.make("vlgym/WebShop-v0", **{SMALL!r})
env.reset(seed=0)
browser = env.unwrapped._renderer._browser
print(browser.profile, browser.driver.service.process.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int, started: int | None) -> bool:
    """Whether process ``pid`` (started at ``started``) still runs; a zombie has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != b"Z" and int(fields[19]) == started


def browser_processes(profile: str, driver_pid: int) -> dict[int, int | None]:
    """Process id -> start time of chromedriver and every Chromium process of ``profile``."""
    pids = [driver_pid, *guard.profile_processes(profile)]
    return {pid: guard.start_time(pid) for pid in pids}


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return out


def browser_of_worker(worker: int) -> tuple[str, int]:
    """(profile, chromedriver pid) of the browser a vector-env worker started (its guard names the profile)."""
    profile = driver = None
    for pid in children(worker):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        if argv[-2:-1] and argv[-2].endswith(b"guard.py"):
            profile = argv[-1].decode()
        elif b"chromedriver" in argv[0]:
            driver = pid
    assert profile and driver, f"worker {worker} has no browser"
    return profile, driver


def left_after(processes: dict[int, int | None], profiles: list[str], limit_s: float = 5.0):
    """Processes still alive and profile folders still there, once all are gone or ``limit_s`` has passed."""
    deadline = time.monotonic() + limit_s
    while True:
        running = [pid for pid, started in processes.items() if alive(pid, started)]
        folders = [p for p in profiles if os.path.exists(p)]
        if not (running or folders) or time.monotonic() > deadline:
            return running, folders
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_process_leaves_no_browser(signum):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline().split()
        assert len(line) == 2, "the holder did not start its browser"
        profile, driver = line[0], int(line[1])
        processes = browser_processes(profile, driver)
        assert len(processes) >= 3 and all(alive(p, s) for p, s in processes.items())  # driver, browser, helpers
        scoped = str(Path(profile, "SingletonSocket").readlink().parent)  # a folder Chromium makes in its TMPDIR
        holder.send_signal(signum)
        holder.wait(timeout=10)
        assert left_after(processes, [profile, scoped]) == ([], [])
    finally:
        holder.kill()
        holder.wait()


def test_a_dead_vector_env_worker_leaves_no_browser_in_any_worker():
    envs = make_vector_env("vlgym/WebShop-v0", 2, env_kwargs=SMALL)
    try:
        envs.reset(seed=0)
        browsers = [browser_of_worker(p.pid) for p in envs.processes]
        processes = {k: v for profile, driver in browsers for k, v in browser_processes(profile, driver).items()}
        os.kill(envs.processes[0].pid, signal.SIGKILL)
        with pytest.raises(WorkerDiedError):  # the vector env then terminates the other worker (SIGTERM)
            envs.step(["click[back to search]"] * 2)
        assert left_after(processes, [profile for profile, _ in browsers]) == ([], [])
    finally:
        envs.close(terminate=True)


def test_the_browser_restarts_every_n_episodes():
    env = gym.make("vlgym/WebShop-v0", browser_restart_every=2, **SMALL)
    try:
        renderer = None
        firsts = []
        for seed in range(5):
            obs, _ = env.reset(seed=seed)
            renderer = env.unwrapped._renderer
            firsts.append(renderer._browser.profile)
            env.step(env.unwrapped.expert_action())
        assert renderer.starts == 3  # episodes 1-2, 3-4, 5
        assert len(set(firsts)) == 3
        assert not any(os.path.exists(p) for p in set(firsts) - {firsts[-1]})  # old browsers are gone
        same = gym.make("vlgym/WebShop-v0", **SMALL)
        try:
            again, _ = same.reset(seed=4)
            assert (again["image"] == obs["image"]).all() and again["text"] == obs["text"]
        finally:
            same.close()
    finally:
        env.close()
