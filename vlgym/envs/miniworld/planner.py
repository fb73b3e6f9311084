"""Privileged-state expert for MiniWorld tasks: a grid path planner with a turn-aware motion-primitive controller.

``expert_action(env)`` reads the simulator state of a ``MiniWorldEnv`` (walls, entities, agent pose, motion
parameters) and returns the MiniWorld action index that makes progress towards the task's goal.

Method
------
1. **Grid, once per episode.** The floor plan is rasterised into a square grid (cell size adapted to the map
   area, 0.1-0.25 m); each cell holds the distance from its centre to the nearest wall segment. Rooms the agent
   must not enter (Sidewalk's street) are marked forbidden.
2. **Cost-to-go field, once per goal set.** Cells where the body that must reach the goal fits (the agent, or
   the object it carries in PutNext) are searched with Dijkstra from the goal region (cells from which the goal
   is reached, picked up or dropped next to). This gives ``D``, the path length to the goal, with a mild
   penalty near walls so paths keep clear of them, and a desired heading per cell (towards the cell a short way
   further along the path). The field is rebuilt when the goal set or an obstacle moves (an object picked up,
   a box carried or dropped).
3. **Action, every call.** The agent can only face ``dir + k * turn_step`` and moves in fixed steps, so instead
   of steering at a waypoint the expert scores short motion primitives: "turn |k| times, then move forward m
   times" for every heading k and m up to a horizon of a few metres. Each predicted pose is checked exactly as
   ``MiniWorldEnv.move_agent`` / ``turn_agent`` would (walls, entities, a carried object), and a primitive
   costs ``|k| + m + D(p) / step + turns still needed at p``, or ``|k| + m`` (+1 for a pickup or drop) if the
   task is completed along it. The first action of the cheapest primitive is returned. Executing that action
   lowers the primitive's cost by exactly one, so the agent keeps to its plan instead of dithering, and since
   every predicted move is collision-free it does not bump into walls. While carrying, primitives must end
   where the object can swing round freely (else a turn may be blocked and the agent wedged); when no primitive
   is possible the agent backs off (``move_back``, where the task offers it).

Everything is deterministic: no randomness, ties go to the first primitive in a fixed order.
"""

from __future__ import annotations

import heapq
import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# MiniWorld's action indices (MiniWorldEnv.Actions).
TURN_LEFT, TURN_RIGHT, MOVE_FORWARD, MOVE_BACK, PICKUP, DROP, TOGGLE, DONE = range(8)

#: Tasks the expert refuses, with the reason (raised as NotImplementedError).
UNSUPPORTED_TASKS = {
    "RoomObjects": "RoomObjects has no goal: it gives no reward and never terminates, so there is nothing to plan for",
}

_CELLS_WANTED = 6000  # grid size target; the cell size follows from the map area
_MIN_CELL, _MAX_CELL = 0.1, 0.25
_HORIZON_M = 4.0  # how far ahead (metres) the straight-line primitives look
_LOOKAHEAD_M = 0.8  # the desired heading points this far along the shortest path
_WALL_PENALTY_M, _WALL_PENALTY = 0.5, 1.0  # cost multiplier up to 1 + _WALL_PENALTY within this clearance
_NEIGHBOUR_WEIGHT = 1.0  # CollectHealth: weight of a kit's distance to its nearest other kit
_HEALTH_TO_PICK = 10  # CollectHealth: wait by a kit until health is this low (it drops by 2 a step)


@dataclass
class _Task:
    """What the agent should do now, derived from the env state."""

    mode: str  # "reach", "pickup", "drop" (put the carried object next to the target) or "idle"
    targets: list = field(default_factory=list)
    forbidden_rooms: list = field(default_factory=list)
    forbidden_discs: list = field(default_factory=list)  # (x, z, r): the agent's centre must stay out
    offsets: list | None = None  # extra cost (metres) of each target, added to its path length
    keeps: bool = False  # the picked object stays carried (PutNext), so it must have room where it is picked
    approach: list | None = None  # per target, None or a unit (x, z) vector: pick it up from behind (w.r.t. it)


