"""NumberLine whose every reset and step waits a fixed time without using the CPU: a stand-in for a simulator
or browser on another machine (``scripts/bench_rollout.py --env numberline-remote --env-latency 0.15``).

``gym.make("latency_env:vlgym-bench/RemoteNumberLine-v0", latency_s=0.15)`` imports this module (in worker
processes too, with ``scripts/`` on the path) and registers the id.
"""

import time

import gymnasium as gym

import vlgym  # noqa: F401  (registers NumberLine)


class RemoteNumberLine(gym.Wrapper):
    """NumberLine with ``latency_s`` of waiting (``time.sleep``: no CPU) before each reset and step."""

    def __init__(self, latency_s: float = 0.1, **kwargs):
        super().__init__(gym.make("vlgym/GymCards-NumberLine-v0", **kwargs))
        self.latency_s = latency_s

    def reset(self, *, seed=None, options=None):
        time.sleep(self.latency_s)
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        time.sleep(self.latency_s)
        return self.env.step(action)


gym.register("vlgym-bench/RemoteNumberLine-v0", entry_point=RemoteNumberLine)
