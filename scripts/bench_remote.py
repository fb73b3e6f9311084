"""What running envs elsewhere costs: the HTTP path against in-process envs, Ray actors against worker
processes, and a hostile-request run against the server's memory.

    python scripts/bench_remote.py [--steps 200] [--only overhead,ray,fuzz,drill] [--output bench_remote.json]

- overhead: the same episodes (seeds, expert actions) played in-process and through ``vlgym serve`` (a separate
  process on 127.0.0.1) with PNG and raw images; ms per step, the ms added per step, and bytes per step on the
  wire (request + response bodies);
- ray: steps per second of N envs as Ray actors and as worker processes (``make_vector_env``), same env, seeds
  and actions;
- fuzz: the server's resident memory before and after rounds of the test suite's hostile-request corpus, and
  how many answers were 5xx;
- drill: the trainer (what ``vlgym-train rl`` runs, a tiny VLM on CPU) on NumberLine with its envs on a server
  that is killed (SIGKILL) mid-run and restarted on the same port after ``remote_wait`` has passed: whether
  the run finishes, the restarts its metrics count, and whether any episode was counted twice.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import httpx
import numpy as np

import vlgym  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
OVERHEAD_ENVS = {
    "vlgym/GymCards-NumberLine-v0": {"image_size": 300},
    "vlgym/MiniWorld-OneRoom-v0": {"image_size": 256},
    "vlgym/WebShop-v0": {"renderer": "fast", "image_size": 256, "num_products": 1000},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``vlgym serve``'s server in its own process (``limits`` as in vlgym.remote.server.Limits)."""

    def __init__(self, token: str | None = None, port: int | None = None, **limits):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        code = ("from vlgym.remote.server import Limits, make_server; "
                f"make_server('127.0.0.1', {self.port}, token={token!r}, limits=Limits(**{limits!r})).run()")
        self.process = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/health")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


class Player:
    """Plays seeded episodes with expert actions, one step at a time, timing each ``env.step``."""

    def __init__(self, env: gym.Env):
        self.env, self.seed, self.times = env, 0, []
        env.reset(seed=0)

    def steps(self, n: int) -> None:
        for _ in range(n):
            action = self.env.unwrapped.expert_action()
            start = time.perf_counter()
            _, _, terminated, truncated, _ = self.env.step(action)
            self.times.append(time.perf_counter() - start)
            if terminated or truncated:
                self.seed += 1
                self.env.reset(seed=self.seed)


def overhead(steps: int) -> list[dict]:
    """Local, PNG and raw envs play in turns of 10 steps (so load swings hit all three alike); medians."""
    server = Server()
    rows = []
    try:
        for env_id, kwargs in OVERHEAD_ENVS.items():
            n = steps if "GymCards" in env_id else steps // 2
            players = {"local": Player(gym.make(env_id, **kwargs))}
            sizes: dict[str, list[int]] = {}
            for image_format in ("png", "raw"):
                remote = gym.make(env_id, remote=server.url, image_format=image_format, **kwargs)
                sizes[image_format] = []
                remote.unwrapped._http.event_hooks["response"] = [lambda r, sizes=sizes[image_format]: sizes.append(
                    len(r.request.content) + len(r.read())) if r.request.url.path.endswith("/step") else None]
                players[image_format] = Player(remote)
            for _ in range(n // 10):
                for player in players.values():
                    player.steps(10)
            ms = {mode: 1000 * float(np.median(p.times)) for mode, p in players.items()}
            for player in players.values():
                player.env.close()
            row = {"env": env_id, "kwargs": kwargs, "steps": n, "local_ms": ms["local"]}
            for image_format in ("png", "raw"):
                row[f"{image_format}_ms"] = ms[image_format]
                row[f"{image_format}_added_ms"] = ms[image_format] - ms["local"]
                row[f"{image_format}_bytes_per_step"] = float(np.mean(sizes[image_format]))
            rows.append(row)
            print(f"{env_id} {kwargs}: local {row['local_ms']:.2f} ms/step (median); png +{row['png_added_ms']:.2f} "
                  f"ms ({row['png_bytes_per_step'] / 1024:.1f} KiB/step); raw +{row['raw_added_ms']:.2f} ms "
                  f"({row['raw_bytes_per_step'] / 1024:.1f} KiB/step)", flush=True)
    finally:
        server.stop()
    return rows


def throughput(envs, steps: int, actions: list[str]) -> float:
    n = envs.num_envs
    envs.reset(seed=list(range(n)))
    start = time.perf_counter()
    rng = random.Random(0)
    for _ in range(steps):
        envs.step(np.array([rng.choice(actions) for _ in range(n)], dtype=object))
    return steps * n / (time.perf_counter() - start)


def ray_vs_processes(steps: int) -> list[dict]:
    import ray

    from vlgym.vector import make_vector_env

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    rows = []
    cases = [("vlgym/GymCards-NumberLine-v0", {"image_size": 128}, ["+", "-"]),
             ("vlgym/MiniWorld-OneRoom-v0", {"image_size": 128}, ["turn left", "turn right", "move forward"])]
    try:
        for env_id, kwargs, actions in cases:
            for n in (2, 4):
                row = {"env": env_id, "kwargs": kwargs, "num_envs": n}
                for backend in ("processes", "ray"):
                    options = {"ray_actor_options": {"num_cpus": 0.25}} if backend == "ray" else {}
                    envs = make_vector_env(env_id, n, env_kwargs=kwargs, backend=backend, **options)
                    throughput(envs, 5, actions)  # warm up
                    row[f"{backend}_steps_per_s"] = throughput(envs, steps, actions)
                    envs.close()
                rows.append(row)
                print(f"{env_id} x{n}: processes {row['processes_steps_per_s']:.0f} steps/s, "
                      f"ray {row['ray_steps_per_s']:.0f} steps/s", flush=True)
    finally:
        ray.shutdown()
    return rows


def fuzz(rounds: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "remote"))
    from fuzz_corpus import NUMBERLINE, corpus

    server = Server(token="tok", max_sessions=8, max_request_bytes=200_000)
    auth = {"authorization": "Bearer tok"}
    statuses: list[int] = []
    rss = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for r in range(rounds + 1):
                sid = client.post("/reset", json={"env_id": NUMBERLINE, "seed": r}, headers=auth).json()["session_id"]
                if r > 0:  # round 0 warms the server up; its memory is the baseline
                    for request in corpus(random.Random(r), sid, 300):
                        response = client.request(request["method"], request["path"], content=request["content"],
                                                  headers=request["headers"])
                        statuses.append(response.status_code)
                for session in client.get("/sessions", headers=auth).json()["sessions"]:
                    client.delete(f"/sessions/{session['session_id']}", headers=auth)
                time.sleep(0.5)
                rss.append(server.rss_mb())
            alive = client.get("/health").json()["status"] == "healthy"
    finally:
        server.stop()
    result = {"requests": len(statuses), "5xx": sum(s >= 500 for s in statuses), "server_alive": alive,
              "rss_mb_baseline": rss[0], "rss_mb_after_each_round": rss[1:],
              "status_counts": {str(k): statuses.count(k) for k in sorted(set(statuses))}}
    print(f"fuzz: {result['requests']} hostile requests, {result['5xx']} answered 5xx, server alive: {alive}; "
          f"RSS {rss[0]:.1f} MB at baseline, {', '.join(f'{m:.1f}' for m in rss[1:])} MB after each round "
          f"of 300", flush=True)
    return result


