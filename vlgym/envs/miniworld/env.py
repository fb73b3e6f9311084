"""The vlgym adapter over Farama MiniWorld."""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import gymnasium as gym
import numpy as np

from vlgym.core.base import Transition, VLGymEnv
from vlgym.envs.miniworld.gl import ensure_headless_gl
from vlgym.envs.miniworld.tasks import TASKS
from vlgym.extras import require_extra

#: Size of MiniWorld's window frame buffer, used only by its own render(); tiny to save ~40 MB per env.
_WINDOW = 16


class MiniWorldTaskEnv(VLGymEnv):
    """
    ## Description
    A Farama MiniWorld 3D task (``task``: ``OneRoom``, ``Hallway``, ``FourRooms``, ``WallGap``, ... every
    task MiniWorld registers) behind the vlgym contract: the agent's first-person view, text actions, and
    the shared info schema. Rendering is headless (EGL on Mesa, or a private Xvfb), set up before MiniWorld
    touches OpenGL; see ``vlgym doctor``.

    ## Observation
    ``image``: the first-person view, 256x256 by default (``image_size``: an int or (height, width), e.g.
    (60, 80) for MiniWorld's own size). ``text``: empty, except in ``Sign``, where it names the goal shape
    (the sign's colour is on the picture).

    ## Actions
    ``"turn left"``, ``"turn right"``, ``"move forward"``, ``"move back"`` for the navigation tasks (MiniWorld
    executes move back although its action space stops at move forward; the VL-DAC prompt offers it), plus
    ``"pick up"`` (PickupObjects) or ``"pick up"``, ``"drop"``, ``"toggle"``, ``"done"`` (PutNext,
    CollectHealth, RoomObjects). Sign has turn left/right, move forward and ``"done"`` (end the episode). The
    paper's numbered form resolves too: ``"2"`` or ``{"action": 2}`` is the third available action.

    ## Reward
    MiniWorld's own reward, unchanged: ``1 - 0.2 * step_count / time_limit`` on reaching the goal in the
    box tasks (``time_limit`` is MiniWorld's, not ``max_episode_steps``). ``failure_penalty`` (default 0;
    the VL-DAC paper uses 1) is subtracted when an episode ends without success, by time limit included.
    An action text that resolves to no action costs ``invalid_action_penalty`` (default 0) and changes
    nothing.

    ## Success and score
    ``success`` is true exactly when the goal is reached: the agent is at the red box (box tasks), the red
    box was dropped next to the yellow one (PutNext), every object was picked up (PickupObjects), the right
    object was touched (Sign), the agent is alive at the time limit (CollectHealth). RoomObjects has no goal.
    ``score`` is 1.0 on success, else 0.0.

    ## Episode end
    Terminated when MiniWorld ends the episode (goal reached, street entered, object touched, health out,
    "done"). Truncated after ``max_episode_steps`` steps (a ``gym.make`` argument; invalid steps count), by
    default MiniWorld's own time limit per task: OneRoom 180, OneRoomS6 100, OneRoomS6Fast 50, Hallway 250,
    FourRooms 250, WallGap 300, TMaze* and YMaze* 280, ThreeRooms 400, Maze 1536, MazeS2 96, MazeS3 216,
    MazeS3Fast 300, Sidewalk 150, PickupObjects 400, PutNext 250, CollectHealth 1000, RoomObjects 1000
    (MiniWorld: unlimited), Sign 20.

    ## Arguments
    ``task``, ``image_size`` (256), ``failure_penalty`` (0.0),
    ``domain_rand`` (False), ``task_kwargs`` (dict passed to the MiniWorld env, e.g. ``{"size": 6}``), and
    the common arguments of :class:`vlgym.core.base.VLGymEnv`.

    ## Differences from MiniWorld
    * ThreeRooms: MiniWorld places a red box but never checks it (its episodes only time out); here reaching
      the box ends the episode with MiniWorld's usual goal reward, as in the other box tasks.
    * Several envs in one process no longer share one display list, and an env stepped from another thread
      no longer returns a stale frame (see ``vlgym.envs.miniworld.fixes``).

    ## Version History
    * v0: initial release (MiniWorld 2.1.0).
    """

    default_invalid_action_penalty = 0.0
    action_index = True

    def __init__(self, task: str, *, image_size=256, failure_penalty: float = 0.0, domain_rand: bool = False,
                 task_kwargs: dict | None = None, **kwargs: Any):
        require_extra("miniworld")  # a missing extra fails here, at gym.make, with the install command
        if task not in TASKS:
            raise ValueError(f"unknown MiniWorld task {task!r}; known: {', '.join(TASKS)}")
        if not failure_penalty >= 0:
            raise ValueError(f"failure_penalty must be >= 0, got {failure_penalty}")
        self.task = TASKS[task]
        self.action_vocabulary = self.task.actions
        self.default_max_episode_steps = self.task.time_limit
        super().__init__(image_size=image_size, **kwargs)
        self.failure_penalty = float(failure_penalty)
        self.domain_rand = bool(domain_rand)
        self.task_kwargs = dict(task_kwargs or {})
        self.world = None  # the raw MiniWorld env, made on first reset so that no GL exists before a fork
        self._fixes = None  # vlgym.envs.miniworld.fixes, imported once GL is set up
        self._frame = np.zeros((self.image_height, self.image_width, 3), np.uint8)
        self._frame_handed_out = False
        self._sign_solved = self._success = False

    # --------------------------------------------------------------------------------------- the world
    def _make_world(self):
        ensure_headless_gl()  # every time: it also refuses to render in a child forked with GL loaded
        from vlgym.envs.miniworld import fixes  # loads (and registers) MiniWorld

        kwargs = dict(self.task_kwargs)
        if self.domain_rand:  # only when asked: Sign fixes domain_rand itself and rejects the argument
            kwargs["domain_rand"] = True
        fixes.share_group()
        # MiniWorld prints "Falling back to num_samples=4" per env on llvmpipe.
        with contextlib.redirect_stdout(io.StringIO()):
            world = gym.make(f"MiniWorld-{self.task.name}-v0", obs_width=self.image_width,
                             obs_height=self.image_height, window_width=_WINDOW, window_height=_WINDOW,
                             disable_env_checker=True, **kwargs).unwrapped
        fixes.release_context(world)
        self._fixes = fixes
        return world

    def _game_reset(self, seed, options):
        if self.world is None:
            self.world = self._make_world()
        with self._fixes.gl_call(self.world):
            obs, _ = self.world.reset(seed=seed)
        self._store_frame(obs)
        self._sign_solved = self._success = False
        return ""

    def _store_frame(self, obs) -> None:
        # MiniWorld renders into one reused buffer: keep a copy, or every stored frame would change.
        self._frame = np.array(obs["obs"] if isinstance(obs, dict) else obs, dtype=np.uint8)
        self._frame_handed_out = False

    def _game_actions(self):
        return list(self.task.actions)

    def _game_step(self, action):
        world = self.world
        position = world.agent.pos.copy()
        with self._fixes.gl_call(world):
            obs, reward, terminated, truncated, _ = world.step(self.task.action_index(action))
        self._store_frame(obs)
        if self.task.name == "ThreeRooms" and world.near(world.box):
            reward += world._reward()  # MiniWorld never ends ThreeRooms at the box (see docstring)
            terminated = True
        self._sign_solved = self.task.goal == "sign" and terminated and reward > 0
        # Goals are reached only on termination (checking state then is exact and keeps steps cheap).
        self._success = terminated and self._goal_reached()
        feedback = ""
        if self._success:
            feedback = "You reached the goal."
        elif action in ("move forward", "move back") and np.array_equal(position, world.agent.pos):
            feedback = "You bumped into something and did not move."
        return Transition(float(reward), terminated=bool(terminated), truncated=bool(truncated), feedback=feedback)

    def _goal_reached(self) -> bool:
        """Whether the task's goal holds after the step just taken (CollectHealth: see _game_success)."""
        world, goal = self.world, self.task.goal
        if goal == "box":
            return bool(world.near(world.box))
        if goal == "putnext":
            return not world.agent.carrying and bool(world.near(world.red_box, world.yellow_box))
        if goal == "pickup":
            return world.num_picked_up == world.num_objs
        if goal == "sign":
            return self._sign_solved
        return False

    def _game_end_reward(self):
        return 0.0 if self._game_success() else -self.failure_penalty

    # ----------------------------------------------------------------------------------- presentation
    def _game_image(self):
        # Each frame is a fresh array (see _store_frame); hand it out once, copies after that (invalid
        # actions, render()), so that no two observations share memory.
        if self._frame_handed_out:
            return self._frame.copy()
        self._frame_handed_out = True
        return self._frame

    def _game_text(self):
        if self.task.goal == "sign" and self.world is not None:
            return f"The goal object is a {'key' if self.world._goal else 'box'}."
        return ""

    def _game_instruction(self):
        return self.task.instruction

    def _game_success(self):
        if self.task.goal == "survive":  # alive when the time limit ends the episode
            return self.truncated and self.world.health > 0
        return self._success

    def _game_info(self):
        agent = self.world.agent
        return {"agent_pos": [float(agent.pos[0]), float(agent.pos[2])],
                "agent_dir_deg": float(math.degrees(agent.dir) % 360)}

    def expert_action(self) -> str:
        from vlgym.envs.miniworld.planner import expert_action

        index = expert_action(self.world)
        return self.task.actions[index] if self.task.goal != "sign" or index != 3 else "done"

    def close(self):
        if self.world is not None:
            self._fixes.release_gl(self.world)
            self.world = None
        super().close()
