"""NumberLine: move a number to a target one step at a time."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from vlgym.core import drawing
from vlgym.core.base import Transition, VLGymEnv

TARGET_COLOR = (200, 30, 40)
CURRENT_COLOR = (25, 80, 200)
#: How reset draws (target, start): the original's procedure, or uniformly over all pairs that differ.
START_DISTRIBUTIONS = ("original", "uniform")


@lru_cache(maxsize=1024)
def _picture(height: int, width: int, max_position: int, target: int, current: int) -> np.ndarray:
    """The frame for one state; there are only (max_position + 1)^2 of them, so all are cached."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    big = int(min(width, height) * 0.12)
    drawing.text(draw, (width * 0.1, height * 0.12), f"Target: {target}", big, TARGET_COLOR, bold=True)
    drawing.text(draw, (width * 0.1, height * 0.34), f"Current: {current}", big, CURRENT_COLOR, bold=True)
    # A number line with ticks, a red triangle over the target and a blue disc on the current position.
    left, right, y = width * 0.1, width * 0.9, height * 0.76
    line = max(2, height // 100)
    draw.line((left, y, right, y), fill="black", width=line)
    step = (right - left) / max(1, max_position)
    marker = min(step * 0.35, height * 0.06)
    small = int(min(width, height) * 0.06)
    for k in range(max_position + 1):
        x = left + k * step
        draw.line((x, y - marker * 0.5, x, y + marker * 0.5), fill="black", width=line)
        drawing.text(draw, (x, y + marker * 0.9), str(k), small, "black", anchor="ma")
    tx = left + target * step
    draw.polygon([(tx - marker, y - marker * 2.4), (tx + marker, y - marker * 2.4), (tx, y - marker * 0.9)],
                 fill=TARGET_COLOR)
    cx = left + current * step
    draw.ellipse((cx - marker * 0.7, y - marker * 0.7, cx + marker * 0.7, y + marker * 0.7), fill=CURRENT_COLOR)
    array = drawing.to_array(image)
    array.flags.writeable = False  # shared by every env in the process; callers get copies
    return array


class NumberLineEnv(VLGymEnv):
    """
    ## Description
    A number line from 0 to ``max_position`` shows a target (red triangle, "Target: t") and the current
    number (blue disc, "Current: c"). The agent moves the current number by one per step until it equals
    the target. Rules, rewards and the start distribution are those of RL4VLM's ``gym_cards/NumberLine-v0``
    (the ``gym-cards`` package at RL4VLM's last commit).

    ## Observation
    ``image``: (H, W, 3) uint8 picture of the line and both numbers (300x300 by default).
    ``text``: empty, or with ``state_in_text=True`` ``"Target: t. Current: c."`` (the picture stays).

    ## Actions
    ``"+"`` (add one, up to ``max_position``) and ``"-"`` (subtract one, down to 0). Any model output
    that resolves to one of them (see :mod:`vlgym.core.parsing`) is accepted.

    ## Starting State
    As the original draws it: the start uniformly from 0..``max_position``, then the target likewise; a
    target equal to the start becomes ``(target + 1) % max_position``. Start and target therefore always
    differ, and the targets are not uniform: with ``max_position=5``, target 1 comes 7/36 of the time
    (19.4%), target 5 5/36 (13.9%), the others 1/6. ``start_distribution="uniform"`` draws the target
    uniformly and the start uniformly among the other numbers instead.

    ## Reward
    +1 when the current number reaches the target; -1 for a move that does not bring it closer (also a
    move against the end of the line); 0 for a move that brings it closer without arriving. An action
    text that resolves to no action costs ``invalid_action_penalty`` (default 1) and changes nothing.

    ## Episode end
    Terminated when current == target (``success``). Truncated after ``2 * max_position`` steps, invalid
    ones included, as in the original (the registered id has no other time limit). ``score`` is 1.0 on
    success, else 0.0.

    ## Arguments
    ``max_position`` (default 5), ``start_distribution`` (``"original"``, default, or ``"uniform"``),
    ``state_in_text`` (default False), ``image_size`` (default 300), and the common ones of
    :class:`vlgym.core.base.VLGymEnv`.

    ## Differences from RL4VLM
    * With ``max_position=1`` the original's rule maps a collision at 0 to ``(0 + 1) % 1 = 0``, so a
      quarter of its episodes start on the target; here the target moves to the other end (1).
    * The original draws from Python's global ``random``, which ``reset(seed=...)`` does not seed; here
      the env's seeded generator draws, so a seed fixes the episode.
    * The picture adds a drawn number line with markers; the "Target"/"Current" texts are kept.
    * Text actions instead of a ``Discrete(2)`` space (``vlgym.wrappers.DiscreteActions`` restores it,
      with 0 = "-" and 1 = "+" as in the original).

    ## Version History
    * v0: initial release.
    """

    action_vocabulary = ("-", "+")
    default_max_episode_steps = None  # its own rule: 2 * max_position steps (_game_step_limit)

    def __init__(self, *, max_position: int = 5, start_distribution: str = "original", state_in_text: bool = False,
                 image_size=300, **kwargs: Any):
        super().__init__(image_size=image_size, **kwargs)
        if max_position < 1:
            raise ValueError(f"max_position must be >= 1, got {max_position}")
        if start_distribution not in START_DISTRIBUTIONS:
            raise ValueError(f"start_distribution must be one of {START_DISTRIBUTIONS}, got {start_distribution!r}")
        self.start_distribution = start_distribution
        self.max_position = int(max_position)
        self.state_in_text = bool(state_in_text)
        self.target = self.current = 0

    def _game_reset(self, seed, options):
        rng, top = self.np_random, self.max_position
        if self.start_distribution == "uniform":
            self.target = int(rng.integers(0, top + 1))
            self.current = (self.target + int(rng.integers(1, top + 1))) % (top + 1)
            return ""
        # The original's procedure: start, then target, uniformly; a target equal to the start moves to
        # (target + 1) % max_position (so target 1 is the most likely one), or, on a line 0-1, to the other end.
        self.current = int(rng.integers(0, top + 1))
        self.target = int(rng.integers(0, top + 1))
        if self.target == self.current:
            self.target = (self.target + 1) % top if top > 1 else 1 - self.target
        return ""

    def _game_actions(self):
        return list(self.action_vocabulary)

    def _game_step(self, action):
        before = abs(self.current - self.target)
        delta = 1 if action == "+" else -1
        self.current = min(self.max_position, max(0, self.current + delta))
        after = abs(self.current - self.target)
        if after == 0:
            return Transition(1.0, terminated=True, feedback="You reached the target.")
        if after >= before:
            return Transition(-1.0, feedback="That move did not bring you closer to the target.")
        return Transition(0.0, feedback="Closer to the target.")

    def _game_step_limit(self):
        return 2 * self.max_position

    def _game_image(self):
        return _picture(self.image_height, self.image_width, self.max_position, self.target, self.current).copy()

    def _game_text(self):
        return f"Target: {self.target}. Current: {self.current}." if self.state_in_text else ""

    def _game_instruction(self):
        return (f"Move the current number to the target number on the number line from 0 to "
                f"{self.max_position}. Actions: '+' adds one, '-' subtracts one.")

    def _game_success(self):
        return self.current == self.target

    def _game_info(self):
        return {"target": self.target, "current": self.current}

    def expert_action(self):
        return "+" if self.current < self.target else "-"
