"""The picture of an ALFWorld state: a floor-plan map of the room beside what the agent sees and holds.

ALFWorld's own frames come from AI2-THOR (Unity, a GPU and an X server); this drawing needs none. The map
shows the room's floor (the reachable points of the AI2-THOR floor plan, when known), every receptacle at its
position in the room, labelled as the text names it ("cabinet 3"), filled green when open and grey when
closed, the receptacles the agent is at ringed in orange, and the agent as a red disc with a pointer in the
direction it faces. Labels never overlap each other, a marker or any spot the agent can stand on: each takes
the free place nearest its marker (crowded markers first), with a leader line when it sits away from it, and a
room too crowded for the map's font gets a smaller one. The panel on the right repeats the goal, where the agent
is, what it sees there and what it holds, with the text's names (and the states the tasks ask for: "apple 1
(hot)").

The map's background (floor and labels) is drawn once per game; each frame draws the state on a copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from vlgym.core import drawing
from vlgym.envs.alfworld.names import coordinates, location_pose
from vlgym.envs.alfworld.world import World

BACKGROUND = (246, 244, 238)
FLOOR = (222, 214, 198)
OUTLINE = (70, 70, 70)
OPEN_FILL = (120, 200, 120)
CLOSED_FILL = (150, 150, 150)
PLAIN_FILL = (255, 255, 255)
HERE_RING = (240, 140, 20)
AGENT = (210, 40, 40)
TEXT = (25, 25, 25)
HEADING = (30, 70, 150)
MIN_LABEL_FONT = 7
LABEL_PAD = 3  # pixels of margin left and right of a label's text


@dataclass
class _Layout:
    """Room metres to map pixels: x to the right, z up, the room centred in the square."""

    scale: float
    x0: float
    z1: float
    left: float
    top: float

    def to_pixels(self, x: float, z: float) -> tuple[float, float]:
        return self.left + (x - self.x0) * self.scale, self.top + (self.z1 - z) * self.scale


class MapRenderer:
    """Draws the states of one game (built once per game, after its first state is known)."""

    def __init__(self, world: World, goal: str, floor: np.ndarray | None, height: int, width: int):
        self.goal, self.height, self.width = goal, height, width
        gap = max(4, min(height, width) // 100)
        if width >= 1.3 * height:  # landscape: the map on the left, the panel on its right
            self.map_size = min(height, int(width * 0.62))
            self.map_x, self.panel_box = 0, (self.map_size + gap, 4, width - 4)
        else:  # square or portrait: the map on top, centred, the panel below it
            self.map_size = min(width, int(height * 0.7))
            self.map_x, self.panel_box = (width - self.map_size) // 2, (4, self.map_size + gap, width - 4)
        self.font = max(8, round(self.map_size / 32))
        self.panel_font = max(self.font, round(min(height, width) / 34))
        self.positions = self._receptacle_positions(world)
        points = [p for p in self.positions.values()]
        locations = {loc: location_pose(loc) for loc in {*world.receptacle_location.values(), world.agent_location}}
        self.poses = {loc: pose for loc, pose in locations.items() if pose is not None}
        points += [(x, z) for x, z, _ in self.poses.values()]
        if floor is not None and len(floor):
            points += [tuple(p) for p in floor]
        xs, zs = [p[0] for p in points] or [0.0], [p[1] for p in points] or [0.0]
        width, depth = max(xs) - min(xs), max(zs) - min(zs)
        scale = self.map_size * 0.88 / max(width, depth, 1.0)
        self.layout = _Layout(scale, min(xs), max(zs), self.map_x + (self.map_size - width * scale) / 2,
                              (self.map_size - depth * scale) / 2)
        self.marker = max(3, round(self.map_size / 70))
        self.background = self._background(world, floor)

    @staticmethod
    def _receptacle_positions(world: World) -> dict[str, tuple[float, float]]:
        """Each receptacle's (x, z): from its THOR id, else from its location, else on a circle."""
        positions = {}
        receptacles = world.by_name(world.receptacle_class)
        for i, r in enumerate(receptacles):
            pose = location_pose(world.receptacle_location.get(r, ""))
            xz = coordinates(r) or (pose[:2] if pose else None)
            if xz is None:
                angle = 2 * math.pi * i / max(1, len(receptacles))
                xz = (math.cos(angle) * 3, math.sin(angle) * 3)
            positions[r] = xz
        # Stacked receptacles (upper and lower cabinets) share x, z: fan them out so that each stays visible.
        seen: dict[tuple[int, int], int] = {}
        for r, (x, z) in positions.items():
            key = (round(x * 5), round(z * 5))
            k = seen.get(key, 0)
            seen[key] = k + 1
            if k:
                positions[r] = (x + 0.18 * math.cos(k * 2.1), z + 0.18 * math.sin(k * 2.1))
        return positions

    def _background(self, world: World, floor: np.ndarray | None) -> Image.Image:
        image = Image.new("RGB", (self.width, self.height), BACKGROUND)
        draw = ImageDraw.Draw(image)
        draw.rectangle((self.map_x, 0, self.map_x + self.map_size - 1, self.map_size - 1), fill=(255, 255, 255),
                       outline=OUTLINE)
        if floor is not None:
            half = 0.125 * self.layout.scale + 0.5
            for x, z in floor:
                px, pz = self.layout.to_pixels(float(x), float(z))
                draw.rectangle((px - half, pz - half, px + half, pz + half), fill=FLOOR)
        pixels = {r: self.layout.to_pixels(*xz) for r, xz in self.positions.items()}
        self.label_font, self.label_boxes = self._place_labels(world, pixels)
        for r, box in self.label_boxes.items():
            px, pz = pixels[r]
            cx, cz = min(max(px, box[0]), box[2]), min(max(pz, box[1]), box[3])
            if math.hypot(cx - px, cz - pz) > 2 * self.marker + 3:  # far from its marker: a leader line
                draw.line((px, pz, cx, cz), fill=(160, 160, 160))
            drawing.text(draw, (box[0] + LABEL_PAD, box[1]), world.name(r), self.label_font, TEXT)
        return image

    def obstacle_boxes(self) -> list[tuple[float, float, float, float]]:
        """What labels must leave free: every receptacle's marker and ring, and the agent's disc at every spot it
        can stand on."""
        m = self.marker
        boxes = [(px - 2 * m, pz - 2 * m, px + 2 * m, pz + 2 * m)
                 for px, pz in (self.layout.to_pixels(*xz) for xz in self.positions.values())]
        for x, z, _ in self.poses.values():
            px, pz = self.layout.to_pixels(x, z)
            boxes.append((px - 1.3 * m - 1, pz - 1.3 * m - 1, px + 1.3 * m + 1, pz + 1.3 * m + 1))
        return boxes

    def _place_labels(self, world: World, pixels: dict) -> tuple[int, dict[str, tuple[float, float, float, float]]]:
        """A box per receptacle label that overlaps no other label, marker or agent spot, as close to its marker
        as possible: in the map font, else in smaller ones; at the smallest, the spot that overlaps least."""
        fixed = np.array(self.obstacle_boxes(), dtype=np.float64).reshape(-1, 4)
        for size in range(self.font, MIN_LABEL_FONT - 1, -1):
            face, boxes, clear = drawing.font(size), {}, True
            placed = fixed
            for r in _crowded_first(pixels, 4 * self.marker):
                width = face.getlength(world.name(r)) + 2 * LABEL_PAD  # a gap between neighbouring labels
                box, free = self._label_box(pixels[r], width, size + 1, placed)
                boxes[r], clear = box, clear and free
                placed = np.vstack([placed, box])
            if clear:
                break
        return size, boxes

    def _label_box(self, anchor, width: float, height: int, placed: np.ndarray):
        """The first free box for a label on rings of growing radius around ``anchor`` (inside the map), and
        whether it is free; else the box that overlaps least."""
        px, pz = anchor
        lo, hi = (self.map_x + 2, 2), (self.map_x + self.map_size - 2, self.map_size - 2)
        candidates = []
        for radius in np.arange(self.marker + 2, self.map_size, max(3.0, height * 0.75)):
            angles = np.linspace(0, 2 * np.pi, max(8, int(2 * np.pi * radius / 6)), endpoint=False)
            cx, cz = px + radius * np.cos(angles), pz - radius * np.sin(angles)
            # The label's near edge at the ring point, on the side it points to.
            x0 = np.where(np.cos(angles) > 0.3, cx, np.where(np.cos(angles) < -0.3, cx - width, cx - width / 2))
            z0 = np.where(np.sin(angles) > 0.3, cz - height, np.where(np.sin(angles) < -0.3, cz, cz - height / 2))
            x0 = np.clip(x0, lo[0], hi[0] - width)
            z0 = np.clip(z0, lo[1], hi[1] - height)
            ring = np.stack([x0, z0, x0 + width, z0 + height], axis=1)
            overlap = (np.clip(np.minimum(ring[:, None, 2], placed[None, :, 2])
                               - np.maximum(ring[:, None, 0], placed[None, :, 0]), 0, None)
                       * np.clip(np.minimum(ring[:, None, 3], placed[None, :, 3])
                                 - np.maximum(ring[:, None, 1], placed[None, :, 1]), 0, None)).sum(axis=1)
            free = np.flatnonzero(overlap == 0)
            if free.size:
                return tuple(ring[free[0]]), True
            candidates.append((overlap.min(), tuple(ring[overlap.argmin()])))
        return min(candidates)[1], False

    def render(self, world: World) -> np.ndarray:
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        here = set(world.receptacles_here())
        m = self.marker
        for r, xz in self.positions.items():
            px, pz = self.layout.to_pixels(*xz)
            fill = PLAIN_FILL if r not in world.openable else OPEN_FILL if r in world.opened else CLOSED_FILL
            if r in here:
                draw.ellipse((px - 2 * m, pz - 2 * m, px + 2 * m, pz + 2 * m), outline=HERE_RING, width=max(2, m // 2))
            draw.rectangle((px - m, pz - m, px + m, pz + m), fill=fill, outline=OUTLINE)
        pose = self.poses.get(world.agent_location)
        if pose is not None:
            px, pz = self.layout.to_pixels(pose[0], pose[1])
            yaw = math.radians(pose[2])  # 0 faces +z (up on the map), 90 faces +x
            tip = (px + 2.6 * m * math.sin(yaw), pz - 2.6 * m * math.cos(yaw))
            draw.line((px, pz, *tip), fill=AGENT, width=max(2, m // 2))
            draw.ellipse((px - 1.3 * m, pz - 1.3 * m, px + 1.3 * m, pz + 1.3 * m), fill=AGENT, outline=OUTLINE)
        self._panel(draw, world, here)
        return drawing.to_array(image)

    def _panel(self, draw: ImageDraw.ImageDraw, world: World, here: set[str]) -> None:
        """The goal, where the agent is, what it sees there and what it holds, in the largest font that fits."""
        x, y, right = self.panel_box
        at = ", ".join(world.name(r) for r in world.by_name(here)) or "the middle of the room"
        sections = [("Task", [self.goal]), ("You are at", [at])]
        for r in world.by_name(here):
            if world.is_visible(r):
                seen = ", ".join(_label(world, o) for o in world.contents.get(r, ())) or "nothing"
                sections[-1][1].append(f"{world.name(r)}{' (open)' if r in world.openable else ''}: {seen}")
            else:
                sections[-1][1].append(f"{world.name(r)}: closed")
        sections.append(("In hand", [", ".join(_label(world, o) for o in world.held) or "nothing"]))
        for size in range(self.panel_font, 7, -1):
            lines = []
            for heading, texts in sections:
                lines += [("", TEXT)] * bool(lines) + [(heading, HEADING)]
                lines += [line for text in texts for line in _wrap(text, size, right - x, TEXT)]
            if y + len(lines) * round(size * 1.25) <= self.height:
                break
        for text, colour in lines:
            if y + size > self.height:
                break
            drawing.text(draw, (x, y), text, size, colour, bold=colour == HEADING)
            y += round(size * 1.25)


def _label(world: World, obj: str) -> str:
    """An object's name, with the states the tasks ask for: "apple 1 (hot)"."""
    states = [word for word, objs in (("hot", world.hot), ("cool", world.cool), ("clean", world.clean),
                                      ("on", world.toggled)) if obj in objs]
    return f"{world.name(obj)} ({', '.join(states)})" if states else world.name(obj)


def _crowded_first(pixels: dict[str, tuple[float, float]], radius: float) -> list[str]:
    """Receptacles with the most neighbours within ``radius`` pixels first: they get the free spots near them."""
    points = np.array(list(pixels.values()), dtype=np.float64).reshape(-1, 2)
    near = (np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)) < radius).sum(axis=1)
    return [r for _, r in sorted(zip(-near, pixels, strict=True))]


def _wrap(text: str, size: int, width: float, colour) -> list[tuple[str, tuple[int, int, int]]]:
    face, lines, line = drawing.font(size), [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and face.getlength(candidate) > width:
            lines.append((line, colour))
            candidate = word
        line = candidate
    return [*lines, (line, colour)] if line else lines
