"""Fixes for MiniWorld 2.1.0's GL handling that otherwise fail silently (see the docs' MiniWorld notes).

* **Shared display list.** Every MiniWorld env compiles its static scene into GL display list id 1, and
  pyglet shares GL objects between all contexts of a process, so env A renders env B's walls. Each env gets
  its own list id here.
* **Contexts bound to threads.** A GL context can be current in one thread only; stepping an env from
  another thread made ``eglMakeCurrent`` fail and MiniWorld return the previous frame without an error.
  :func:`gl_call` makes the env's context current for one reset/step and releases it afterwards, so any
  thread can step the env next.
* **Object sharing.** pyglet shares GL objects (MiniWorld's cached textures and meshes) with the context
  that is current when a window is made. :func:`share_group` makes pyglet's process-wide shadow window
  current first, so every env joins one group that outlives any single env (else a mesh cached by a closed
  env crashes the next one).
* **GL memory never freed.** ``close()`` released nothing (about 36 MB per make/close cycle at the default
  window size). :func:`release_gl` deletes the env's frame buffers, their attachments and its list.

The patches are applied once, on import of this module; ``constraints.txt`` pins the MiniWorld version they
were written for, and the tests exercise each of them.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from typing import Any

from vlgym.envs.miniworld.gl import ensure_headless_gl

ensure_headless_gl()  # before anything imports pyglet.gl

import miniworld.miniworld as mw  # noqa: E402
from pyglet import gl  # noqa: E402

_ACTIVE_LIST = [1]  # display list id that MiniWorld's hard-coded "1" stands for right now


def _own_list(env: Any) -> int:
    if getattr(env, "_vlgym_list_id", None) is None:
        env._vlgym_list_id = int(gl.glGenLists(1))
    return env._vlgym_list_id


def _with_own_list(method, switch: bool):
    def wrapper(self, *args, **kwargs):
        if switch:  # MiniWorld compiles the scene assuming its context is current; it may not be
            self.shadow_window.switch_to()
        _ACTIVE_LIST[0] = _own_list(self)
        return method(self, *args, **kwargs)

    wrapper.__wrapped__ = method
    return wrapper


def _patch() -> None:
    if getattr(mw, "_vlgym_patched", False):
        return
    new_list, call_list, delete_lists = mw.glNewList, mw.glCallList, mw.glDeleteLists
    mw.glNewList = lambda list_id, mode: new_list(_ACTIVE_LIST[0] if list_id == 1 else list_id, mode)
    mw.glCallList = lambda list_id: call_list(_ACTIVE_LIST[0] if list_id == 1 else list_id)
    mw.glDeleteLists = lambda list_id, n: delete_lists(_ACTIVE_LIST[0] if list_id == 1 else list_id, n)
    # _render_world runs inside render_obs/render_top_view, which make the context current themselves.
    for name, switch in (("_render_static", True), ("_render_world", False)):
        setattr(mw.MiniWorldEnv, name, _with_own_list(getattr(mw.MiniWorldEnv, name), switch))
    mw._vlgym_patched = True


def _release_current(context: Any) -> None:
    """Make no context current on this thread, so another thread may take ``context``."""
    if hasattr(context, "egl_context"):
        from pyglet.libs.egl import egl

        egl.eglMakeCurrent(context.display_connection, None, None, None)
    elif hasattr(context, "x_display"):
        from pyglet.gl import glx

        glx.glXMakeCurrent(context.x_display, 0, None)
    gl.current_context = None


def share_group() -> None:
    """Make pyglet's shadow window current, so that the next window's context shares its GL objects."""
    gl._shadow_window.switch_to()


def release_context(env: Any) -> None:
    """Release the raw MiniWorld ``env``'s context from this thread (after it was made or used here)."""
    _release_current(env.shadow_window.context)


@contextlib.contextmanager
def gl_call(env: Any) -> Iterator[None]:
    """Run one reset/step of the raw MiniWorld ``env`` with its context current, then release it from this
    thread (MiniWorld never lets go, which is what ties a context to one thread). Current from the start, not
    only for rendering: a reset also builds meshes (e.g. PickupObjects' balls) through pyglet."""
    env.shadow_window.switch_to()
    try:
        yield
    finally:
        _release_current(env.shadow_window.context)


def _delete_framebuffer(fbo: Any) -> None:
    """Delete a frame buffer and the texture/renderbuffers attached to it."""
    fbo_id = fbo.value if hasattr(fbo, "value") else int(fbo)
    gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, fbo_id)
    for attachment in (gl.GL_COLOR_ATTACHMENT0, gl.GL_DEPTH_ATTACHMENT):
        kind, name = gl.GLint(), gl.GLint()
        gl.glGetFramebufferAttachmentParameteriv(gl.GL_FRAMEBUFFER, attachment,
                                                 gl.GL_FRAMEBUFFER_ATTACHMENT_OBJECT_TYPE, ctypes.byref(kind))
        gl.glGetFramebufferAttachmentParameteriv(gl.GL_FRAMEBUFFER, attachment,
                                                 gl.GL_FRAMEBUFFER_ATTACHMENT_OBJECT_NAME, ctypes.byref(name))
        if kind.value == gl.GL_TEXTURE:
            gl.glDeleteTextures(1, ctypes.byref(gl.GLuint(name.value)))
        elif kind.value == gl.GL_RENDERBUFFER:
            gl.glDeleteRenderbuffers(1, ctypes.byref(gl.GLuint(name.value)))
    gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, 0)
    gl.glDeleteFramebuffers(1, ctypes.byref(gl.GLuint(fbo_id)))


def release_gl(env: Any) -> None:
    """Free the GL objects of a raw MiniWorld env and its hidden window; the env is unusable afterwards."""
    window = getattr(env, "shadow_window", None)
    if window is None:
        return
    window.switch_to()
    for buffer in (getattr(env, "obs_fb", None), getattr(env, "vis_fb", None)):
        if buffer is not None:
            for fbo in (buffer.multi_fbo, buffer.final_fbo):
                _delete_framebuffer(fbo)
    if getattr(env, "_vlgym_list_id", None):
        gl.glDeleteLists(env._vlgym_list_id, 1)
        env._vlgym_list_id = None
    _release_current(window.context)
    env.close()
    window.close()
    env.shadow_window = None


_patch()
