"""Headless OpenGL for MiniWorld, arranged before pyglet loads its GL bindings.

Order of preference:

1. ``egl``: pyglet's headless mode (EGL, Mesa llvmpipe on a CPU machine). No display, no X server.
2. ``xvfb``: a private virtual X server started for this process tree, when EGL cannot give a context.
3. ``x11``: the user's own ``DISPLAY``, only when asked for with ``VLGYM_GL_BACKEND=x11``.

The choice is made once per process tree: it is stored in ``VLGYM_GL_BACKEND`` (and ``DISPLAY`` for Xvfb),
which worker processes inherit, so they skip the probe. MiniWorld's own switch (``PYOPENGL_PLATFORM=egl``)
does not work: it is read after ``pyglet.gl`` has been imported, hence this module.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BACKENDS = ("egl", "xvfb", "x11")
DEBIAN_EGL = "libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libglu1-mesa"
_PROBE = (
    "import os; os.environ['PYGLET_HEADLESS'] = '1'; import pyglet; pyglet.options['headless'] = True; "
    "import pyglet.gl as gl, ctypes; w = pyglet.window.Window(width=1, height=1, visible=False); "
    "print(ctypes.cast(gl.glGetString(gl.GL_RENDERER), ctypes.c_char_p).value.decode())"
)


class HeadlessGLError(RuntimeError):
    """No way to get an OpenGL context on this machine (or in this process); the message says why."""


# Mesa's rendering threads do not survive fork(): a child forked after GL was loaded hangs on its first
# frame. Children remember that they were forked with GL loaded, and refuse with a clear error instead.
_FORKED_WITH_GL = False


def _after_fork_in_child() -> None:
    global _FORKED_WITH_GL
    _FORKED_WITH_GL = "pyglet.gl" in sys.modules


os.register_at_fork(after_in_child=_after_fork_in_child)


def probe_egl(timeout: float = 60.0) -> tuple[bool, str]:
    """Try pyglet's EGL headless mode in a subprocess; returns (works, renderer or error)."""
    try:
        result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, "PYGLET_HEADLESS": "1"})
    except subprocess.TimeoutExpired:
        return False, f"EGL probe timed out after {timeout:.0f} s"
    if result.returncode == 0 and result.stdout.strip():
        return True, result.stdout.strip().splitlines()[-1]
    error = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
    return False, error


def _start_xvfb() -> str:
    """Start a private Xvfb on a free display number; it is stopped when this process exits."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise HeadlessGLError("Xvfb is not installed")
    for number in range(110, 400):
        lock = Path(f"/tmp/.X{number}-lock")
        if lock.exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        process = subprocess.Popen([binary, f":{number}", "-screen", "0", "64x64x24", "-nolisten", "tcp"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            # ours only if its lock names our server: another process may have taken the number at the same time
            if Path(f"/tmp/.X11-unix/X{number}").exists() and _lock_holder(lock) == process.pid:
                atexit.register(process.terminate)
                return f":{number}"
            if process.poll() is not None:
                break
            time.sleep(0.05)
        process.terminate()
    raise HeadlessGLError("Xvfb did not start on any display from :110 to :399")


def _lock_holder(lock: Path) -> int | None:
    """The process id an X server wrote into its display lock file, if it is there yet."""
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def _preload_triton() -> None:
    """Load triton's native library before Mesa's, if triton is installed (it comes with CUDA builds of torch).

    Mesa's llvmpipe brings LLVM 15 into the process; triton's library, loaded after it, binds to those LLVM
    symbols and crashes the interpreter (a segfault on ``import triton``, e.g. when torch compiles anything
    later in a training process). Loaded first, both work. It costs ~0.1 s and does not import torch.
    """
    if "triton._C.libtriton" in sys.modules or importlib.util.find_spec("triton") is None:
        return
    with contextlib.suppress(Exception):  # a broken triton install should not stop rendering
        importlib.import_module("triton._C.libtriton")


def ensure_headless_gl() -> str:
    """Arrange a GL backend for pyglet (idempotent); returns its name. Call before importing miniworld."""
    if _FORKED_WITH_GL:
        raise HeadlessGLError(
            "this process was forked from one that had already loaded OpenGL, and Mesa cannot render after "
            "such a fork (it would hang). Start worker processes with 'forkserver' or 'spawn', e.g. "
            "gymnasium.vector.AsyncVectorEnv(..., context='forkserver') or vlgym.vector.make_vector_env(...)."
        )
    backend = os.environ.get("VLGYM_GL_BACKEND", "")
    if backend and backend not in BACKENDS:
        raise HeadlessGLError(f"VLGYM_GL_BACKEND must be one of {BACKENDS}, got {backend!r}")
    if "pyglet.gl" in sys.modules:  # GL is already loaded in this process: keep what it uses
        import pyglet

        backend = backend or ("egl" if pyglet.options["headless"] else "x11")
        os.environ["VLGYM_GL_BACKEND"] = backend
        return backend
    if not backend:
        works, detail = probe_egl()
        if works:
            backend = "egl"
        elif shutil.which("Xvfb"):
            backend = "xvfb"
        else:
            raise HeadlessGLError(
                f"MiniWorld needs OpenGL and none is available here. EGL failed ({detail}); "
                f"install Mesa's EGL (Debian: apt-get install {DEBIAN_EGL}) "
                "or a virtual X server (apt-get install xvfb), or set VLGYM_GL_BACKEND=x11 with a DISPLAY."
            )
    _preload_triton()
    if backend == "egl":
        os.environ["PYGLET_HEADLESS"] = "1"
    elif backend == "xvfb" and not os.environ.get("VLGYM_XVFB_DISPLAY"):
        display = _start_xvfb()
        os.environ["DISPLAY"] = os.environ["VLGYM_XVFB_DISPLAY"] = display
    elif backend == "x11" and not os.environ.get("DISPLAY"):
        raise HeadlessGLError("VLGYM_GL_BACKEND=x11 needs a DISPLAY")
    import pyglet

    pyglet.options["headless"] = backend == "egl"
    os.environ["VLGYM_GL_BACKEND"] = backend
    return backend
