"""The vlgym ALFWorld env: ALFWorld's text engine, generated or official games, a drawn map for the VLM."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from vlgym.core.base import Transition, VLGymEnv
from vlgym.envs.alfworld import catalog
from vlgym.envs.alfworld.expert import expert_command
from vlgym.envs.alfworld.games import GameFileError, GameRecord, GameSource
from vlgym.envs.alfworld.world import World, goal_conditions
from vlgym.extras import require_extra

RewardMode = Literal["sparse", "rl4vlm", "vl-dac"]
#: Reward for winning, per reward mode (the shaped modes add the goal-condition score every valid step).
WIN_REWARD = {"sparse": 1.0, "rl4vlm": 50.0, "vl-dac": 1.0}
GOAL_MARKER = "Your task is to: "
#: Games already played to the goal in this process, by source and problem text.
_CHECKED: set[tuple[str, int]] = set()


def task_type_names(task_types) -> tuple[str, ...]:
    """Task types given by name or by ALFWorld's number (1-6), in ALFWorld's order."""
    if task_types is None:
        return catalog.TASK_TYPES
    names = set()
    for t in task_types:
        if isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= len(catalog.TASK_TYPES):
            names.add(catalog.TASK_TYPES[t - 1])
        elif t in catalog.TASK_TYPES:
            names.add(t)
        else:
            raise ValueError(f"unknown task type {t!r}: use 1-6 or one of {catalog.TASK_TYPES}")
    if not names:
        raise ValueError("task_types must not be empty")
    return tuple(t for t in catalog.TASK_TYPES if t in names)


def _floor(floor_plan: int | None) -> np.ndarray | None:
    """The reachable floor points of an AI2-THOR floor plan, None when unknown."""
    try:
        return None if floor_plan is None else catalog.floor_plan(floor_plan).floor
    except OSError:
        return None


class ALFWorldEnv(VLGymEnv):
    """
    ## Description
    ALFWorld's household tasks (Shridhar et al., 2021) on ALFWorld's own TextWorld/PDDL engine: go to
    receptacles, open them, take objects, heat/cool/clean them with the microwave/fridge/sink, put them
    somewhere, use a lamp. Commands, feedback and goals read exactly as in ALFWorld ("go to countertop 1",
    "You arrive at countertop 1. On the countertop 1, you see a apple 1.", "Your task is to: put a hot apple in
    fridge."). All six task types: pick & place, examine in light, clean, heat, cool, pick two.

    Games come from one of two sources:

    * ``source="generated"`` (default, offline): a new game per episode from the rooms, domain and grammar inside
      the ``alfworld`` package (see :mod:`vlgym.envs.alfworld.generator`); each is checked solvable in the
      engine (its ground-truth walkthrough must win) before the episode starts. Splits as ALFWorld's
      (:mod:`vlgym.envs.alfworld.splits`): ``train`` and ``valid_seen`` (other games) in the same rooms,
      ``valid_unseen`` only in ALFRED's four unseen rooms (10, 219, 308, 424).
      ``task_mix="alfworld"`` (default) draws task types in the proportions of ALFWorld's games of the split
      (train: pick 22%, look 9%, clean 18%, heat 13%, cool 15%, pick two 23%), so that a success rate over all
      types means what it means on ALFWorld's own splits and training sees the types as often as ALFWorld's
      train set shows them; ``"uniform"`` draws them equally (balanced per-type training or evaluation).
      ``held_out_pairs=True`` also keeps a fifth of the (object, receptacle) pairs out of ``train`` and
      ``valid_seen`` and asks only for those in ``valid_unseen``: a harder test than ALFWorld's, which removes
      about a quarter of ALFWorld's training tasks from training.
    * ``source="official"``: ALFWorld's released games under ``data_dir`` (default
      ``$ALFWORLD_DATA/json_2.1.1/<split>``), chosen as ``AlfredTWEnv`` chooses them; or ``game_files``, a list
      of ``game.tw-pddl`` paths (for instance written by ``vlgym alfworld generate``, which checks each game
      before writing it). Files marked ``"solvable": true`` are trusted, as ``AlfredTWEnv`` trusts them (ALFWorld
      keeps only games its expert solved); ``check_solvable=True`` plays each file to the goal once per process
      before its first episode (its stored walkthrough, else Fast Downward's optimal plan: up to tens of
      seconds in a large room). A file that is malformed, does not load, starts solved, or fails the check
      raises :class:`~vlgym.envs.alfworld.games.GameFileError` naming it.

    ## Observation
    ``image``: a drawn map of the room (384x640 by default): receptacles where they stand, labelled as the
    text names them, green when open, grey when closed, ringed where the agent is; the agent as a red disc
    facing its direction; beside it (below it in square or portrait images) the goal, what the agent sees at
    its location and what it holds (AI2-THOR
    frames, which ALFWorld renders with Unity, are not used). ``text``: ALFWorld's feedback to the last command
    (the welcome text with the room and the task after reset).

    ## Actions
    ALFWorld's admissible commands (``info["available_actions"]``). Anything else, including near misses such
    as "take apple 2 from countertop 1" when there is no apple 2 or "go to the fridge 1", is an invalid action:
    it never reaches the engine.

    ## Reward
    ``reward="sparse"`` (default): ALFWorld's own, 1 on the step that wins, else 0. ``"rl4vlm"``: RL4VLM's
    shaping, 50·won + the goal-condition score on every valid step. ``"vl-dac"``: the VL-DAC repository's,
    won + the goal-condition score on every valid step. An invalid action costs ``invalid_action_penalty``
    (default 0 with ``sparse``, 1 with the shaped modes, as RL4VLM's -1) and changes nothing.

    ## Success and score
    ``success`` is ALFWorld's ``won`` (the PDDL goal holds). ``score`` is the fraction of the goal's conditions
    that hold (see :func:`vlgym.envs.alfworld.world.goal_conditions`), 1.0 on success.
    ``info`` also gives ``task_type`` and ``game`` (the game file, or ``generated:<split>:<seed>``).

    ## Episode end
    Terminated on success. The engine never ends a lost game, so the episode is truncated after
    ``max_episode_steps`` steps (``gym.make`` argument, default 50; invalid steps count).

    ## Arguments
    ``source`` ("generated"), ``split`` ("train"), ``task_types`` (names or ALFWorld's numbers 1-6; default
    all), ``task_mix`` ("alfworld"), ``held_out_pairs`` (False), ``data_dir`` and ``game_files`` (official
    games), ``reward`` ("sparse"), ``check_solvable`` (default None: generated games yes, game files no),
    ``image_size`` ((384, 640)), and the common arguments of :class:`vlgym.core.base.VLGymEnv`.

    ## Version History
    * v0: initial release (alfworld 0.4.2, textworld 1.7.0).
    """

    default_invalid_action_penalty = 0.0
    default_max_episode_steps = 50

    def __init__(self, *, source: str = "generated", split: str = "train", task_types=None, data_dir=None,
                 game_files=None, reward: RewardMode = "sparse", check_solvable: bool | None = None,
                 task_mix: str = "alfworld", held_out_pairs: bool = False, image_size=(384, 640), **kwargs: Any):
        require_extra("alfworld")  # a missing extra fails here, at gym.make, with the install command
        if reward not in WIN_REWARD:
            raise ValueError(f"reward must be one of {tuple(WIN_REWARD)}, got {reward!r}")
        if reward != "sparse" and kwargs.get("invalid_action_penalty") is None:
            kwargs["invalid_action_penalty"] = 1.0
        super().__init__(image_size=image_size, **kwargs)
        self.reward_mode = reward
        self.check_solvable = check_solvable
        self.games = GameSource(source, split, task_type_names(task_types), data_dir, game_files, task_mix,
                                held_out_pairs)
        self.engine = None  # made on first reset: importing textworld takes ~1 s
        self.game: GameRecord | None = None
        self.world: World | None = None
        self._renderer = None
        self._feedback = self._goal = ""

    # ------------------------------------------------------------------------------------------- episodes
    def _game_reset(self, seed, options):
        from vlgym.envs.alfworld.engine import Engine
        from vlgym.envs.alfworld.render import MapRenderer

        if self.engine is None:
            self.engine = Engine()
        self.game = self.games.pick(self.np_random)
        self._feedback = self._start(self.game)
        self._goal = self._feedback.rsplit(GOAL_MARKER, 1)[-1].strip()
        self._update_world()
        self._renderer = MapRenderer(self.world, self._goal, _floor(self.game.floor_plan), self.image_height,
                                     self.image_width)
        return self._feedback

    def _start(self, game: GameRecord) -> str:
        """Load ``game``, check it (once per file), and return the opening text of a fresh episode."""
        try:
            self.engine.load(game.data)
            intro = self.engine.reset()
            if self.engine.won:
                raise GameFileError(f"{game.source}: the goal already holds when the game starts")
            key = (game.source, hash(game.data["pddl_problem"]))
            check = game.generated if self.check_solvable is None else self.check_solvable
            if key in _CHECKED or not check:
                return intro
            self._play_to_the_goal(game)
            _CHECKED.add(key)
            return self.engine.reset()
        except GameFileError:
            raise
        except Exception as error:  # the engine's own errors on a bad problem, domain or grammar
            raise GameFileError(f"{game.source}: the ALFWorld engine cannot play it ({type(error).__name__}: "
                                f"{error})") from error

    def _play_to_the_goal(self, game: GameRecord) -> None:
        """Play the game's walkthrough to a win; for a file whose walkthrough is missing or fails (ALFWorld's come
        from its handcoded expert), Fast Downward's optimal plan."""
        if game.walkthrough and self._wins(game.walkthrough):
            return
        if game.generated:
            raise GameFileError(f"{game.source}: not solvable: its walkthrough does not win")
        self.engine.reset()
        if not self._wins(self.engine.plan()):
            raise GameFileError(f"{game.source}: not solvable: no plan reaches the goal")

    def _wins(self, commands) -> bool:
        for command in commands:
            if command not in self.engine.admissible_commands:
                return False
            self.engine.step(command)
        return self.engine.won

    def _update_world(self) -> None:
        self.world = World.from_facts(self.engine.facts(), self.engine.names)

    def _game_actions(self):
        return list(self.engine.admissible_commands)

    def _game_step(self, action):
        self._feedback = self.engine.step(action)
        self._update_world()
        won = self.engine.won
        reward = WIN_REWARD[self.reward_mode] * won
        if self.reward_mode != "sparse":
            reward += self._game_score()
        return Transition(reward, terminated=won, feedback=self._feedback)

    # ------------------------------------------------------------------------------------- presentation
    def _game_image(self):
        return self._renderer.render(self.world)

    def _game_text(self):
        return self._feedback

    def _game_instruction(self):
        return f"{GOAL_MARKER}{self._goal}"

    def _game_success(self):
        return self.engine.won

    def _game_score(self):
        if self.engine.won:
            return 1.0
        satisfied, total = goal_conditions(self.game.task, self.world)
        return satisfied / total

    def _game_info(self):
        return {"task_type": self.game.task.type, "game": self.game.source}

    def expert_action(self) -> str:
        return expert_command(self.game.task, self.world, self.engine.admissible_commands, self.engine.plan)

    def close(self):
        self.engine = None
        super().close()
