"""Hostile requests: a fixed corpus of 300 malformed, oversized and unauthorised requests."""

from __future__ import annotations

import json
import random
from collections import Counter

import httpx
from remote_kit import running_server

from vlgym.remote.server import Limits

NUMBERLINE = "vlgym/GymCards-NumberLine-v0"
PATHS = ["/sessions", "/reset", "/step", "/state", "/sessions/{sid}/reset", "/sessions/{sid}/step",
         "/sessions/{sid}/expert", "/sessions/{sid}/state", "/sessions/{sid}", "/sessions/../../etc/passwd",
         "/metrics", "/schema", "/envs", "/%00", "/sessions/" + "a" * 5000]
VALUES = [None, True, -1, 2**70, 1e308, "", "x" * 3000, "\udcff", [], {}, [[[[]]]], {"__vlgym__": "ndarray"},
          {"__vlgym__": "ndarray", "format": "raw", "dtype": "|O", "shape": [1], "data": "AA=="},
          {"__vlgym__": "ndarray", "format": "png", "dtype": "|u1", "shape": [10**6, 10**6], "data": "AA=="},
          {"__vlgym__": "ndarray", "format": "raw", "dtype": "<f8", "shape": [3], "data": "!!"},
          {"__vlgym__": "scalar", "dtype": "<i8", "value": 2**80}, {"__vlgym__": "tuple", "items": 5},
          {"__vlgym__": "dict", "items": [[[1], 2]]}, {"__vlgym__": "float", "value": "1e5"}, NUMBERLINE]
KEYS = ["env_id", "kwargs", "seed", "options", "action", "session_id", "image_format", "max_episode_steps"]


def corpus(rng: random.Random, sid: str, n: int) -> list[dict]:
    requests = []
    for i in range(n):
        method = "POST" if rng.random() < 0.8 else rng.choice(["GET", "DELETE", "PUT", "PATCH"])
        path = rng.choice(PATHS).format(sid=sid if rng.random() < 0.7 else "nope")
        kind = i % 6
        if kind == 0:  # random bytes
            content = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        elif kind == 1:  # JSON with wrong fields and types
            content = json.dumps({rng.choice(KEYS): rng.choice(VALUES) for _ in range(rng.randrange(1, 5))},
                                 default=str).encode("utf-8", "surrogatepass")
        elif kind == 2:  # deep nesting
            depth = rng.choice([50, 500, 5000])
            content = (f'{{"session_id": "{sid}", "action": ' + "[" * depth + "]" * depth + "}").encode()
        elif kind == 3:  # oversized
            content = b'{"env_id": "' + b"x" * 300_000 + b'"}'
        elif kind == 4:  # valid JSON, hostile kwargs
            content = json.dumps({"env_id": NUMBERLINE, "kwargs": {rng.choice(
                ["render_mode", "image_size", "action_matching", "max_episode_steps", "disable_env_checker",
                 "invalid_action"]): rng.choice(VALUES)}}, default=str).encode("utf-8", "surrogatepass")
        else:  # no or wrong token
            content = json.dumps({"session_id": sid, "action": "+"}).encode()
        headers = {"content-type": rng.choice(["application/json", "text/plain", "multipart/form-data"])}
        if kind == 5 or rng.random() < 0.2:
            headers["authorization"] = rng.choice(["", "Bearer", "Bearer wrong", "Basic Zm9vOmJhcg==", "x" * 2000])
        else:
            headers["authorization"] = "Bearer tok"
        requests.append({"method": method, "path": path, "content": content, "headers": headers})
    return requests


def test_hostile_requests_get_4xx_and_the_server_stays_up():
    with running_server(Limits(max_sessions=8, max_request_bytes=200_000), token="tok") as server:
        auth = {"authorization": "Bearer tok"}
        sid = server.post("/reset", json={"env_id": NUMBERLINE, "seed": 0}, headers=auth).json()["session_id"]
        statuses = []
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for request in corpus(random.Random(0), sid, 300):
                response = client.request(request["method"], request["path"], content=request["content"],
                                          headers=request["headers"])
                statuses.append(response.status_code)
                assert response.status_code < 500, (request["path"], request["content"][:200], response.text)
                if response.status_code >= 400:
                    assert "error" in response.json() and "Traceback" not in response.text
        assert sum(s >= 400 for s in statuses) >= 250
        assert statuses.count(422) >= 40 and statuses.count(401) >= 50 and statuses.count(413) >= 30, Counter(statuses)
        assert server.get("/health").json()["status"] == "healthy"
        for session in list(server.sessions.open):
            httpx.delete(f"{server.url}/sessions/{session}", headers=auth)
        assert server.sessions.open == {}
        assert server.post("/reset", json={"env_id": NUMBERLINE, "seed": 0}, headers=auth).status_code == 200
