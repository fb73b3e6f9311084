"""A browser's guard: when the process that started a browser is gone, however it went, the browser goes too.

Every browser of :mod:`vlgym.envs.webshop.browser` gets a guard process, started before the browser:
``python -I guard.py <profile>``, in a session of its own (a Ctrl-C or a kill of the renderer's process group
does not reach it), reading a pipe whose only write end the renderer's process holds. The renderer writes
chromedriver's process id into it. End of file on that pipe means the renderer's process closed the browser
or died (SIGKILL, SIGTERM, the OOM killer): the guard then kills chromedriver (checked by its start time, so
a reused process id is never hit) and every process started with the profile folder (Chromium and its
helpers), removes the folder, and exits. It imports nothing but the standard library, so it starts
in milliseconds and holds a few MB.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time


def start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def profile_processes(profile: str) -> list[int]:
    """Live Chromium processes of ``profile`` (zombies have no command line, so they are not counted); the
    helpers without the flag (crash reporter, network service) end with their browser."""
    marker = os.fsencode(f"--user-data-dir={profile}")
    found = []
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if marker in f.read():
                        found.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
    return found


def kill_profile_processes(profile: str, wait_s: float = 2.0) -> None:
    """SIGKILL every process of ``profile`` and wait (up to ``wait_s``) until none is left."""
    deadline = time.monotonic() + wait_s
    while pids := profile_processes(profile):
        for pid in pids:
            with contextlib.suppress(OSError):  # gone meanwhile
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)


def clean_up(profile: str, drivers: list[tuple[int, int]]) -> None:
    """Kill the drivers (``(pid, start time)`` pairs) and the profile's processes; remove the profile folder."""
    for pid, started in drivers:
        if start_time(pid) == started:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    kill_profile_processes(profile)
    shutil.rmtree(profile, ignore_errors=True)


def main(profile: str) -> None:
    drivers: list[tuple[int, int]] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # asked to stop: still clean up first
    try:
        for line in sys.stdin:  # until the renderer's process closes the pipe or dies
            pid = int(line)
            started = start_time(pid)
            if started is not None:
                drivers.append((pid, started))
    finally:
        clean_up(profile, drivers)


if __name__ == "__main__":
    main(sys.argv[1])
