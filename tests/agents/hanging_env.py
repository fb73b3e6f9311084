"""A NumberLine that never answers in episodes of chosen seeds: a stand-in for a hung simulator or browser
(``hang_on="step"`` or ``"reset"``; ``"step-error"`` raises instead).

``gym.make("hanging_env:vlgym-test/HangingNumberLine-v0", hang_seeds=[...], hang_on="step")`` imports this
module (in the worker process too) and registers the id.
"""

import time

import gymnasium as gym

import vlgym  # noqa: F401


class HangingNumberLine(gym.Wrapper):
    def __init__(self, hang_seeds=(), hang_on: str = "step", **kwargs):
        super().__init__(gym.make("vlgym/GymCards-NumberLine-v0", **kwargs))
        self.hang_seeds, self.hang_on, self.seed = set(hang_seeds), hang_on, None

    def reset(self, *, seed=None, options=None):
        self.seed = seed
        self._maybe_hang("reset")
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        self._maybe_hang("step")
        return self.env.step(action)

    def _maybe_hang(self, call: str) -> None:
        if self.hang_on == f"{call}-error" and self.seed in self.hang_seeds:
            raise RuntimeError("simulator crashed")
        while call == self.hang_on and self.seed in self.hang_seeds:
            time.sleep(3600)


gym.register("vlgym-test/HangingNumberLine-v0", entry_point=HangingNumberLine)
