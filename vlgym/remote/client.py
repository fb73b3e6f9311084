"""A gymnasium env whose simulator runs in a ``vlgym serve`` server: ``gym.make(id, remote=URL_or_URLs)``.

The client holds one session on one server. Calls that can be repeated safely (making the session, reset)
are retried; when a server stops answering, the client moves to the next URL of its list and replays the
episode so far there (the reset with its seed, then every action since), so the env goes on from the same
state: envs are deterministic given the seed and the actions. When no server answers it raises
:class:`ServerLostError`, which names the env id, the seed and the servers, and which vector envs and the
trainer's collector treat like a dead worker process.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import httpx

from vlgym.remote import TOKEN_ENV
from vlgym.remote.codec import DecodeError, ImageFormat, build_space, encode, unpack
from vlgym.workers import WorkerDiedError


class ServerLostError(WorkerDiedError, ConnectionResetError):
    """No server of the list answers: to a vector env and the collector, this is a dead worker."""


class RemoteEnvError(RuntimeError):
    """A server answered with an error (the message carries its code and detail)."""


class RemoteEnv(gym.Env[dict, str]):
    """A vlgym env served by ``vlgym serve``; made by ``gym.make(env_id, remote=...)``.

    Args:
        env_id: the registered id to run on the server.
        remote: a server URL (``"http://127.0.0.1:8765"``) or a list of them, tried in order.
        remote_token: the server's auth token (default: the ``VLGYM_TOKEN`` environment variable).
        remote_timeout: seconds to wait for one answer (a step of a slow simulator included).
        remote_retries: attempts per server for a call that can be repeated, before moving to the next.
        remote_wait: seconds to keep trying the list when no server answers (a restarted server is found),
            before :class:`ServerLostError`.
        image_format: ``"png"`` (lossless, default) or ``"raw"`` (bytes as they are: faster, larger).
        **kwargs: the ``gym.make`` arguments of the env itself, sent to the server.

    With ``vlgym serve`` running, ``gym.make("vlgym/GymCards-NumberLine-v0", remote="http://127.0.0.1:8765")``
    plays NumberLine there. Without a server, the error says what was tried:

    >>> import gymnasium as gym, vlgym
    >>> gym.make("vlgym/GymCards-NumberLine-v0", remote="http://127.0.0.1:9", remote_wait=0)
    Traceback (most recent call last):
    ...
    vlgym.remote.client.ServerLostError: no vlgym server answered for vlgym/GymCards-NumberLine-v0 ...
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012 (gymnasium's convention)

    def __init__(self, env_id: str, remote: str | Sequence[str], *, remote_token: str | None = None,
                 remote_timeout: float = 120.0, remote_retries: int = 3, remote_wait: float = 10.0,
                 image_format: ImageFormat = "png",
                 **kwargs: Any):
        self.env_id = env_id
        self.urls = [remote] if isinstance(remote, str) else list(remote)
        if not self.urls:
            raise ValueError("remote needs at least one server URL")
        self.kwargs = kwargs
        self.render_mode = kwargs.get("render_mode")
        self.image_format = image_format
        self.retries, self.wait = max(1, remote_retries), remote_wait
        token = remote_token if remote_token is not None else os.environ.get(TOKEN_ENV)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(remote_timeout, connect=5.0))
        #: Steps after which the server's env truncates; ShareTimeLimit sets it as for a local vlgym env.
        self.max_episode_steps: int | None = None
        self._server = -1  # index in self.urls of the server holding the session
        self._session: str | None = None
        self._trace: list[tuple[str, Any]] = []  # the episode's calls (reset first), replayed on another server
        self._last_obs: dict | None = None
        self._seed: int | None = None
        try:
            description = self._open_session(start=0)
        except ServerLostError:
            self._http.close()
            raise
        self.observation_space = build_space(description["observation_space"])
        self.action_space = build_space(description["action_space"])

    # ---------------------------------------------------------------------------------------- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        body = {"seed": seed, "options": encode(options), "max_episode_steps": self.max_episode_steps}
        self._trace, self._seed = [("reset", body)], seed
        answer = self._call("reset", body)
        self._last_obs = answer["observation"]
        return self._last_obs, answer["info"]

    def step(self, action: Any):
        body = {"action": encode(action)}
        self._trace.append(("step", body))
        answer = self._call("step", body)
        self._last_obs = answer["observation"]
        return self._last_obs, answer["reward"], answer["terminated"], answer["truncated"], answer["info"]

    def render(self):
        if self.render_mode == "rgb_array" and self._last_obs is not None:
            return self._last_obs["image"]
        return None

    def expert_action(self) -> str:
        """The served env's expert action for the current state."""
        return self._call("expert", None)["action"]

    def close(self) -> None:
        if self._session is not None:
            # A server that is gone frees the session itself (idle timeout) if it comes back.
            with contextlib.suppress(httpx.HTTPError):
                self._http.delete(f"{self.urls[self._server]}/sessions/{self._session}", timeout=2.0)
            self._session = None
        self._http.close()
        super().close()

    # ------------------------------------------------------------------------------------------------ wire
    @property
    def server(self) -> str | None:
        """The URL of the server holding the session."""
        return self.urls[self._server] if self._session is not None else None

    def _call(self, method: str, body: dict | None) -> dict:
        """A call on the session; a lost server moves the session to the next one, which replays the trace."""
        try:
            return self._request("POST", f"{self.urls[self._server]}/sessions/{self._session}/{method}", body,
                                 retry=method != "step")
        except (httpx.TransportError, _SessionGone) as error:
            lost = f"{self.urls[self._server]} ({_reason(error)})"
        self._open_session(start=self._server + 1, lost=[lost])  # the lost server is tried last
        answer = None
        for call, recorded in self._trace:  # ends with this call (step/reset); expert is not recorded
            answer = self._request("POST", f"{self.urls[self._server]}/sessions/{self._session}/{call}", recorded)
        if method == "expert":
            answer = self._request("POST", f"{self.urls[self._server]}/sessions/{self._session}/expert", None)
        return answer

    def _open_session(self, start: int, lost: Sequence[str] = ()) -> dict:
        """Make the session on the first server from ``start`` on (wrapping around) that answers."""
        self._session = None
        order = [(start + k) % len(self.urls) for k in range(len(self.urls))]
        deadline = time.monotonic() + self.wait
        while True:
            failures = list(lost)
            for index in order:
                url = self.urls[index]
                try:
                    description = self._request("POST", f"{url}/sessions", {
                        "env_id": self.env_id, "kwargs": encode(self.kwargs), "image_format": self.image_format})
                except (httpx.TransportError, _SessionGone) as error:
                    failures.append(f"{url} ({_reason(error)})")
                    continue
                self._server, self._session = index, description["session_id"]
                return description
            if time.monotonic() >= deadline:
                raise ServerLostError(f"no vlgym server answered for {self.env_id} (episode seed {self._seed}) "
                                      f"within {self.wait:g} s: " + "; ".join(failures))
            time.sleep(0.25)

    def _request(self, verb: str, url: str, body: dict | None, *, retry: bool = True) -> dict:
        attempts = self.retries if retry else 1
        for attempt in range(attempts):
            try:
                response = self._http.request(verb, url, json=body)
                break
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1 * 2**attempt)
        try:
            answer = unpack(response.content, response.headers.get("content-type", ""))
        except (json.JSONDecodeError, DecodeError, UnicodeDecodeError) as error:
            answer = {"error": "unreadable_answer", "detail": f"{error}: {response.text[:200]!r}"}
        if response.status_code == 404 and answer.get("error") == "unknown_session":
            raise _SessionGone(answer["detail"])  # e.g. closed for idling: the episode moves to a new session
        if response.is_error:
            if response.status_code == 409 and answer.get("error") == "reset_needed":
                raise gym.error.ResetNeeded(answer.get("detail"))
            raise RemoteEnvError(f"{self.env_id} on {url} (episode seed {self._seed}): HTTP {response.status_code} "
                                 f"{answer.get('error')}: {answer.get('detail')}")
        return answer


class _SessionGone(Exception):
    """The server no longer knows the session."""


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
