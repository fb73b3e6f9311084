"""What this machine can run: one check per simulator family and rendering backend."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import gymnasium as gym
from PIL import Image

from vlgym.core.registration import env_entry, list_envs
from vlgym.extras import missing_modules


@dataclass
class Check:
    family: str
    ok: bool
    detail: str
    frame: str | None = None


def _missing(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _frame_check(family: str, env_id: str, out_dir: Path | None, **kwargs) -> Check:
    """Make ``env_id``, reset it, and save its first frame."""
    try:
        env = gym.make(env_id, **kwargs)
        try:
            obs, _ = env.reset(seed=0)
        finally:
            env.close()
    except Exception as error:  # doctor reports every failure instead of stopping at the first
        return Check(family, False, f"{env_id} failed: {type(error).__name__}: {error}")
    frame = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        frame = str(out_dir / f"{family}.png")
        Image.fromarray(obs["image"]).save(frame)
    return Check(family, True, f"{env_id} renders {obs['image'].shape[1]}x{obs['image'].shape[0]}", frame)


def check_cards(out_dir: Path | None) -> Check:
    return _frame_check("gym-cards", "vlgym/GymCards-Points24-v0", out_dir)


def check_gl_backends(out_dir: Path | None) -> Check:
    """Which headless OpenGL routes work here (MiniWorld needs one)."""
    if _missing("pyglet"):
        return Check("opengl", False, "pyglet not installed: pip install 'vlgym[miniworld]'")
    from vlgym.envs.miniworld.gl import DEBIAN_EGL, probe_egl

    works, detail = probe_egl()
    xvfb = shutil.which("Xvfb")
    routes = [f"EGL: {'ok, ' + detail if works else 'unavailable (' + detail + ')'}",
              f"Xvfb: {'found at ' + xvfb if xvfb else 'not installed'}"]
    if not works and not xvfb:
        routes.append(f"install Mesa EGL (apt-get install {DEBIAN_EGL}) or xvfb")
    return Check("opengl", works or bool(xvfb), "; ".join(routes))


def check_miniworld(out_dir: Path | None) -> Check:
    missing = missing_modules("miniworld")
    if missing:
        return Check("miniworld", False, f"not installed ({', '.join(missing)}): pip install 'vlgym[miniworld]'")
    check = _frame_check("miniworld", "vlgym/MiniWorld-FourRooms-v0", out_dir)
    if check.ok:
        check.detail += f" with the {os.environ.get('VLGYM_GL_BACKEND', '?')} backend"
    return check


def check_alfworld(out_dir: Path | None) -> Check:
    """Generate a game, load it in ALFWorld's engine (Fast Downward included), play its walkthrough, draw it."""
    missing = missing_modules("alfworld")
    if missing:
        return Check("alfworld", False, f"not installed ({', '.join(missing)}): pip install 'vlgym[alfworld]' "
                                        "(Fast Downward compiles from source: needs cmake and g++)")
    return _frame_check("alfworld", "vlgym/ALFWorld-v0", out_dir)


def check_webshop(out_dir: Path | None) -> Check:
    missing = missing_modules("webshop")
    if missing:
        return Check("webshop", False, f"python packages missing: {', '.join(missing)} (pip install 'vlgym[webshop]')")
    from vlgym.envs.webshop.browser import find_chromium

    browser, driver = find_chromium()
    if not browser or not driver:
        return Check("webshop", False, "chromium/chromedriver not found (Debian: apt-get install chromium "
                                       "chromium-driver); renderer='fast' works without them")
    check = _frame_check("webshop", "vlgym/WebShop-v0", out_dir, num_products=100)
    if check.ok:
        check.detail += f" through {browser} + {driver}"
    return check


def check_first_id(family: str, out_dir: Path | None) -> Check:
    """The check of a family without one of its own: make its first id and save a frame."""
    env_id = next(iter(list_envs(family)))
    check = _frame_check(family, env_id, out_dir)
    extra = env_entry(env_id).extra
    if not check.ok and extra:
        check.detail += f" (pip install 'vlgym[{extra}]')"
    return check


#: Checks of the families that need more than making their first id (extras, OpenGL, a browser).
FAMILY_CHECKS: dict[str, Callable[[Path | None], Check]] = {
    "cards": check_cards, "miniworld": check_miniworld, "alfworld": check_alfworld, "webshop": check_webshop}


def checks() -> list[Callable[[Path | None], Check]]:
    """The OpenGL check, then one check per registered family (a new family gets :func:`check_first_id`)."""
    families = dict.fromkeys(env_entry(env_id).family for env_id in list_envs())
    return [check_gl_backends, *(FAMILY_CHECKS.get(f) or partial(check_first_id, f) for f in families)]


def run_checks(out_dir: Path | None = None) -> list[Check]:
    return [check(out_dir) for check in checks()]
