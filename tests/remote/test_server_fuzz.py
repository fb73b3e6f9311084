"""Hostile requests: a fixed corpus of 300 malformed, oversized and unauthorised requests."""

from __future__ import annotations

import random
from collections import Counter

import httpx
from fuzz_corpus import NUMBERLINE, corpus
from remote_kit import running_server

from vlgym.remote.server import Limits


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
