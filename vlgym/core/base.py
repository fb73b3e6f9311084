"""The shared base of every vlgym environment.

An environment author writes only the game: how an episode starts, which actions are available, what an
action does, the picture and the text. :class:`VLGymEnv` does the rest, identically for every id: parsing
model output, rejecting invalid actions without touching the state, the info schema, spaces, seeding, the
time limit and rendering. ``docs/new_env.md`` walks through writing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    "parse_failure",
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
    * ``max_episode_steps`` (a ``gym.make`` argument, not the env's): see "Time limit".

    Info (after every ``reset`` and ``step``; :data:`INFO_KEYS`): ``instruction``, ``available_actions``
    (empty once the episode is over), ``action_valid``, ``parsed_action`` (canonical action or None),
    ``parse_reason``, ``parse_failure`` (True when a rejected answer names no action of the env at all: no
    entry of ``action_vocabulary``, or for envs whose actions vary by state (no vocabulary) any rejected
    answer; False on reset and for valid or merely unavailable actions), ``feedback``, ``success``,
    ``score``, then the entries of ``_game_info``.

    Hooks, in call order:

    * ``reset(seed, options)``: ``_game_reset(seed, options)`` (required; returns the opening feedback),
      then the observation (``_game_image``, ``_game_text``) and the info (``_game_instruction``,
      ``_game_actions``, ``_game_success``, ``_game_score``, ``_game_info``).
    * ``step(action)``: ``_game_actions`` (what is available now), ``_game_free_action(candidate)`` (an
      action the agent may write freely, e.g. a search query; default none), parsing; then, for a valid
      action only, ``_game_step(action)`` (required; returns a :class:`Transition`); then the env sets
      ``self.terminated`` and ``self.truncated`` (time limit included, see below), and only then calls
      ``_game_end_reward`` (if the episode is over), the observation hooks and the info hooks
      (``_game_instruction``, ``_game_actions``, ``_game_success``, ``_game_score``, ``_game_info``).
      So success, score, end reward and info may read ``self.terminated``/``self.truncated`` of this step.

    Time limit: the env owns it. An episode is truncated after ``max_episode_steps`` steps, invalid ones
    included: the ``max_episode_steps`` given to ``gym.make`` if any (read from the public ``env.spec``),
    else the class attribute :attr:`default_max_episode_steps`. At the last allowed step ``truncated`` is True
    whether or not the step also terminates the game, exactly as gymnasium's ``TimeLimit`` says, so
    ``env.step`` and ``env.unwrapped.step`` return the same flags. ``_game_step_limit`` may end an episode
    sooner by the game's own rules; that truncation applies only to a step that does not terminate.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 4}

    #: Default of the ``invalid_action_penalty`` argument.
    default_invalid_action_penalty: ClassVar[float] = 1.0
    #: Steps after which an episode is truncated unless ``gym.make(..., max_episode_steps=N)`` says otherwise.
    default_max_episode_steps: ClassVar[int | None] = None
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
        #: Steps (valid or not) after which the env truncates the episode; see "Time limit" above.
        self.max_episode_steps: int | None = self.default_max_episode_steps
        self.terminated = self.truncated = False
        self._spec = None

    @property
    def spec(self):
        """gymnasium's ``EnvSpec`` of this env, with ``max_episode_steps`` the limit the env enforces."""
        if self._spec is None or self._spec.max_episode_steps == self.max_episode_steps:
            return self._spec
        return replace(self._spec, max_episode_steps=self.max_episode_steps)

    @spec.setter
    def spec(self, value) -> None:
        self._spec = value

    # ----------------------------------------------------------------- the game: subclasses implement these
    def _game_reset(self, seed: int | None, options: dict[str, Any] | None) -> str:
        """Start a new episode from ``self.np_random`` (already seeded with ``seed``, which is given for
        simulators that take a seed of their own); return the opening feedback text."""
        raise NotImplementedError

    def _game_actions(self) -> list[str]:
        """Canonical actions available in the current state."""
        raise NotImplementedError

    def _game_free_action(self, candidate: str) -> str | None:
        """An action the agent may write freely although ``_game_actions`` cannot list it (e.g. a search with
        any query), given the normalised action text of the answer; None when the text is not one."""
        return None

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
        feedback = self._game_reset(seed, options)
        self._episode_over = False
        self._has_reset = True
        self.elapsed_steps = 0
        self.terminated = self.truncated = False
        parse = ParseResult(None, "reset", "none")
        return self._observation(), self._info(parse, feedback, valid=True, parse_failure=False)

    def step(self, action: Any):
        if not self._has_reset:
            raise gym.error.ResetNeeded("Call reset() before step().")
        if self._episode_over:
            raise gym.error.ResetNeeded("The episode is over: call reset() before step().")
        available = self._game_actions()
        parse = parse_action(action, available, matching=self.action_matching, action_index=self.action_index,
                             free_action=self._game_free_action)
        if parse.valid:
            outcome = self._game_step(parse.action)
            reward, terminated, truncated = outcome.reward, outcome.terminated, outcome.truncated
            feedback = outcome.feedback
        else:
            reward = -self.invalid_action_penalty if self.invalid_action_penalty else 0.0
            terminated, truncated = self.invalid_action == "terminate", False
            feedback = f"Invalid action: {parse.reason}."
        self.elapsed_steps += 1
        game_limit = self._game_step_limit()
        if game_limit is not None and self.elapsed_steps >= game_limit and not terminated:
            truncated = True  # the game's own rule cuts only an episode that did not end by itself
        if self.max_episode_steps is not None and self.elapsed_steps >= self.max_episode_steps:
            truncated = True  # also when the game ends on this step, as gymnasium's TimeLimit says
        self.terminated, self.truncated = bool(terminated), bool(truncated)
        self._episode_over = terminated or truncated
        if self._episode_over:
            reward += self._game_end_reward()
        info = self._info(parse, feedback, valid=parse.valid, parse_failure=self._names_no_action(action, parse))
        return self._observation(), float(reward), bool(terminated), bool(truncated), info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._game_image()
        return None

    # ------------------------------------------------------------------------------------------- assembly
    def _names_no_action(self, action: Any, parse: ParseResult) -> bool:
        """``info["parse_failure"]``: a rejected answer names no action of the vocabulary (an unavailable
        action is no parse failure); without a fixed vocabulary every rejected answer is one."""
        if parse.valid:
            return False
        if not self.action_vocabulary:
            return True
        return not parse_action(action, self.action_vocabulary, matching=self.action_matching).valid

    def _observation(self) -> dict[str, Any]:
        return {"image": self._game_image(), "text": self._game_text()}

    def _info(self, parse: ParseResult, feedback: str, *, valid: bool, parse_failure: bool) -> dict[str, Any]:
        info = {
            "instruction": self._game_instruction(),
            "available_actions": [] if self._episode_over else list(self._game_actions()),
            "action_valid": valid,
            "parsed_action": parse.action,
            "parse_reason": parse.reason,
            "parse_failure": parse_failure,
            "feedback": feedback,
            "success": bool(self._game_success()),
            "score": float(self._game_score()),
        }
        info.update(self._game_info())
        return info
