"""Product pictures: synthetic products' ``vlgym:<shape>:<colour>:<variant>`` URLs are drawn here (a
silhouette of the product type filled with the option's colour, so colour choices show on screen); any
other URL (the released data's Amazon links, unreachable offline) gets a neutral placeholder."""

from __future__ import annotations

import base64
import io
from functools import lru_cache

from PIL import Image, ImageDraw

from vlgym.core import drawing
from vlgym.envs.webshop.colors import PALETTE

SIZE = 256
_BACKGROUNDS = ((248, 248, 248), (244, 246, 250), (250, 247, 242), (243, 248, 244))
_ACCENTS = ((60, 60, 60), (200, 200, 200), (180, 140, 60), (90, 110, 160))

# Shapes on a 100 x 100 grid: ("poly", points) | ("rect", box) | ("ellipse", box), with the part's role:
# "main" (the product colour), "accent" (the variant's accent) or "dark".
_SHAPES: dict[str, list[tuple[str, str, tuple]]] = {
    "shoe": [("main", "poly", (8, 62, 30, 40, 48, 42, 60, 52, 88, 60, 92, 72, 8, 72)),
             ("accent", "rect", (8, 72, 92, 80))],
    "boot": [("main", "poly", (30, 15, 58, 15, 58, 55, 88, 62, 90, 76, 30, 76)), ("accent", "rect", (30, 76, 90, 84))],
    "shirt": [("main", "poly", (30, 14, 42, 10, 58, 10, 70, 14, 90, 30, 80, 42, 72, 36, 72, 88, 28, 88, 28, 36,
                                20, 42, 10, 30))],
    "dress": [("main", "poly", (40, 8, 60, 8, 62, 34, 84, 90, 16, 90, 38, 34)), ("accent", "rect", (38, 34, 62, 38))],
    "pants": [("main", "poly", (28, 10, 72, 10, 78, 90, 56, 90, 50, 36, 44, 90, 22, 90))],
    "jacket": [("main", "poly", (30, 12, 70, 12, 90, 30, 88, 88, 12, 88, 10, 30)), ("dark", "rect", (49, 14, 51, 88))],
    "lipstick": [("accent", "rect", (36, 50, 64, 92)), ("main", "poly", (40, 50, 40, 20, 60, 10, 60, 50))],
    "bottle": [("main", "rect", (28, 34, 72, 92)), ("accent", "rect", (40, 12, 60, 34))],
    "brush": [("accent", "rect", (46, 40, 54, 94)), ("main", "ellipse", (36, 6, 64, 46))],
    "palette": [("accent", "rect", (10, 24, 90, 80)), ("main", "ellipse", (18, 32, 42, 52)),
                ("main", "ellipse", (46, 32, 70, 52)), ("main", "ellipse", (18, 56, 42, 74)),
                ("main", "ellipse", (46, 56, 70, 74))],
    "dryer": [("main", "ellipse", (10, 18, 60, 58)), ("main", "rect", (48, 28, 90, 48)),
              ("main", "rect", (24, 50, 40, 92))],
    "earbuds": [("main", "ellipse", (14, 30, 44, 60)), ("main", "rect", (24, 56, 34, 86)),
                ("main", "ellipse", (56, 30, 86, 60)), ("main", "rect", (66, 56, 76, 86))],
    "headphones": [("main", "ellipse", (14, 12, 86, 80)), ("bg", "ellipse", (22, 20, 78, 80)),
                   ("main", "rect", (10, 50, 30, 86)), ("main", "rect", (70, 50, 90, 86))],
    "phone": [("main", "rect", (30, 6, 70, 94)), ("dark", "rect", (34, 12, 66, 84))],
    "speaker": [("main", "rect", (16, 30, 84, 76)), ("accent", "ellipse", (24, 38, 44, 68)),
                ("accent", "ellipse", (56, 38, 76, 68))],
    "charger": [("main", "rect", (28, 30, 72, 82)), ("accent", "rect", (38, 14, 44, 30)),
                ("accent", "rect", (56, 14, 62, 30))],
    "mouse": [("main", "ellipse", (28, 12, 72, 90)), ("dark", "rect", (49, 12, 51, 40))],
    "chair": [("main", "rect", (28, 8, 72, 50)), ("main", "rect", (20, 50, 80, 62)), ("dark", "rect", (47, 62, 53, 80)),
              ("dark", "rect", (24, 80, 76, 86))],
    "table": [("main", "rect", (8, 40, 92, 50)), ("main", "rect", (14, 50, 22, 86)),
              ("main", "rect", (78, 50, 86, 86))],
    "sofa": [("main", "rect", (10, 30, 90, 60)), ("main", "rect", (4, 44, 18, 78)), ("main", "rect", (82, 44, 96, 78)),
             ("main", "rect", (14, 58, 86, 78)), ("dark", "rect", (14, 78, 20, 86)),
             ("dark", "rect", (80, 78, 86, 86))],
    "shelf": [("main", "rect", (20, 6, 80, 94)), ("bg", "rect", (26, 12, 74, 30)), ("bg", "rect", (26, 36, 74, 54)),
              ("bg", "rect", (26, 60, 74, 88))],
    "bed": [("main", "rect", (6, 30, 22, 84)), ("main", "rect", (6, 56, 94, 74)), ("accent", "rect", (22, 48, 92, 56))],
    "lamp": [("main", "poly", (30, 12, 70, 12, 82, 46, 18, 46)), ("dark", "rect", (48, 46, 52, 82)),
             ("dark", "rect", (34, 82, 66, 88))],
    "bar": [("main", "rect", (14, 26, 86, 74)), ("accent", "rect", (14, 42, 86, 58))],
    "bag": [("main", "poly", (22, 20, 78, 20, 84, 90, 16, 90)), ("accent", "rect", (30, 44, 70, 66))],
    "box": [("main", "rect", (16, 22, 84, 88)), ("accent", "rect", (16, 22, 84, 36))],
}