def _task_name(env) -> str:
    return type(env).__name__


def _class_names(env) -> set[str]:
    return {c.__name__ for c in type(env).__mro__}


def _xz(pos) -> np.ndarray:
    return np.array([pos[0], pos[2]], dtype=float)


def _near_dist(env, ent0, ent1) -> float:
    """The distance below which ``env.near(ent0, ent1)`` holds."""
    return ent0.radius + ent1.radius + 1.1 * env.max_forward_step


def _task(env) -> _Task:
    names = _class_names(env)
    for name, reason in UNSUPPORTED_TASKS.items():
        if name in names:
            raise NotImplementedError(f"{_task_name(env)}: {reason}")
    agent = env.agent
    if "PutNext" in names:
        red, yellow = env.red_box, env.yellow_box
        if agent.carrying is red:
            return _Task("drop", [yellow])
        if agent.carrying is not None or _dist(red, yellow) < _near_dist(env, red, yellow):
            # Something else is carried (not by us), or the boxes already touch: dropping (or any step) finishes.
            return _Task("idle")
        return _Task("pickup", [red], keeps=True)
    if "PickupObjects" in names:
        return _Task("pickup", [e for e in env.entities if e is not agent and not e.is_static])
    if "CollectHealth" in names:
        # Survival needs the next kit close to this one: a kit costs its path length plus the distance from it
        # to its nearest other kit (a kit with no neighbours strands the agent).
        kits = [e for e in env.entities if e is not agent and not e.is_static]
        if len(kits) < 2:
            return _Task("pickup", kits)
        xz = np.array([_xz(k.pos) for k in kits])
        gaps = np.hypot(*(xz[:, None] - xz[None]).transpose(2, 0, 1)) + np.diag(np.full(len(kits), np.inf))
        # Pick each kit from the side facing away from its neighbour: the neighbour then lies straight ahead,
        # rather than up to a half-turn (12 of the 50 steps health lasts) away.
        to_next = xz[gaps.argmin(axis=1)] - xz
        approach = list(to_next / np.linalg.norm(to_next, axis=1, keepdims=True))
        return _Task("pickup", kits, offsets=(_NEIGHBOUR_WEIGHT * gaps.min(axis=1)).tolist(), approach=approach)
    if "Sign" in names:
        goal = env._objects[env._goal][env._color_index]
        others = [o for pair in env._objects for o in pair if o is not goal]
        # Touching any other object ends the episode with -1, so its "near" disc is off limits.
        discs = [(o.pos[0], o.pos[2], _near_dist(env, agent, o) + 0.05) for o in others]
        return _Task("reach", [goal], forbidden_discs=discs)
    if "Sidewalk" in names:
        return _Task("reach", [env.box], forbidden_rooms=[env.street])
    if getattr(env, "box", None) is not None:
        return _Task("reach", [env.box])
    raise NotImplementedError(f"{_task_name(env)}: unknown MiniWorld task (no goal entity `box`)")


def _dist(a, b) -> float:
    return float(math.hypot(a.pos[0] - b.pos[0], a.pos[2] - b.pos[2]))


def is_success(env) -> bool:
    """Whether the task's goal holds in the current state (what the expert works towards).

    Reach tasks: ``env.near(goal)``. PutNext: the red box rests next to the yellow one. PickupObjects: every
    object picked up. CollectHealth (stay alive): health left at the time limit. Sign: near the object whose
    colour is written on the sign and whose kind is ``goal``.
    """
    env = getattr(env, "unwrapped", env)
    names = _class_names(env)
    if "PutNext" in names:
        return env.agent.carrying is None and bool(env.near(env.red_box, env.yellow_box))
    if "PickupObjects" in names:
        return env.num_picked_up == env.num_objs
    if "CollectHealth" in names:
        return env.health > 0 and env.step_count >= env.max_episode_steps
    task = _task(env)
    return bool(env.near(task.targets[0]))