def drill(updates: int, kill_after: int, remote_wait: float) -> dict:
    import tempfile
    import threading

    from vlgym_agents.config import load_config
    from vlgym_agents.policy.tiny import build_tiny_vlm
    from vlgym_agents.train import Trainer

    work = Path(tempfile.mkdtemp(prefix="vlgym-drill-"))
    model = build_tiny_vlm(work / "model")
    server = Server()
    base = {"model": {"path": str(model), "lora": {"r": 4, "alpha": 8, "dropout": 0.0}, "value_head_hidden": [16]},
            "env": {"id": "vlgym/GymCards-NumberLine-v0", "num_envs": 2,
                    "kwargs": {"state_in_text": True, "image_size": 56, "max_position": 2}},
            "sampling": {"max_new_tokens": 8}, "algo": {"ppo_epochs": 1, "minibatch_size": 4},
            "run": {"output_dir": str(work / "run"), "total_env_steps": 2 * 4 * updates, "steps_per_env": 4,
                    "checkpoint_every": updates, "torch_threads": 1, "device": "cpu"},
            "eval": {"episodes": 0}}
    # the overrides a user gives on the command line: vlgym-train rl CONFIG env.kwargs.remote=URL ...
    config = load_config(None, [f"env.kwargs.remote={server.url}", f"env.kwargs.remote_wait={remote_wait}"], base=base)
    trainer = Trainer(config)
    finished: list[int] = []  # seeds of the episodes each rollout counted
    collect, rollouts = trainer.collector.collect, []
    outage = {}

    def kill_and_restart():
        outage["killed"] = time.monotonic()
        server.kill()
        time.sleep(remote_wait + 1.0)  # longer than the clients wait: they must give up (a dead worker)
        outage["restarted"] = time.monotonic()
        outage["server"] = Server(port=server.port)

    def recording_collect(steps):
        rollout = collect(steps)
        rollouts.append(rollout)
        finished.extend(e.seed for e in rollout.episodes)
        if len(rollouts) == kill_after:
            threading.Thread(target=kill_and_restart).start()
        return rollout

    trainer.collector.collect = recording_collect
    started = time.monotonic()
    try:
        trainer.train()
    finally:
        if "server" in outage:
            outage["server"].stop()
    result = {"updates": trainer.state["update"], "updates_planned": updates,
              "worker_restarts": trainer.state["worker_restarts"],
              "restarts_per_rollout": [r.worker_restarts for r in rollouts],
              "episodes_counted": trainer.state["episodes"], "distinct_episode_seeds": len(set(finished)),
              "seconds": time.monotonic() - started, "outage_s": outage.get("restarted", 0) - outage.get("killed", 0)}
    print(f"drill: {result['updates']}/{updates} updates; server killed after rollout {kill_after} and back "
          f"{result['outage_s']:.1f} s later; worker restarts counted: {result['worker_restarts']} "
          f"(per rollout {result['restarts_per_rollout']}); episodes counted {result['episodes_counted']}, "
          f"distinct seeds {result['distinct_episode_seeds']}; {result['seconds']:.0f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--only", default="overhead,ray,fuzz")
    parser.add_argument("--fuzz-rounds", type=int, default=4)
    parser.add_argument("--drill-updates", type=int, default=8)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    only = set(args.only.split(","))
    results = {}
    if "overhead" in only:
        results["overhead"] = overhead(args.steps)
    if "ray" in only:
        results["ray_vs_processes"] = ray_vs_processes(args.steps)
    if "fuzz" in only:
        results["fuzz"] = fuzz(args.fuzz_rounds)
    if "drill" in only:
        results["drill"] = drill(args.drill_updates, kill_after=3, remote_wait=6.0)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
