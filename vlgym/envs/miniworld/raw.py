"""Raw MiniWorld beside a vlgym MiniWorld id: the baseline of ``vlgym bench --raw``.

The raw side steps the very MiniWorld instance inside the vlgym env, with MiniWorld's own ``step()`` and
integer actions: same GL context, scene and image size, so the difference is exactly the adapter's work
(parsing, info, frame copy, context handling, the gymnasium wrappers of ``gym.make``).
"""

from __future__ import annotations

import random


class RawMiniWorldStepper:
    """Steps ``ours.env.unwrapped.world`` directly, drawing from the same actions vlgym offers."""

    def __init__(self, ours, seed: int = 0):
        env = ours.env.unwrapped
        self.world = env.world
        self.indices = [env.task.action_index(a) for a in env.task.actions]
        self.image_shape = ours.image_shape
        self.seed = seed

    def reset(self) -> None:
        self.seed += 1
        self.world.shadow_window.switch_to()
        self.world.reset(seed=self.seed)

    def step(self, rng: random.Random) -> bool:
        self.world.shadow_window.switch_to()
        _, _, terminated, truncated, _ = self.world.step(self.indices[rng.randrange(len(self.indices))])
        return terminated or truncated

    def close(self) -> None:
        pass  # the world belongs to the vlgym env
