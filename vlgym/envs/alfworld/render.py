"""The picture of an ALFWorld state: a floor-plan map of the room beside what the agent sees and holds.

ALFWorld's own frames come from AI2-THOR (Unity, a GPU and an X server); this drawing needs none. The map
shows the room's floor (the reachable points of the AI2-THOR floor plan, when known), every receptacle at its
position in the room, labelled as the text names it ("cabinet 3"), filled green when open and grey when
closed, the receptacles the agent is at ringed in orange, and the agent as a red disc with a pointer in the
direction it faces. The panel on the right repeats the goal, where the agent is, what it sees there and what it
holds, with the text's names (and the states the tasks ask for: "apple 1 (hot)").

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
        m = self.marker
        pixels = {r: self.layout.to_pixels(*xz) for r, xz in self.positions.items()}
        taken = [(px - m, pz - m, px + m, pz + m) for px, pz in pixels.values()]  # labels avoid all markers
        face = drawing.font(self.font)
        for r in world.by_name(self.positions):
            label = world.name(r)
            box, leader = self._place_label(pixels[r], face.getlength(label), taken)
            taken.append(box)
            if leader:
                draw.line((*pixels[r], (box[0] + box[2]) / 2, (box[1] + box[3]) / 2), fill=(160, 160, 160))
            drawing.text(draw, box[:2], label, self.font, TEXT)
        return image

    def _place_label(self, anchor, width, taken) -> tuple[tuple[float, float, float, float], bool]:
        """The first free spot for a label around ``anchor`` (nearest ring first, inside the map), else the
        spot that overlaps least; and whether it is far enough from its marker to need a leader line."""
        px, pz = anchor
        h, best = self.font + 1, None
        for ring, radius in enumerate((self.marker + 2, 3 * self.marker + 6, 5 * self.marker + 14)):
            for k in range(8):
                angle = k * math.pi / 4
                cx, cz = px + radius * math.cos(angle), pz - radius * math.sin(angle)
                # Anchor the label's near edge at the ring point, on the side it points to.
                x0 = cx if math.cos(angle) > 0.3 else cx - width if math.cos(angle) < -0.3 else cx - width / 2
                z0 = cz - h if math.sin(angle) > 0.3 else cz if math.sin(angle) < -0.3 else cz - h / 2
                x0 = min(max(x0, self.map_x + 2), self.map_x + self.map_size - width - 2)
                z0 = min(max(z0, 2), self.map_size - h - 2)
                box = (x0, z0, x0 + width, z0 + h)
                cost = sum(_overlap_area(box, other) for other in taken)
                if best is None or cost < best[0]:
                    best = (cost, box, ring > 0)
                if cost == 0:
                    return box, ring > 0
        return best[1], best[2]

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


def _overlap_area(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _wrap(text: str, size: int, width: float, colour) -> list[tuple[str, tuple[int, int, int]]]:
    face, lines, line = drawing.font(size), [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and face.getlength(candidate) > width:
            lines.append((line, colour))
            candidate = word
        line = candidate
    return [*lines, (line, colour)] if line else lines