def _discs_clear(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Whether each point is at least the matching radius away from every centre."""
    if len(centres) == 0:
        return np.ones(len(points), dtype=bool)
    dx = points[:, 0, None] - centres[None, :, 0]
    dz = points[:, 1, None] - centres[None, :, 1]
    return np.all(dx * dx + dz * dz >= radii[None] ** 2, axis=1)


def _wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def _seg_dist(points: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """Exact distance from each point (P, 2) to the nearest segment (S, 2, 2), as in ``intersect_circle_segs``."""
    if len(segs) == 0:
        return np.full(len(points), np.inf)
    a, ab = segs[:, 0], segs[:, 1] - segs[:, 0]
    ap = points[:, None, :] - a[None]
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(ap - t[..., None] * ab, axis=-1).min(axis=1)


def _inside(room, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Vectorised ``Room.point_inside`` (strict), grown by ``margin``."""
    outline, norms = room.outline[:, [0, 2]], room.edge_norms[:, [0, 2]]
    dots = ((points[:, None, :] - outline[None]) * norms[None]).sum(-1)
    return np.all(dots > -margin, axis=1)


class _Grid:
    """The rasterised floor plan of one episode: wall distances and forbidden cells."""

    def __init__(self, env, forbidden_rooms: list):
        rooms = [r for r in env.rooms if not any(r is f for f in forbidden_rooms)] or list(env.rooms)
        lo = np.array([min(r.min_x for r in rooms), min(r.min_z for r in rooms)], dtype=float)
        hi = np.array([max(r.max_x for r in rooms), max(r.max_z for r in rooms)], dtype=float)
        area = float(np.prod(hi - lo))
        self.cs = cs = float(np.clip(math.sqrt(area / _CELLS_WANTED), _MIN_CELL, _MAX_CELL))
        # Two cells of padding keep a blocked border, so the search never indexes out of the grid.
        self.origin = lo - 2 * cs
        self.nx, self.nz = (np.ceil((hi - lo) / cs).astype(int) + 4).tolist()
        ix, iz = np.meshgrid(np.arange(self.nx), np.arange(self.nz))
        self.centres = np.stack([self.origin[0] + (ix + 0.5) * cs, self.origin[1] + (iz + 0.5) * cs], axis=-1)
        self.segs = np.asarray(env.wall_segs, dtype=float)[:, :, [0, 2]]
        self.cap = 1.2 * env.agent.radius + 2.0  # no query needs wall distances beyond this (carrying included)
        self.wall = self._wall_distance()
        forbidden = np.zeros((self.nz, self.nx), dtype=bool)
        for room in forbidden_rooms:
            forbidden |= _inside(room, self.centres.reshape(-1, 2)).reshape(self.nz, self.nx)
        self.forbidden = forbidden
        self.forbidden_rooms = forbidden_rooms

    def _wall_distance(self) -> np.ndarray:
        wall = np.full((self.nz, self.nx), self.cap)
        for a, b in self.segs:
            # Only the cells within `cap` of a segment can get a smaller value; touch just that window.
            x0, z0 = self.cell(np.minimum(a, b) - self.cap)
            x1, z1 = self.cell(np.maximum(a, b) + self.cap)
            x0, z0, x1, z1 = max(x0, 0), max(z0, 0), min(x1 + 1, self.nx), min(z1 + 1, self.nz)
            if x0 >= x1 or z0 >= z1:
                continue
            pts = self.centres[z0:z1, x0:x1].reshape(-1, 2)
            d = _seg_dist(pts, np.array([[a, b]])).reshape(z1 - z0, x1 - x0)
            np.minimum(wall[z0:z1, x0:x1], d, out=wall[z0:z1, x0:x1])
        return wall

    def cell(self, p) -> tuple[int, int]:
        q = np.floor((np.asarray(p) - self.origin) / self.cs).astype(int)
        return int(q[0]), int(q[1])

    def index(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat cell index of each point, and whether the point lies on the grid."""
        q = np.floor((points - self.origin) / self.cs).astype(int)
        ok = (q[:, 0] >= 0) & (q[:, 0] < self.nx) & (q[:, 1] >= 0) & (q[:, 1] < self.nz)
        return np.where(ok, q[:, 1] * self.nx + q[:, 0], 0), ok

    def wall_clear(self, points: np.ndarray, radius: float) -> np.ndarray:
        """Exactly whether a disc of ``radius`` at each point misses every wall (``intersect_circle_segs``)."""
        idx, on_grid = self.index(points)
        d = self.wall.ravel()[idx]
        slack = self.cs * math.sqrt(0.5)  # a point is at most this far from its cell centre
        ok = on_grid & (d - slack >= radius)
        unsure = on_grid & ~ok & (d + slack >= radius)
        if unsure.any():
            ok[unsure] = _seg_dist(points[unsure], self.segs) >= radius
        return ok


class _Field:
    """Cost-to-go ``D`` (metres) and desired heading per cell, from Dijkstra over the cells the agent fits in."""

    def __init__(self, grid: _Grid, free: np.ndarray, seed_cost: np.ndarray, seed_dir: np.ndarray, weight):
        nx, n = grid.nx, grid.nz * grid.nx
        free_flat = free.ravel()
        seeds = np.flatnonzero(np.isfinite(seed_cost.ravel()) & free_flat)
        dist, parent = _dijkstra(free_flat, weight.ravel(), seeds, seed_cost.ravel()[seeds], nx, grid.cs)
        d = np.array(dist)
        parent = np.array(parent)
        # Desired heading: towards the cell a short way along the shortest path; in the goal region (where
        # the path ends) the seed direction, e.g. facing the object to pick up.
        end = parent
        for _ in range(max(1, round(_LOOKAHEAD_M / grid.cs)) - 1):
            end = parent[end]
        centres = grid.centres.reshape(-1, 2)
        delta = centres[end] - centres
        heading = np.arctan2(-delta[:, 1], delta[:, 0])
        at_seed = end == np.arange(n)
        heading[at_seed] = seed_dir.ravel()[at_seed]
        # A predicted position can be collision-free while its cell centre is not (the centre is up to half a
        # diagonal away); give such cells the values of their best free neighbour.
        self.d, self.heading = _fill_from_neighbours(d.reshape(grid.nz, nx), heading.reshape(grid.nz, nx), grid.cs)


def _dijkstra(free: np.ndarray, weight: np.ndarray, seeds: np.ndarray, seed_cost: np.ndarray, nx: int, cs: float):
    """Multi-source Dijkstra on an 8-connected grid (flat indices, blocked border), no corner cutting."""
    n = len(free)
    free_l, w = free.tolist(), weight.tolist()
    dist, parent = [math.inf] * n, list(range(n))
    diag = cs * math.sqrt(2.0)
    steps = [(1, cs, 0, 0), (-1, cs, 0, 0), (nx, cs, 0, 0), (-nx, cs, 0, 0),
             (nx + 1, diag, 1, nx), (nx - 1, diag, -1, nx), (-nx + 1, diag, 1, -nx), (-nx - 1, diag, -1, -nx)]
    heap = []
    for s, c in zip(seeds.tolist(), seed_cost.tolist(), strict=True):
        dist[s] = c
        heap.append((c, s))
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        d, c = pop(heap)
        if d > dist[c]:
            continue
        wc = w[c]
        for off, length, a, b in steps:
            nb = c + off
            if not free_l[nb] or (a and not (free_l[c + a] and free_l[c + b])):
                continue
            nd = d + length * 0.5 * (wc + w[nb])
            if nd < dist[nb]:
                dist[nb] = nd
                parent[nb] = c
                push(heap, (nd, nb))
    return dist, parent


def _fill_from_neighbours(d: np.ndarray, heading: np.ndarray, cs: float):
    """Blocked (infinite) cells take ``D`` + step and the heading of their lowest-``D`` neighbour."""
    best_d, best_h = d.copy(), heading.copy()
    blocked = ~np.isfinite(d)
    for dz in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx == 0 and dz == 0:
                continue
            nd = np.roll(d, (dz, dx), axis=(0, 1)) + cs * math.hypot(dx, dz)
            nh = np.roll(heading, (dz, dx), axis=(0, 1))
            better = blocked & (nd < best_d)
            best_d[better], best_h[better] = nd[better], nh[better]
    return best_d, best_h


class _Episode:
    """Everything cached for one episode of one env."""

    def __init__(self, env, task: _Task):
        self.rooms = env.rooms  # identity marks the episode: reset() builds a new list
        self.grid = _Grid(env, task.forbidden_rooms)
        self.field: _Field | None = None
        self.field_key: Any = None


class MiniWorldExpert:
    """The planner with its per-env caches. Call it with a MiniWorld env to get an action index.

    State is cached per env object (weakly) and per episode (a new ``env.rooms`` list marks a new episode), so
    one expert can serve many envs. The action depends only on the env state, not on earlier calls.
    """

    def __init__(self, horizon_m: float = _HORIZON_M):
        self.horizon_m = horizon_m
        self._episodes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __call__(self, env) -> int:
        env = getattr(env, "unwrapped", env)
        task = _task(env)
        if task.mode == "idle" or not task.targets or (task.mode == "reach" and env.near(task.targets[0])):
            # Done already (ThreeRooms never terminates; PutNext ends on the next step): stay put.
            return DROP if task.mode == "idle" and env.agent.carrying is not None else TURN_LEFT
        episode = self._episodes.get(env)
        if episode is None or episode.rooms is not env.rooms:
            episode = _Episode(env, task)
            self._episodes[env] = episode
        action = _Controller(env, task, episode, self.horizon_m).action()
        if action == PICKUP and "CollectHealth" in _class_names(env) and env.health > _HEALTH_TO_PICK:
            # A kit only refills health, and a picked kit respawns anywhere: waiting beside it until health runs
            # low (turning away and back) uses fewer kits, so the agent's surroundings do not run dry.
            return TURN_LEFT
        return action


class _Controller:
    """Scores "turn |k| times, then move forward m times" primitives for the current state (see module doc)."""

    def __init__(self, env, task: _Task, episode: _Episode, horizon_m: float):
        self.env, self.task, self.ep, self.grid = env, task, episode, episode.grid
        agent = env.agent
        self.agent = agent
        self.carrying = agent.carrying
        params = env.params
        self.step = float(params.sample(None, "forward_step"))
        self.turn = math.radians(float(params.sample(None, "turn_step")))
        # With domain randomisation the real step and drift vary around the defaults: keep that much away.
        self.margin = 0.0
        if env.domain_rand:
            fwd, drift = params.params["forward_step"], params.params["forward_drift"]
            self.margin = max(fwd.max - fwd.default, 0.0) + max(abs(drift.min), abs(drift.max))
        self.horizon = int(np.clip(math.ceil(horizon_m / self.step), 2, 40))
        self.obstacles = [e for e in env.entities if e is not agent and e is not self.carrying]
        self.obstacle_xz = np.array([_xz(e.pos) for e in self.obstacles]).reshape(-1, 2)
        self.obstacle_r = np.array([e.radius for e in self.obstacles], dtype=float)
        self.carry_dist = 0.0
        if self.carrying is not None:
            self.carry_dist = 1.05 * (agent.radius + self.carrying.radius + env.max_forward_step)

    # ---- the goal region and the cost-to-go field -------------------------------------------------------

    def _reach_radius(self, target) -> float:
        """Distance from the target within which the field's body completes the task (facing it, where needed)."""
        if self.task.mode == "reach":
            return _near_dist(self.env, self.agent, target)
        if self.task.mode == "pickup":  # pickup tests a disc of 1.2 r, 1.5 r ahead of the agent
            return 2.7 * self.agent.radius + target.radius
        return _near_dist(self.env, self.carrying, target)  # drop: the carried object must end up near it

    def field(self) -> _Field:
        key = (
            self.task.mode,
            tuple(id(t) for t in self.task.targets),
            tuple(id(e) for e in self.obstacles),
            self.obstacle_xz.round(4).tobytes(),
        )
        if self.ep.field is None or self.ep.field_key != key:
            self.ep.field, self.ep.field_key = self._build_field(), key
        return self.ep.field

    def _build_field(self) -> _Field:
        """Dijkstra field for the body that must reach the goal: the agent, or the object it carries."""
        grid = self.grid
        body = self.carrying if self.carrying is not None else self.agent
        pts = grid.centres
        clearance = grid.wall - body.radius - self.margin
        for e in self.obstacles:
            gap = np.hypot(pts[..., 0] - e.pos[0], pts[..., 1] - e.pos[2]) - e.radius
            clearance = np.minimum(clearance, gap - body.radius - self.margin)
        for x, z, rad in self.task.forbidden_discs:
            clearance = np.minimum(clearance, np.hypot(pts[..., 0] - x, pts[..., 1] - z) - rad)
        free = (clearance >= 0) & ~grid.forbidden
        weight = 1.0 + _WALL_PENALTY * np.clip(1.0 - clearance / _WALL_PENALTY_M, 0.0, 1.0)
        free[[0, -1], :] = free[:, [0, -1]] = False  # the search relies on a blocked border
        # Goal region: cells within reach of a target; where targets overlap, the cheapest one counts.
        seed_cost = np.full(free.shape, np.inf)
        seed_dir = np.full(free.shape, np.nan)
        offsets = self.task.offsets or [0.0] * len(self.task.targets)
        approach = self.task.approach or [None] * len(self.task.targets)
        for t, offset, side in zip(self.task.targets, offsets, approach, strict=True):
            dx, dz = t.pos[0] - pts[..., 0], t.pos[2] - pts[..., 1]
            inside = np.hypot(dx, dz) < self._reach_radius(t) - 0.5 * grid.cs
            if side is not None:
                inside &= dx * side[0] + dz * side[1] >= 0
            better = inside & (offset < seed_cost)
            seed_cost[better] = offset
            seed_dir[better] = np.arctan2(-dz, dx)[better]
        return _Field(grid, free, seed_cost, seed_dir, weight)

    # ---- exact checks of predicted states ------------------------------------------------------------------

    def _agent_ok(self, p: np.ndarray) -> np.ndarray:
        """Whether the agent can stand at each point (P, 2): the checks of ``MiniWorldEnv.intersect``."""
        r = self.agent.radius + self.margin
        ok = self.grid.wall_clear(p, r)
        # Only obstacles within reach of the primitives can matter (skips e.g. the far-away building meshes).
        reach = self.horizon * self.step + self.carry_dist + 2 * r + self.obstacle_r
        near = np.hypot(*(self.obstacle_xz - _xz(self.agent.pos)).T) < reach
        ok &= _discs_clear(p, self.obstacle_xz[near], r + self.obstacle_r[near])
        if self.task.forbidden_discs:
            discs = np.array(self.task.forbidden_discs)
            ok &= _discs_clear(p, discs[:, :2], discs[:, 2])
        for room in self.task.forbidden_rooms:
            ok &= ~_inside(room, p, self.margin)
        return ok

    def _carried_ok(self, c: np.ndarray) -> np.ndarray:
        """Whether the carried object fits at each point (the agent itself is always far enough)."""
        rad = self.carrying.radius + self.margin
        return self.grid.wall_clear(c, rad) & _discs_clear(c, self.obstacle_xz, rad + self.obstacle_r)

    def _swing_free(self, p: np.ndarray) -> np.ndarray:
        """Whether the carried object can turn full circle round an agent standing at each point."""
        reach = self.carry_dist + self.carrying.radius + self.margin
        return self.grid.wall_clear(p, reach) & _discs_clear(p, self.obstacle_xz, reach + self.obstacle_r)

    def _room_to_carry(self, p: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Whether an object picked up at pose (p, h) fits where it will be carried, also after a turn either way.

        Picking up moves the object in front of the agent unchecked; wedged against a wall or a box, it would
        block every turn and forward move.
        """
        target = self.task.targets[0]
        dist = 1.05 * (self.agent.radius + target.radius + self.env.max_forward_step)
        others = [i for i, e in enumerate(self.obstacles) if e is not target]
        rad = target.radius + self.margin
        ok = np.ones(len(p), dtype=bool)
        for side in (-1.0, 0.0, 1.0):
            a = h + side * self.turn
            c = p + np.stack([np.cos(a), -np.sin(a)], axis=-1) * dist
            ok &= self.grid.wall_clear(c, rad)
            ok &= _discs_clear(c, self.obstacle_xz[others], rad + self.obstacle_r[others])
        return ok

    def _pickup_ok(self, p: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Whether ``pickup`` at pose (p, u) would grab a target: ``MiniWorldEnv.step``'s test, entity order and all."""
        r = self.agent.radius
        test = p + u * 1.5 * r
        ok = self.grid.wall_clear(test, 1.2 * r)  # a wall hit returns True from intersect: nothing is picked
        first_is_target = np.zeros(len(p), dtype=bool)
        undecided = np.ones(len(p), dtype=bool)
        approach = self.task.approach or [None] * len(self.task.targets)
        sides = {id(t): side for t, side in zip(self.task.targets, approach, strict=True)}
        for e in self.env.entities:
            if e is self.agent:
                continue
            hit = undecided & (np.hypot(test[:, 0] - e.pos[0], test[:, 1] - e.pos[2]) < 1.2 * r + e.radius)
            if id(e) in sides and not e.is_static:
                side = sides[id(e)]
                wanted = True if side is None else (e.pos[0] - p[:, 0]) * side[0] + (e.pos[2] - p[:, 1]) * side[1] >= 0
                first_is_target |= hit & wanted
            undecided &= ~hit
        return ok & first_is_target

    # ---- the decision ------------------------------------------------------------------------------------------

    def action(self) -> int:
        fld = self.field()
        n = max(1, math.ceil(2 * math.pi / self.turn - 1e-6))
        ks = np.arange(-(n // 2), n - n // 2)  # turns: positive = left (dir grows)
        headings = self.agent.dir + ks * self.turn
        u = np.stack([np.cos(headings), -np.sin(headings)], axis=-1)  # Entity.dir_vec in (x, z)
        ms = np.arange(self.horizon + 1)
        p0 = _xz(self.agent.pos)
        pts = p0 + u[:, None, :] * (ms * self.step)[None, :, None]  # (K, M+1, 2)
        flat, flat_u = pts.reshape(-1, 2), np.repeat(u, len(ms), axis=0)
        shape = pts.shape[:2]

        ok = self._agent_ok(flat).reshape(shape)
        ok[:, 0] = True  # where the agent stands now
        settled = np.ones(shape, dtype=bool)
        if self.carrying is not None:
            carried_ok = self._carried_ok(flat + flat_u * self.carry_dist).reshape(shape)
            ok &= carried_ok
            ok[:, 0] &= _turns_ok(carried_ok[:, 0], ks)
            # A carried object can wedge the agent between walls and boxes where it can neither turn nor go on.
            # The cost-to-go assumes free turning, so primitives must end where the object can swing round.
            settled = self._swing_free(flat).reshape(shape)
        ok = np.logical_and.accumulate(ok, axis=1)  # every step of a primitive must be possible

        mode = self.task.mode
        if mode == "reach":
            target = self.task.targets[0]
            done = np.hypot(flat[:, 0] - target.pos[0], flat[:, 1] - target.pos[2]) < _near_dist(
                self.env, self.agent, target
            )
            final_cost = 0.0
        elif mode == "pickup":
            done = self._pickup_ok(flat, flat_u)
            if self.task.keeps and done.any():
                done[done] = self._room_to_carry(flat[done], np.repeat(headings, len(ms))[done])
            final_cost = 1.0  # the pickup action itself
        else:
            target = self.task.targets[0]
            c = flat + flat_u * self.carry_dist
            done = np.hypot(c[:, 0] - target.pos[0], c[:, 1] - target.pos[2]) < _near_dist(
                self.env, self.carrying, target
            )
            final_cost = 1.0  # the drop action
        done = done.reshape(shape)

        # The field is for the body that must reach the goal: while carrying, the object in front of the agent.
        idx, on_grid = self.grid.index(flat + flat_u * self.carry_dist if self.carrying is not None else flat)
        togo = np.where(on_grid, fld.d.ravel()[idx], np.inf).reshape(shape)
        want = fld.heading.ravel()[idx].reshape(shape)
        err = np.abs(_wrap(headings[:, None] - want))
        turns_left = np.where(np.isnan(want), 0.0, np.maximum(err - 0.5 * self.turn, 0.0) / self.turn)
        base = np.abs(ks)[:, None] + ms[None, :]
        cost = np.where(done, base + final_cost, base + togo / self.step + turns_left)
        cost[:, 0] = np.where(done[:, 0], cost[:, 0], np.inf)  # standing still is not an action
        cost[~ok | ~(settled | done)] = np.inf

        flat_best = int(np.argmin(cost))
        k_i, m = divmod(flat_best, len(ms))
        if not np.isfinite(cost.ravel()[flat_best]):
            return self._fallback(ok, ks, headings)
        k = int(ks[k_i])
        if k > 0:
            return TURN_LEFT
        if k < 0:
            return TURN_RIGHT
        if m > 0:
            return MOVE_FORWARD
        return PICKUP if mode == "pickup" else DROP

    def _fallback(self, ok: np.ndarray, ks: np.ndarray, headings: np.ndarray) -> int:
        """No primitive is possible (e.g. wedged by a carried object): back off, else face the nearest target."""
        p0 = _xz(self.agent.pos)
        if self.env.action_space.n > MOVE_BACK and "Sign" not in _class_names(self.env):  # Sign's 3 is "done"
            u = self.agent.dir_vec[[0, 2]]
            back = (p0 - u * self.step)[None]
            if self._agent_ok(back)[0] and (self.carrying is None or self._carried_ok(back + u * self.carry_dist)[0]):
                return MOVE_BACK
        t = min(self.task.targets, key=lambda e: float(np.hypot(*(_xz(e.pos) - p0))))
        want = math.atan2(-(t.pos[2] - p0[1]), t.pos[0] - p0[0])
        score = np.abs(ks) + np.abs(_wrap(headings - want)) / self.turn
        score[~ok[:, 1]] = np.inf
        k = int(ks[int(np.argmin(score))]) if np.isfinite(score).any() else 1
        return TURN_LEFT if k > 0 else TURN_RIGHT if k < 0 else MOVE_FORWARD


def _turns_ok(fits: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Turning k times is possible if the carried object fits at every heading passed on the way."""
    zero = int(np.flatnonzero(ks == 0)[0])
    out = np.ones(len(ks), dtype=bool)
    out[zero + 1 :] = np.logical_and.accumulate(fits[zero + 1 :])
    out[:zero] = np.logical_and.accumulate(fits[:zero][::-1])[::-1]
    return out


_DEFAULT_EXPERT = MiniWorldExpert()


def expert_action(env) -> int:
    """The MiniWorld action index (0 turn_left ... 7 done) that makes progress towards the task's goal.

    ``env`` is a ``MiniWorldEnv`` (wrappers are unwrapped). Raises ``NotImplementedError`` for tasks without a
    goal the expert can pursue (see ``UNSUPPORTED_TASKS``). The per-episode grid is cached on first use.
    """
    return _DEFAULT_EXPERT(env)
