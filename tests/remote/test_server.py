"""The env server on its own: OpenEnv's routes, limits, auth, idle sessions, crashes, hostile requests."""

from __future__ import annotations

import json
import time

import gymnasium as gym
import httpx
import numpy as np
import pytest
from remote_kit import assert_identical, running_server

import vlgym
from vlgym.remote.codec import decode
from vlgym.remote.server import Limits, make_server

NUMBERLINE = "vlgym/GymCards-NumberLine-v0"


def test_openenv_shape_plays_an_episode_like_the_local_env(server):
    assert server.get("/health").json()["status"] == "healthy"
    assert server.get("/envs").json() == vlgym.list_envs()
    assert set(server.get("/schema").json()) == {"action", "observation", "state"}
    local = gym.make(NUMBERLINE)
    reset = server.post("/reset", json={"env_id": NUMBERLINE, "seed": 4}).json()
    assert_identical(tuple(decode([reset["observation"], reset["info"]])), local.reset(seed=4))
    session = reset["session_id"]
    step = server.post("/step", json={"session_id": session, "action": "+"}).json()
    obs, reward, terminated, truncated, info = local.step("+")
    assert_identical(decode(step["observation"]), obs)
    assert_identical(decode(step["info"]), info)
    assert (step["reward"], step["terminated"], step["truncated"], step["done"]) == (
        reward, terminated, truncated, terminated or truncated)
    state = server.get("/state", params={"session_id": session}).json()
    assert state["step_count"] == 1 and state["seed"] == 4 and state["env_id"] == NUMBERLINE
    assert server.get("/metrics").json()["steps"] == 1
    assert httpx.delete(f"{server.url}/sessions/{session}").status_code == 200
    assert server.get("/sessions").json() == {"sessions": []}


def test_create_answers_spaces_and_summary(server):
    created = server.post("/sessions", json={"env_id": "vlgym/MiniWorld-OneRoom-v0",
                                             "kwargs": {"image_size": [60, 80]}})
    assert created.status_code == 201
    body = created.json()
    assert body["observation_space"]["spaces"]["image"]["shape"] == [60, 80, 3]
    assert body["action_space"]["type"] == "UnicodeText" and body["summary"] and body["max_episode_steps"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"env_id": "vlgym/Nope-v0"}, 404, "unknown_env"),
    ({"env_id": NUMBERLINE, "kwargs": {"no_such_argument": 1}}, 422, "cannot_make_env"),
    ({"env_id": NUMBERLINE, "kwargs": {"invalid_action_penalty": -3}}, 422, "cannot_make_env"),
    ({"env_id": NUMBERLINE, "kwargs": {"remote": "http://127.0.0.1:1"}}, 422, "forbidden_kwargs"),
    ({"env_id": NUMBERLINE, "kwargs": {"entry_point": "os:system"}}, 422, "forbidden_kwargs"),
    ({"env_id": NUMBERLINE, "image_format": "jpeg"}, 422, "invalid_request"),
    ({"env_id": NUMBERLINE, "extra": 1}, 422, "invalid_request"),
    ({"env_id": NUMBERLINE, "kwargs": {"x": {"__vlgym__": "pickle", "data": "gASV"}}}, 422, "invalid_kwargs"),
])
def test_bad_creates_are_4xx_with_a_json_error(server, body, status, code):
    response = server.post("/sessions", json=body)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert server.sessions.open == {}


def test_session_errors(server):
    session = server.post("/sessions", json={"env_id": NUMBERLINE}).json()["session_id"]
    before_reset = server.post(f"/sessions/{session}/step", json={"action": "+"})
    assert (before_reset.status_code, before_reset.json()["error"]) == (409, "reset_needed")
    assert server.post(f"/sessions/{session}/reset", json={"seed": -1}).status_code == 422
    assert server.post(f"/sessions/{session}/reset", content=b"{not json").status_code == 422
    assert server.post("/sessions/deadbeef/reset", json={}).json()["error"] == "unknown_session"
    assert server.get("/no/such/route").status_code == 404
    assert httpx.put(f"{server.url}/health").status_code == 405
    nested = {"action": json.loads("[" * 40 + "]" * 40)}
    assert server.post(f"/sessions/{session}/reset", json={}).status_code == 200
    assert server.post(f"/sessions/{session}/step", json=nested).json()["error"] == "invalid_action"


def test_request_size_and_session_limits():
    with running_server(Limits(max_sessions=2, max_request_bytes=10_000)) as server:
        big = server.post("/sessions", json={"env_id": NUMBERLINE, "kwargs": {"x": "y" * 20_000}})
        assert (big.status_code, big.json()["error"]) == (413, "request_too_large")
        chunked = server.post("/sessions", content=(b"x" * 1000 for _ in range(20)))  # no content-length
        assert chunked.status_code == 413
        for _ in range(2):
            assert server.post("/sessions", json={"env_id": NUMBERLINE}).status_code == 201
        third = server.post("/sessions", json={"env_id": NUMBERLINE})
        assert (third.status_code, third.json()["error"]) == (429, "too_many_sessions")


def test_idle_sessions_are_closed_and_their_envs_freed():
    with running_server(Limits(idle_timeout=0.4)) as server:
        session_id = server.post("/sessions", json={"env_id": NUMBERLINE}).json()["session_id"]
        session = server.sessions.open[session_id]
        deadline = time.monotonic() + 10
        while session_id in server.sessions.open and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_id not in server.sessions.open
        session.executor.shutdown(wait=True)
        assert session.env is None
        assert server.get("/metrics").json()["sessions_closed_idle"] == 1


def test_a_crashing_simulator_ends_its_session_and_the_server_goes_on(server):
    crashing = server.post("/reset", json={"env_id": NUMBERLINE, "seed": 0}).json()["session_id"]
    healthy = server.post("/reset", json={"env_id": NUMBERLINE, "seed": 0}).json()["session_id"]

    def fail(action):  # the simulator breaks inside a step
        raise MemoryError("renderer out of memory")

    server.sessions.open[crashing].env.unwrapped._game_step = fail
    response = server.post("/step", json={"session_id": crashing, "action": "+"})
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "simulator_crashed" and "MemoryError: renderer out of memory" in body["detail"]
    assert NUMBERLINE in body["detail"] and "Traceback" not in response.text
    assert crashing not in server.sessions.open
    assert server.post("/step", json={"session_id": healthy, "action": "+"}).status_code == 200
    assert server.get("/metrics").json()["simulator_crashes"] == 1


def test_a_token_guards_every_route_but_health():
    with running_server(token="s3cret") as server:
        assert server.get("/health").status_code == 200
        assert server.get("/envs").status_code == 401
        assert server.get("/envs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert server.get("/envs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        with pytest.raises(Exception, match="HTTP 401"):
            gym.make(NUMBERLINE, remote=server.url, remote_token="wrong")
        env = gym.make(NUMBERLINE, remote=server.url, remote_token="s3cret")
        assert env.reset(seed=0)[0]["image"].dtype == np.uint8
        env.close()


def test_binding_beyond_loopback_requires_a_token():
    with pytest.raises(ValueError, match="requires an auth token"):
        make_server("0.0.0.0", 0)
    assert make_server("0.0.0.0", 0, token="t").config.host == "0.0.0.0"


def test_an_idle_connection_does_not_hold_up_others(server):
    import socket

    with socket.create_connection(("127.0.0.1", server.port)) as idle:
        idle.sendall(b"POST /sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")  # and then nothing
        started = time.monotonic()
        assert server.get("/health", timeout=5).status_code == 200
        assert time.monotonic() - started < 5
