"""The env server behind ``vlgym serve``: sessions of any registered vlgym id over HTTP (FastAPI + uvicorn).

A session is one ``gym.make`` env owned by one thread: every call to it runs on that thread (OpenGL contexts
and browsers belong to the thread that made them) and calls to one session never overlap, while sessions run
side by side. MiniWorld's sessions share one thread: pyglet keeps the current GL context in a global, so
rendering from two threads at once breaks (run several servers to render in parallel). ALFWorld's sessions take
turns for each engine call (its engine's state is process-wide: ``vlgym.envs.alfworld.engine``).

The routes (JSON in and out; see docs/remote.md):

* ``POST /sessions`` ``{"env_id", "kwargs", "image_format"}``: make an env; answers its spaces and summary.
* ``POST /sessions/{id}/reset`` ``{"seed", "options", "max_episode_steps"}``, ``POST /sessions/{id}/step``
  ``{"action"}``, ``GET /sessions/{id}/state``, ``POST /sessions/{id}/expert``, ``DELETE /sessions/{id}``.
* OpenEnv's shape: ``POST /reset`` (makes a session when none is named), ``POST /step``, ``GET /state``,
  ``GET /schema``, ``GET /health``; and ``GET /envs``, ``GET /sessions``, ``GET /metrics``.

Safety: every malformed, oversized or unauthorised request gets a 4xx with ``{"error", "detail"}``; an env
that raises ends its own session with a 500 naming the cause (``simulator_crashed``), and the server goes on.
Sessions idle longer than ``idle_timeout`` are closed and their simulators freed. Binding anything but the
loopback interface requires a token, checked in constant time on every route but ``/health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any

import gymnasium as gym
from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import vlgym
from vlgym.core.registration import env_family
from vlgym.remote import TOKEN_ENV
from vlgym.remote.codec import DecodeError, ImageFormat, decode, describe_space, dumps, pack

log = logging.getLogger(__name__)

#: ``gym.make`` arguments a client may not pass: they would load code or wrap the env on the server.
_FORBIDDEN_KWARGS = frozenset({"remote", "entry_point", "apply_api_compatibility", "additional_wrappers"})
_MAX_SEED = 2**63 - 1
#: Families whose sessions all run on one thread per server (see the module docstring).
ONE_THREAD_FAMILIES = frozenset({"miniworld"})


@dataclass(frozen=True)
class Limits:
    """How much one server hands out."""

    max_sessions: int = 64
    idle_timeout: float = 600.0  # seconds without a call after which a session is closed
    max_request_bytes: int = 4 * 1024 * 1024


class ApiError(Exception):
    """An error answered as ``{"error": code, "detail": detail}`` with HTTP ``status``."""

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


# ------------------------------------------------------------------------------------------------ requests
class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateRequest(_Request):
    env_id: str = Field(max_length=200)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    image_format: ImageFormat = "png"


class ResetRequest(_Request):
    seed: int | None = Field(None, ge=0, le=_MAX_SEED)
    options: dict[str, Any] | None = None
    max_episode_steps: int | None = Field(None, ge=1, le=10**7)


class StepRequest(_Request):
    action: Any


class OpenEnvReset(ResetRequest):
    """``POST /reset``: resets the named session, or makes one of ``env_id`` first."""

    session_id: str | None = Field(None, max_length=64)
    env_id: str | None = Field(None, max_length=200)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    image_format: ImageFormat = "png"


class OpenEnvStep(StepRequest):
    session_id: str = Field(max_length=64)


# ------------------------------------------------------------------------------------------------ sessions
@dataclass(eq=False)
class Session:
    """One env and the one thread that runs it."""

    id: str
    env_id: str
    image_format: ImageFormat
    executor: ThreadPoolExecutor
    owns_executor: bool = True  # False: the family's shared thread, which outlives the session
    env: gym.Env | None = None
    last_used: float = field(default_factory=time.monotonic)
    busy: int = 0
    seed: int | None = None
    steps: int = 0  # since the last reset
    episode_over: bool = True

    closed: bool = False

    async def run(self, call, *args):
        if self.closed:
            raise ApiError(404, "unknown_session", f"session {self.id} was closed")
        self.busy += 1
        try:
            try:
                future = asyncio.get_running_loop().run_in_executor(self.executor, call, *args)
            except RuntimeError:  # closed by another request meanwhile: its executor takes no more calls
                raise ApiError(404, "unknown_session", f"session {self.id} was closed") from None
            return await future
        finally:
            self.busy -= 1
            self.last_used = time.monotonic()

    def close(self) -> None:
        """Close the env on its own thread, then stop the thread (without waiting for a call in flight)."""
        def close_env():
            if self.env is not None:
                with contextlib.suppress(Exception):
                    self.env.close()
                self.env = None
        self.executor.submit(close_env)
        if self.owns_executor:
            self.executor.shutdown(wait=False)


class Sessions:
    """The open sessions, the limits on them, and the counters ``/metrics`` shows."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.open: dict[str, Session] = {}
        self.metrics: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._family_threads: dict[str, ThreadPoolExecutor] = {}

    def get(self, session_id: str) -> Session:
        session = self.open.get(session_id)
        if session is None:
            raise ApiError(404, "unknown_session", f"no open session {session_id!r} (closed, idle too long, or "
                                                   "never made)")
        return session

    async def create(self, request: CreateRequest) -> tuple[Session, dict]:
        if request.env_id not in vlgym.list_envs():
            raise ApiError(404, "unknown_env", f"{request.env_id!r} is not a registered vlgym id (see GET /envs)")
        forbidden = sorted(_FORBIDDEN_KWARGS & request.kwargs.keys())
        if forbidden:
            raise ApiError(422, "forbidden_kwargs", f"these gym.make arguments cannot be sent: {forbidden}")
        try:
            kwargs = decode(request.kwargs)
        except DecodeError as error:
            raise ApiError(422, "invalid_kwargs", str(error)) from None
        with self._lock:
            if len(self.open) >= self.limits.max_sessions:
                self.metrics["refused_sessions"] += 1
                raise ApiError(429, "too_many_sessions", f"this server holds at most {self.limits.max_sessions} "
                                                         "sessions; close one or try another server")
            session_id = secrets.token_hex(8)
            family = env_family(request.env_id)
            if family in ONE_THREAD_FAMILIES:
                executor = self._family_threads.setdefault(
                    family, ThreadPoolExecutor(1, thread_name_prefix=f"vlgym-{family}"))
                session = Session(session_id, request.env_id, request.image_format, executor, owns_executor=False)
            else:
                session = Session(session_id, request.env_id, request.image_format,
                                  ThreadPoolExecutor(1, thread_name_prefix=f"vlgym-session-{session_id}"))
            self.open[session_id] = session
        try:
            description = await session.run(self._make, session, kwargs)
        except Exception as error:
            self.drop(session)
            raise ApiError(422, "cannot_make_env", f"gym.make({request.env_id!r}, ...) failed: "
                                                   f"{type(error).__name__}: {error}") from None
        self.metrics["sessions_created"] += 1
        return session, description

    @staticmethod
    def _make(session: Session, kwargs: dict) -> dict:
        env = session.env = gym.make(session.env_id, **kwargs)
        doc = (type(env.unwrapped).__doc__ or "").strip()
        return {"session_id": session.id, "env_id": session.env_id, "image_format": session.image_format,
                "observation_space": describe_space(env.observation_space),
                "action_space": describe_space(env.action_space),
                "max_episode_steps": env.spec.max_episode_steps if env.spec else None,
                "description": vlgym.list_envs().get(session.env_id, ""),
                "summary": doc.split("\n\n")[0]}

    def drop(self, session: Session) -> None:
        with self._lock:
            self.open.pop(session.id, None)
            if session.closed:  # two requests closed it at once
                return
            session.closed = True
        session.close()

    async def call(self, session: Session, method: str, *args) -> Response:
        """Run ``method`` of the session's env on its thread; a crash ends the session with a 500."""
        try:
            body, media_type = await session.run(getattr(self, f"_{method}"), session, *args)
        except gym.error.ResetNeeded as error:
            raise ApiError(409, "reset_needed", str(error)) from None
        except ApiError:
            raise
        except Exception as error:
            self.metrics["simulator_crashes"] += 1
            self.drop(session)
            log.warning("session %s (%s) crashed in %s: %r", session.id, session.env_id, method, error)
            raise ApiError(500, "simulator_crashed",
                           f"{session.env_id} (session {session.id}, seed {session.seed}, step {session.steps}) "
                           f"raised {type(error).__name__}: {error}; the session is closed") from None
        self.metrics[f"{method}s"] += 1
        return Response(body, media_type=media_type)

    @staticmethod
    def _reset(session: Session, seed: int | None, options: dict | None,
               max_episode_steps: int | None) -> tuple[bytes, str]:
        env = session.env
        if max_episode_steps is not None:
            _set_time_limit(env, max_episode_steps)
        obs, info = env.reset(seed=seed, options=options)
        session.seed, session.steps, session.episode_over = seed, 0, False
        return pack({"session_id": session.id, "observation": obs, "info": info, "reward": 0.0, "done": False},
                    session.image_format)

    @staticmethod
    def _step(session: Session, action: Any) -> tuple[bytes, str]:
        obs, reward, terminated, truncated, info = session.env.step(action)
        session.steps += 1
        session.episode_over = bool(terminated or truncated)
        return pack({"observation": obs, "reward": reward, "terminated": terminated, "truncated": truncated,
                     "done": session.episode_over, "info": info}, session.image_format)

    @staticmethod
    def _expert(session: Session) -> tuple[bytes, str]:
        return pack({"action": session.env.unwrapped.expert_action()}, "png")

    def state(self, session: Session) -> dict:
        return {"session_id": session.id, "env_id": session.env_id, "seed": session.seed,
                "step_count": session.steps, "episode_over": session.episode_over,
                "idle_seconds": round(time.monotonic() - session.last_used, 3)}

    def close_idle(self) -> int:
        now = time.monotonic()
        idle = [s for s in list(self.open.values())
                if not s.busy and now - s.last_used > self.limits.idle_timeout]
        for session in idle:
            log.info("closing session %s (%s): idle for %.0f s", session.id, session.env_id, now - session.last_used)
            self.drop(session)
        self.metrics["sessions_closed_idle"] += len(idle)
        return len(idle)

    def close_all(self) -> None:
        for session in list(self.open.values()):
            self.drop(session)
        for executor in self._family_threads.values():
            executor.shutdown(wait=False)


