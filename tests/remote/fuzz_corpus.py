"""A fixed corpus of hostile requests to the env server (the fuzz test and scripts/bench_remote.py use it)."""

from __future__ import annotations

import json
import random

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
