"""Headless GL set-up: EGL by default, Xvfb as the fallback, a clear error when neither is possible."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

RENDER = (
    "import gymnasium as gym, vlgym, os\n"
    "env = gym.make('vlgym/MiniWorld-OneRoom-v0', image_size=(60, 80))\n"
    "obs, _ = env.reset(seed=0)\n"
    "print(os.environ['VLGYM_GL_BACKEND'], obs['image'].std() > 5)\n"
)


def run(env: dict[str, str], code: str = RENDER) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("VLGYM_GL_BACKEND", "PYGLET_HEADLESS", "DISPLAY")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=150,
                          env={**clean, **env})


def test_egl_is_chosen_by_default_without_a_display():
    result = run({})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["egl", "True"]


@pytest.mark.parametrize("broken", [{"__EGL_VENDOR_LIBRARY_FILENAMES": "/nonexistent"}])
def test_xvfb_takes_over_when_egl_is_unavailable(broken):
    result = run(broken)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["xvfb", "True"]


def test_neither_backend_is_a_clear_error(tmp_path):
    # No EGL vendor and no Xvfb on PATH: the error says what to install.
    result = run({"__EGL_VENDOR_LIBRARY_FILENAMES": "/nonexistent", "PATH": str(tmp_path)})
    assert result.returncode != 0
    assert "HeadlessGLError" in result.stderr
    assert "apt-get install" in result.stderr and "xvfb" in result.stderr


def test_torch_stack_still_loads_after_rendering():
    # Mesa's LLVM and triton's (CUDA builds of torch ship triton) clash when Mesa loads first; the adapter
    # loads triton's library first when it is installed.
    code = RENDER + (
        "import importlib.util\nassert importlib.util.find_spec('triton')\nimport triton._C.libtriton\nprint('ok')\n"
    )
    result = run({}, code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "ok"