def _set_time_limit(env: gym.Env, steps: int) -> None:
    """The client's ``max_episode_steps``, where ``gym.make`` put it: the ``TimeLimit`` and the vlgym env."""
    layer = env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, gym.wrappers.TimeLimit):
            layer._max_episode_steps = steps
        layer = layer.env
    if hasattr(env.unwrapped, "max_episode_steps"):
        env.unwrapped.max_episode_steps = steps


def _decode_or_422(value: Any, what: str) -> Any:
    try:
        return decode(value)
    except DecodeError as error:
        raise ApiError(422, f"invalid_{what}", str(error)) from None


# ----------------------------------------------------------------------------------------------- the guard
class _BodyTooLarge(StarletteHTTPException):
    """Raised while the body is read, as an HTTP error, so that FastAPI's body parsing passes it on."""

    def __init__(self, limit: int):
        super().__init__(413, f"requests are limited to {limit} bytes")


class Guard:
    """ASGI middleware: the token check and the request size limit, before any route sees the request."""

    def __init__(self, app, *, token: str | None, max_request_bytes: int):
        self.app = app
        self.token = None if token is None else f"Bearer {token}".encode()
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if self.token is not None and scope["path"] != "/health" and not hmac.compare_digest(
                headers.get(b"authorization", b""), self.token):
            return await _send_error(send, 401, "unauthorised", "missing or wrong 'Authorization: Bearer <token>'")
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_request_bytes):
            return await _send_error(send, 413, "request_too_large",
                                     f"requests are limited to {self.max_request_bytes} bytes")
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_request_bytes:  # a chunked body that says no length up front
                raise _BodyTooLarge(self.max_request_bytes)
            return message

        await self.app(scope, limited_receive, send)


