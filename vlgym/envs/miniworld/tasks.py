"""The MiniWorld tasks vlgym exposes: their action names, goals and instructions.

Kept free of any MiniWorld import so that ``import vlgym`` registers the ids without loading OpenGL; a test
checks this table against the installed MiniWorld (ids, action-space sizes, time limits).
"""

from __future__ import annotations

from dataclasses import dataclass

MOVES = ("turn left", "turn right", "move forward", "move back")
ALL_ACTIONS = (*MOVES, "pick up", "drop", "toggle", "done")
#: MiniWorld's action index for each canonical action name (Sign's "done" is its own index 3, see below).
ACTION_INDEX = {name: i for i, name in enumerate(ALL_ACTIONS)}


@dataclass(frozen=True)
class Task:
    """One MiniWorld task as vlgym presents it."""

    name: str
    actions: tuple[str, ...]
    goal: str  # how success is decided: box, putnext, pickup, survive, sign, none
    instruction: str
    time_limit: int  # MiniWorld's own episode length (vlgym's default step limit)
    description: str

    def action_index(self, action: str) -> int:
        # Sign replaces move_back (3) by "end the episode", which vlgym calls "done".
        return 3 if self.goal == "sign" and action == "done" else ACTION_INDEX[action]


def _box_task(name: str, instruction: str, time_limit: int, description: str) -> Task:
    # MiniWorld's action space stops at move_forward for these tasks, but its step() also executes move_back,
    # which the VL-DAC/RL4VLM prompts offer: vlgym offers it too.
    return Task(name, MOVES, "box", instruction, time_limit, description)


_ONE_ROOM = "Go to the red box in the room."
_HALLWAY = "Go to the red box at the end of the hallway."
_TMAZE = "Go to the red box at one end of the T-shaped maze."
_YMAZE = "Go to the red box at the end of one arm of the Y-shaped maze."
_MAZE = "Find the red box in the maze and go to it."

TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        _box_task("OneRoom", _ONE_ROOM, 180, "Go to a red box in a 10x10 room."),
        _box_task("OneRoomS6", _ONE_ROOM, 100, "Go to a red box in a 6x6 room."),
        _box_task("OneRoomS6Fast", _ONE_ROOM, 50, "Go to a red box in a 6x6 room, with larger steps."),
        _box_task("Hallway", _HALLWAY, 250, "Go to a red box at the end of a hallway."),
        _box_task("FourRooms", "Go to the red box. It is in one of four rooms joined by openings.", 250,
                  "Go to a red box in one of four connected rooms."),
        _box_task("WallGap", "Go to the red box behind the wall: pass through the gap in the wall.", 300,
                  "Go through a gap in a wall to a red box."),
        _box_task("TMaze", _TMAZE, 280, "Go to a red box at a random end of a T-maze."),
        _box_task("TMazeLeft", _TMAZE, 280, "Go to a red box at the left end of a T-maze."),
        _box_task("TMazeRight", _TMAZE, 280, "Go to a red box at the right end of a T-maze."),
        _box_task("YMaze", _YMAZE, 280, "Go to a red box at a random arm of a Y-maze."),
        _box_task("YMazeLeft", _YMAZE, 280, "Go to a red box at the left arm of a Y-maze."),
        _box_task("YMazeRight", _YMAZE, 280, "Go to a red box at the right arm of a Y-maze."),
        _box_task("ThreeRooms", "Go to the red box. It is in one of three connected rooms.", 400,
                  "Go to a red box in one of three connected rooms."),
        _box_task("Maze", _MAZE, 1536, "Find a red box in an 8x8 maze."),
        _box_task("MazeS2", _MAZE, 96, "Find a red box in a 2x2 maze."),
        _box_task("MazeS3", _MAZE, 216, "Find a red box in a 3x3 maze."),
        _box_task("MazeS3Fast", _MAZE, 300, "Find a red box in a 3x3 maze, with larger steps."),
        _box_task("Sidewalk", "Walk along the sidewalk to the red box. Do not step into the street.", 150,
                  "Walk along a sidewalk to a red box without entering the street."),
        Task("PickupObjects", (*MOVES, "pick up"), "pickup", "Pick up every object in the room.", 400,
             "Pick up every object in a room."),
        Task("PutNext", ALL_ACTIONS, "putnext",
             "Put the red box next to the yellow box: pick up the red box, carry it there and drop it.", 250,
             "Carry the red box next to the yellow box."),
        Task("CollectHealth", ALL_ACTIONS, "survive",
             "Stay alive: your health drops every step; pick up the health kits to restore it.", 1000,
             "Survive by picking up health kits (success: alive at the time limit)."),
        Task("RoomObjects", ALL_ACTIONS, "none", "Explore the room and look at the objects in it.", 1000,
             "Explore a room with objects (no goal: never a success)."),
        Task("Sign", ("turn left", "turn right", "move forward", "done"), "sign",
             "Read the sign on the wall. Touch the object of the goal's shape in the colour the sign names, "
             "and no other object; 'done' ends the episode.", 20,
             "Touch the object whose colour a sign names and whose shape the text gives."),
    ]
}
