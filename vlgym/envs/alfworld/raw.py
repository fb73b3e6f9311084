"""ALFWorld's own engine stack beside a vlgym ALFWorld id: the baseline of ``vlgym bench --raw``.

The raw side plays the games the vlgym env plays (the same game for the same reset seed) on the stack that
``AlfredTWEnv.init_env`` builds (``PddlEnv`` + ``AlfredDemangler`` + ``AlfredInfos``), without vlgym's caches,
picture, parsing or solvability check. Like textworld.gym under ``AlfredTWEnv``, each episode loads its game and
resets; episodes end on a win or at the vlgym env's step limit. Random commands are drawn from the same sorted
admissible list with the same generator, so both sides play identical trajectories.
"""

from __future__ import annotations

import random

from gymnasium.utils import seeding

from vlgym.envs.alfworld.engine import raw_engine


class RawALFWorldStepper:
    def __init__(self, ours, seed: int = 0):
        env = ours.env.unwrapped
        self.games, self.limit = env.games, env.max_episode_steps
        self.image_shape = ours.image_shape
        self.engine = raw_engine()
        self.seed = seed
        self._start()

    def _start(self) -> None:
        rng, _ = seeding.np_random(self.seed)  # the generator the vlgym env draws its game from
        self.engine.load(self.games.pick(rng).data)
        self.state, self.steps = self.engine.reset(), 0

    def reset(self) -> None:
        self.seed += 1
        self._start()

    def step(self, rng: random.Random) -> bool:
        commands = self.state["admissible_commands"]
        self.state, _, won = self.engine.step(commands[rng.randrange(len(commands))])
        self.steps += 1
        return won or self.steps >= self.limit

    def close(self) -> None:
        pass