@lru_cache(maxsize=512)
def picture(url: str) -> Image.Image:
    """The SIZE x SIZE RGB picture behind an image URL."""
    parts = url.split(":")
    if len(parts) == 4 and parts[0] == "vlgym" and parts[1] in _SHAPES:
        return _draw(parts[1], parts[2], int(parts[3]) if parts[3].isdigit() else 0)
    return _placeholder()


def _draw(shape: str, color: str, variant: int) -> Image.Image:
    background = _BACKGROUNDS[variant % 4]
    main = PALETTE.get(color, (150, 150, 150))
    roles = {"main": main, "accent": _ACCENTS[variant % 4], "dark": (40, 40, 40), "bg": background}
    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)
    scale = SIZE / 100
    outline = tuple(max(0, c - 60) for c in main)
    for role, kind, coords in _SHAPES[shape]:
        points = [c * scale for c in coords]
        fill = roles[role]
        edge = outline if role == "main" else None
        if kind == "poly":
            draw.polygon(points, fill=fill, outline=edge, width=2)
        elif kind == "rect":
            draw.rectangle(points, fill=fill, outline=edge, width=2)
        else:
            draw.ellipse(points, fill=fill, outline=edge, width=2)
    return image


def _placeholder() -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (236, 236, 236))
    draw = ImageDraw.Draw(image)
    draw.rectangle((70, 90, 186, 170), outline=(170, 170, 170), width=4)
    draw.ellipse((106, 108, 150, 152), outline=(170, 170, 170), width=4)
    drawing.text(draw, (SIZE // 2, 200), "image unavailable offline", 16, (140, 140, 140), anchor="ma")
    return image


@lru_cache(maxsize=512)
def thumbnail(url: str, size: int) -> Image.Image:
    return picture(url).resize((size, size), Image.Resampling.BILINEAR)


@lru_cache(maxsize=512)
def data_uri(url: str) -> str:
    """The picture as a PNG data URI, for self-contained HTML."""
    buffer = io.BytesIO()
    picture(url).save(buffer, format="PNG", optimize=False, compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
