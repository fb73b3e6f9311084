"""The shared base of every vlgym environment.

An environment author writes only the game: how an episode starts, which actions are available, what an
action does, the picture and the text. :class:`VLGymEnv` does the rest, identically for every id: parsing
model output, rejecting invalid actions without touching the state, the info schema, spaces, seeding and
rendering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from vlgym.core import spaces as vlspaces
from vlgym.core.parsing import MATCHING_MODES, MatchingMode, ParseResult, parse_action

InvalidActionMode = Literal["penalize", "terminate"]

#: Keys present in ``info`` after every ``reset`` and ``step`` of every vlgym env.
INFO_KEYS = (
    "instruction",
    "available_actions",
    "action_valid",
    "parsed_action",
    "parse_reason",
    "feedback",
    "success",
    "score",
)


@dataclass(frozen=True)
class Transition:
    """What a valid action did to the game."""

    reward: float
    terminated: bool = False
    truncated: bool = False
    feedback: str = ""


class VLGymEnv(gym.Env[dict, str]):
    """Base class: subclasses implement the ``_game_*`` hooks and :meth:`expert_action`.

    Common ``gym.make`` arguments (every env accepts them):

    * ``render_mode``: ``None`` or ``"rgb_array"`` (``render()`` returns the current image).
    * ``invalid_action_penalty`` (float >= 0): subtracted from the reward when the action text does not
      resolve to an available action. The state is left unchanged. Default: per env.
    * ``invalid_action``: ``"penalize"`` (default; the episode goes on) or ``"terminate"`` (the episode
      ends with ``terminated=True``).
    * ``action_matching``: ``"exact"`` (default), ``"contains"`` or ``"fuzzy"``; see
      :mod:`vlgym.core.parsing`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 4}

    #: Default of the ``invalid_action_penalty`` argument.
    default_invalid_action_penalty: ClassVar[float] = 1.0
    #: Whether prompts number this env's actions, so that ``"2"`` means ``available_actions[2]``.
    action_index: ClassVar[bool] = False
    #: Every action this env can ever offer, in a fixed order, or None when the set varies by state.
    action_vocabulary: ClassVar[tuple[str, ...] | None] = None

    def __init__(
        self,
        *,
        image_size: int | Sequence[int],
        render_mode: str | None = None,
        invalid_action_penalty: float | None = None,
        invalid_action: InvalidActionMode = "penalize",
        action_matching: MatchingMode = "exact",
    ):
        height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if height < 16 or width < 16:
            raise ValueError(f"image_size must be at least 16x16, got {height}x{width}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        if invalid_action not in ("penalize", "terminate"):
            raise ValueError(f"invalid_action must be 'penalize' or 'terminate', got {invalid_action!r}")
        if action_matching not in MATCHING_MODES:
            raise ValueError(f"action_matching must be one of {MATCHING_MODES}, got {action_matching!r}")
        penalty = self.default_invalid_action_penalty if invalid_action_penalty is None else invalid_action_penalty
        if not penalty >= 0:
            raise ValueError(f"invalid_action_penalty must be >= 0, got {penalty}")
        self.image_height, self.image_width = int(height), int(width)
        self.render_mode = render_mode
        self.invalid_action_penalty = float(penalty)
        self.invalid_action = invalid_action
        self.action_matching = action_matching
        self.observation_space = vlspaces.observation_space(self.image_height, self.image_width)
        self.action_space = vlspaces.action_space()
        self._episode_over = True
        self._has_reset = False
        self.elapsed_steps = 0
        #: Steps (valid or not) after which the env truncates the episode itself. ``gym.make`` sets it from
        #: its ``max_episode_steps`` (see vlgym.core.time_limit), so end-of-episode rewards and ``success``
        #: are right when the time limit ends an episode.
        self.max_episode_steps: int | None = None
        self.terminated = self.truncated = False

    # ----------------------------------------------------------------- the game: subclasses implement these
    def _game_reset(self, options: dict[str, Any] | None) -> str:
        """Start a new episode from ``self.np_random``; return the opening feedback text."""
        raise NotImplementedError

    def _game_actions(self) -> list[str]:
        """Canonical actions available in the current state."""
        raise NotImplementedError

    def _game_step(self, action: str) -> Transition:
        """Apply one available canonical action."""
        raise NotImplementedError

    def _game_image(self) -> np.ndarray:
        """The current picture, uint8 (H, W, 3)."""
        raise NotImplementedError

    def _game_text(self) -> str:
        """The textual state (may be empty)."""
        return ""

    def _game_instruction(self) -> str:
        """The task in words."""
        raise NotImplementedError

    def _game_success(self) -> bool:
        raise NotImplementedError

    def _game_score(self) -> float:
        """Task metric in [0, 1]; by default 1.0 on success."""
        return float(self._game_success())

    def _game_info(self) -> dict[str, Any]:
        """Env-specific extra info entries."""
        return {}

    def _game_end_reward(self) -> float:
        """Added to the reward of the step that ends the episode, however it ends (e.g. a failure penalty)."""
        return 0.0

    def _game_step_limit(self) -> int | None:
        """Steps after which the game's own rules truncate the episode (None: none); see max_episode_steps."""
        return None

    def expert_action(self) -> str:
        """A canonical action that makes progress toward the goal from the current state."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------------- the gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        feedback = self._game_reset(options)
        self._episode_over = False
        self._has_reset = True
        self.elapsed_steps = 0
        self.terminated = self.truncated = False
        parse = ParseResult(None, "reset", "none")
        return self._observation(), self._info(parse, feedback, valid=True)

    def step(self, action: Any):
        if not self._has_reset:
            raise gym.error.ResetNeeded("Call reset() before step().")
        if self._episode_over:
            raise gym.error.ResetNeeded("The episode is over: call reset() before step().")
        available = self._game_actions()
        parse = parse_action(
            action, available, matching=self.action_matching, action_index=self.action_index
        )
        if parse.valid:
            outcome = self._game_step(parse.action)
            reward, terminated, truncated = outcome.reward, outcome.terminated, outcome.truncated
            feedback = outcome.feedback
        else:
            reward = -self.invalid_action_penalty if self.invalid_action_penalty else 0.0
            terminated, truncated = self.invalid_action == "terminate", False
            feedback = f"Invalid action: {parse.reason}."
        self.elapsed_steps += 1
        limits = [n for n in (self._game_step_limit(), self.max_episode_steps) if n is not None]
        if limits and self.elapsed_steps >= min(limits) and not terminated:
            truncated = True
        self.terminated, self.truncated = bool(terminated), bool(truncated)
        self._episode_over = terminated or truncated
        if self._episode_over:
            reward += self._game_end_reward()
        info = self._info(parse, feedback, valid=parse.valid)
        return self._observation(), float(reward), bool(terminated), bool(truncated), info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._game_image()
        return None

    # ------------------------------------------------------------------------------------------- assembly
    def _observation(self) -> dict[str, Any]:
        return {"image": self._game_image(), "text": self._game_text()}

    def _info(self, parse: ParseResult, feedback: str, *, valid: bool) -> dict[str, Any]:
        info = {
            "instruction": self._game_instruction(),
            "available_actions": [] if self._episode_over else list(self._game_actions()),
            "action_valid": valid,
            "parsed_action": parse.action,
            "parse_reason": parse.reason,
            "feedback": feedback,
            "success": bool(self._game_success()),
            "score": float(self._game_score()),
        }
        info.update(self._game_info())
        return info