async def _send_error(send, status: int, code: str, detail: str) -> None:
    body = dumps({"error": code, "detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ----------------------------------------------------------------------------------------------------- app
def create_app(limits: Limits = Limits(), *, token: str | None = None) -> FastAPI:
    """The FastAPI app of an env server (``vlgym serve`` runs it with uvicorn).

    >>> app = create_app(Limits(max_sessions=4))
    >>> sorted({r.path for r in app.routes} & {"/reset", "/step", "/state", "/health", "/schema"})
    ['/health', '/reset', '/schema', '/state', '/step']
    """
    sessions = Sessions(limits)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async def reap():
            while True:
                await asyncio.sleep(min(5.0, limits.idle_timeout / 4))
                sessions.close_idle()
        reaper = asyncio.create_task(reap())
        try:
            yield
        finally:
            reaper.cancel()
            sessions.close_all()

    app = FastAPI(title="vlgym env server", version=vlgym.__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sessions = sessions

    def error_response(status: int, code: str, detail: Any) -> JSONResponse:
        sessions.metrics[f"errors_{status}"] += 1
        return JSONResponse({"error": code, "detail": detail}, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(_request, error: ApiError):
        return error_response(error.status, error.code, error.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request, error: RequestValidationError):
        problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200]}
                    for e in error.errors()[:10]]
        return error_response(422, "invalid_request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, error: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(error.status_code,
                                                                                           "http_error")
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def internal(_request, error: Exception):  # a bug of the server: say so without a traceback
        log.exception("internal error", exc_info=error)
        return error_response(500, "internal_error", type(error).__name__)

    # -- sessions -----------------------------------------------------------------------------------------
    @app.post("/sessions", status_code=201)
    async def create(request: CreateRequest):
        return (await sessions.create(request))[1]

    @app.get("/sessions")
    async def list_sessions():
        return {"sessions": [sessions.state(s) for s in list(sessions.open.values())]}

    @app.post("/sessions/{session_id}/reset")
    async def reset(session_id: str, request: ResetRequest):
        session = sessions.get(session_id)
        options = _decode_or_422(request.options, "options")
        return await sessions.call(session, "reset", request.seed, options, request.max_episode_steps)

    @app.post("/sessions/{session_id}/step")
    async def step(session_id: str, request: StepRequest):
        session = sessions.get(session_id)
        return await sessions.call(session, "step", _decode_or_422(request.action, "action"))

    @app.get("/sessions/{session_id}/state")
    async def state(session_id: str):
        return sessions.state(sessions.get(session_id))

    @app.post("/sessions/{session_id}/expert")
    async def expert(session_id: str):
        return await sessions.call(sessions.get(session_id), "expert")

    @app.delete("/sessions/{session_id}")
    async def close(session_id: str):
        sessions.drop(sessions.get(session_id))
        sessions.metrics["sessions_closed"] += 1
        return {"closed": session_id}

    # -- OpenEnv's shape ----------------------------------------------------------------------------------
    @app.post("/reset")
    async def openenv_reset(request: OpenEnvReset):
        if request.session_id is not None:
            session = sessions.get(request.session_id)
        elif request.env_id is not None:
            session = (await sessions.create(CreateRequest(env_id=request.env_id, kwargs=request.kwargs,
                                                           image_format=request.image_format)))[0]
        else:
            raise ApiError(422, "invalid_request", "give a session_id, or an env_id to make a session")
        return await sessions.call(session, "reset", request.seed, _decode_or_422(request.options, "options"),
                                   request.max_episode_steps)

    @app.post("/step")
    async def openenv_step(request: OpenEnvStep):
        session = sessions.get(request.session_id)
        return await sessions.call(session, "step", _decode_or_422(request.action, "action"))

    @app.get("/state")
    async def openenv_state(session_id: Annotated[str, Query(max_length=64)]):
        return sessions.state(sessions.get(session_id))

    @app.get("/schema")
    async def schema():
        image = {"type": "object", "description": "an image: {'__vlgym__': 'ndarray', 'format': 'png'|'raw', "
                 "'dtype': '|u1', 'shape': [H, W, 3], 'data': base64}"}
        return {"action": {"type": "string", "description": "the action text (model output is fine)"},
                "observation": {"type": "object", "properties": {"image": image, "text": {"type": "string"}}},
                "state": {"type": "object", "properties": {k: {} for k in (
                    "session_id", "env_id", "seed", "step_count", "episode_over", "idle_seconds")}}}

    # -- the server -----------------------------------------------------------------------------------------
    @app.get("/health")
    async def health():
        return {"status": "healthy", "sessions": len(sessions.open)}

    @app.get("/envs")
    async def envs():
        return vlgym.list_envs()

    @app.get("/metrics")
    async def metrics():
        return {"sessions_open": len(sessions.open), **sessions.metrics}

    app.add_middleware(Guard, token=token, max_request_bytes=limits.max_request_bytes)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(host: str = "127.0.0.1", port: int = 8765, *, token: str | None = None,
                limits: Limits = Limits(), log_level: str = "warning"):
    """A uvicorn server for :func:`create_app`; ``server.run()`` serves until stopped.

    Binding anything but loopback requires ``token``. Idle keep-alive connections are dropped after 30 s, and
    every connection is served on its own, so a slow or idle client never holds up the others.
    """
    import uvicorn

    if not is_loopback(host) and not token:
        raise ValueError(f"binding {host} (not loopback) requires an auth token")
    config = uvicorn.Config(create_app(limits, token=token), host=host, port=port, log_level=log_level,
                            timeout_keep_alive=30, limit_concurrency=4 * limits.max_sessions + 16,
                            h11_max_incomplete_event_size=64 * 1024, access_log=False)
    return uvicorn.Server(config)


def serve(host: str = "127.0.0.1", port: int = 8765, *, limits: Limits = Limits(), log_level: str = "info") -> None:
    """Serve until interrupted; the token (required off loopback) comes from the ``VLGYM_TOKEN`` variable."""
    make_server(host, port, token=os.environ.get(TOKEN_ENV) or None, limits=limits, log_level=log_level).run()
