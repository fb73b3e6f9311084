"""Small, cached drawing helpers shared by the environments' renderers.

The font is Pillow's embedded FreeType font (Aileron), so every machine draws the same pixels without
system fonts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's embedded font at ``size`` pixels (cached: loading it costs ~1 ms)."""
    return ImageFont.load_default(size=max(6, int(size)))


def text(draw: ImageDraw.ImageDraw, xy, content: str, size: int, fill, *, anchor: str = "la",
         bold: bool = False) -> None:
    """Draw ``content``; ``bold`` thickens strokes (the embedded font has one weight)."""
    width = max(1, size // 14) if bold else 0
    draw.text(xy, content, font=font(size), fill=fill, anchor=anchor, stroke_width=width, stroke_fill=fill)


@dataclass(frozen=True, eq=False)
class Sprite:
    """A small picture with transparency, ready to be blended onto a uint8 canvas many times."""

    rgb: np.ndarray  # float32 (h, w, 3)
    alpha: np.ndarray  # float32 (h, w, 1), 0..1

    @classmethod
    def from_image(cls, image: Image.Image) -> Sprite:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        return cls(rgba[..., :3].copy(), rgba[..., 3:] / 255.0)

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        return self.rgb.shape[0]


def blit(canvas: np.ndarray, sprite: Sprite, x: float, y: float) -> None:
    """Alpha-blend ``sprite`` onto ``canvas`` (uint8 H x W x 3) with its top-left at (x, y), clipped."""
    x, y = round(x), round(y)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + sprite.width, canvas.shape[1]), min(y + sprite.height, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    sx, sy = x0 - x, y0 - y
    rgb = sprite.rgb[sy : sy + y1 - y0, sx : sx + x1 - x0]
    alpha = sprite.alpha[sy : sy + y1 - y0, sx : sx + x1 - x0]
    region = canvas[y0:y1, x0:x1]
    region[:] = (region + (rgb - region) * alpha + 0.5).astype(np.uint8)


@lru_cache(maxsize=8192)
def text_sprite(content: str, size: int, fill: tuple[int, int, int], bold: bool = False) -> Sprite:
    """``content`` rendered once; all sprites of one size share a line height, so words align."""
    face = font(size)
    stroke = max(1, size // 14) if bold else 0
    ascent, descent = face.getmetrics()
    width = int(face.getlength(content)) + 2 * stroke + 2
    image = Image.new("RGBA", (max(1, width), ascent + descent + 2 * stroke), (*fill, 0))
    ImageDraw.Draw(image).text((stroke, stroke), content, font=face, fill=(*fill, 255), stroke_width=stroke,
                               stroke_fill=(*fill, 255))
    return Sprite.from_image(image)


def blit_words(canvas: np.ndarray, words: list[str], x: float, bottom: float, size: int,
               fill: tuple[int, int, int], *, max_width: float, bold: bool = False) -> None:
    """Lay ``words`` out from ``x``, wrapping at ``max_width`` pixels, with the last line ending at ``bottom``."""
    space, line_height = font(size).getlength(" "), size * 1.25
    placed, cursor, line = [], 0.0, 0  # (x offset, line, sprite), computed once, then drawn
    for word in words:
        sprite = text_sprite(word, size, fill, bold)
        if cursor > 0 and cursor + sprite.width > max_width:
            cursor, line = 0.0, line + 1
        placed.append((cursor, line, sprite))
        cursor += sprite.width + space
    top = bottom - (line + 1) * line_height
    for dx, row, sprite in placed:
        blit(canvas, sprite, x + dx, top + row * line_height)


def to_array(image: Image.Image) -> np.ndarray:
    """A writable uint8 (H, W, 3) array of ``image``."""
    return np.array(image.convert("RGB"), dtype=np.uint8)
