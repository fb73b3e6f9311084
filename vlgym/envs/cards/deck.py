"""Playing cards: the data and their pictures.

Faces are drawn by code at 4x resolution and downsampled once, then cached per (card, size): a step only
pastes cached faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw

from vlgym.core import drawing

SUITS = ("S", "H", "D", "C")
SUIT_NAMES = {"S": "spades", "H": "hearts", "D": "diamonds", "C": "clubs"}
SUIT_SYMBOLS = {"S": "♠", "H": "♥", "D": "♦", "C": "♣"}
RANK_LABELS = {1: "A", 11: "J", 12: "Q", 13: "K"}
RANK_NAMES = {1: "ace", 11: "jack", 12: "queen", 13: "king"}
RED = (200, 16, 46)
BLACK = (20, 20, 20)
FELT = (53, 101, 77)
_SCALE = 4  # supersampling factor for crisp edges


@dataclass(frozen=True)
class Card:
    """A playing card: ``rank`` 1 (ace) to 13 (king), ``suit`` one of S, H, D, C."""

    rank: int
    suit: str

    @property
    def label(self) -> str:
        """Short rank label: A, 2-10, J, Q, K."""
        return RANK_LABELS.get(self.rank, str(self.rank))

    @property
    def short(self) -> str:
        """E.g. ``"10♥"``."""
        return f"{self.label}{SUIT_SYMBOLS[self.suit]}"

    @property
    def name(self) -> str:
        """E.g. ``"queen of spades"``."""
        return f"{RANK_NAMES.get(self.rank, str(self.rank))} of {SUIT_NAMES[self.suit]}"

    @property
    def value(self) -> int:
        """Face cards count as 10."""
        return min(self.rank, 10)


def card_height(width: int) -> int:
    """Cards have the usual 5:7 aspect ratio."""
    return round(width * 7 / 5)


def _suit_shape(draw: ImageDraw.ImageDraw, suit: str, cx: float, cy: float, s: float, fill) -> None:
    """A suit symbol of height ``s`` centred at (cx, cy), drawn from circles and polygons."""
    def circle(x, y, r):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)

    if suit == "D":
        draw.polygon([(cx, cy - s / 2), (cx + s * 0.37, cy), (cx, cy + s / 2), (cx - s * 0.37, cy)], fill=fill)
    elif suit == "H":
        circle(cx - s * 0.23, cy - s * 0.2, s * 0.26)
        circle(cx + s * 0.23, cy - s * 0.2, s * 0.26)
        draw.polygon([(cx - s * 0.48, cy - s * 0.13), (cx + s * 0.48, cy - s * 0.13), (cx, cy + s * 0.5)], fill=fill)
    elif suit == "S":
        circle(cx - s * 0.22, cy + s * 0.1, s * 0.23)
        circle(cx + s * 0.22, cy + s * 0.1, s * 0.23)
        draw.polygon([(cx - s * 0.44, cy + s * 0.05), (cx + s * 0.44, cy + s * 0.05), (cx, cy - s * 0.5)], fill=fill)
        draw.polygon([(cx, cy + s * 0.05), (cx - s * 0.16, cy + s * 0.5), (cx + s * 0.16, cy + s * 0.5)], fill=fill)
    else:  # clubs
        circle(cx, cy - s * 0.24, s * 0.2)
        circle(cx - s * 0.24, cy + s * 0.08, s * 0.2)
        circle(cx + s * 0.24, cy + s * 0.08, s * 0.2)
        draw.polygon([(cx, cy - s * 0.05), (cx - s * 0.16, cy + s * 0.5), (cx + s * 0.16, cy + s * 0.5)], fill=fill)


# Pip positions for number cards in a unit box (x, y), as on real cards.
_PIPS: dict[int, list[tuple[float, float]]] = {
    1: [(0.5, 0.5)],
    2: [(0.5, 0.1), (0.5, 0.9)],
    3: [(0.5, 0.1), (0.5, 0.5), (0.5, 0.9)],
    4: [(0.15, 0.1), (0.85, 0.1), (0.15, 0.9), (0.85, 0.9)],
    5: [(0.15, 0.1), (0.85, 0.1), (0.5, 0.5), (0.15, 0.9), (0.85, 0.9)],
    6: [(0.15, 0.1), (0.85, 0.1), (0.15, 0.5), (0.85, 0.5), (0.15, 0.9), (0.85, 0.9)],
    7: [(0.15, 0.1), (0.85, 0.1), (0.5, 0.3), (0.15, 0.5), (0.85, 0.5), (0.15, 0.9), (0.85, 0.9)],
    8: [(0.15, 0.1), (0.85, 0.1), (0.5, 0.3), (0.15, 0.5), (0.85, 0.5), (0.5, 0.7), (0.15, 0.9), (0.85, 0.9)],
    9: [(0.15, 0.1), (0.85, 0.1), (0.15, 0.37), (0.85, 0.37), (0.5, 0.5), (0.15, 0.63), (0.85, 0.63),
        (0.15, 0.9), (0.85, 0.9)],
    10: [(0.15, 0.1), (0.85, 0.1), (0.5, 0.24), (0.15, 0.37), (0.85, 0.37), (0.15, 0.63), (0.85, 0.63),
         (0.5, 0.76), (0.15, 0.9), (0.85, 0.9)],
}


@lru_cache(maxsize=512)
def card_face(card: Card, width: int) -> Image.Image:
    """The face of ``card`` at ``width`` pixels (height from the 5:7 ratio)."""
    w, h = width * _SCALE, card_height(width) * _SCALE
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    color = RED if card.suit in "HD" else BLACK
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=w * 0.08, fill="white", outline=(150, 150, 150),
                           width=max(2, w // 60))
    # Corner indices: a large rank and a suit under it, top-left and (rotated) bottom-right.
    index = Image.new("RGBA", (int(w * 0.24), int(h * 0.3)), (0, 0, 0, 0))
    index_draw = ImageDraw.Draw(index)
    rank_size = int(w * (0.2 if card.rank == 10 else 0.25))
    drawing.text(index_draw, (index.width / 2, h * 0.02), card.label, rank_size, color, anchor="ma", bold=True)
    _suit_shape(index_draw, card.suit, index.width / 2, h * 0.22, w * 0.14, color)
    image.alpha_composite(index, (int(w * 0.02), int(h * 0.02)))
    image.alpha_composite(index.rotate(180), (int(w * 0.98 - index.width), int(h * 0.98 - index.height)))
    # Centre: pips for number cards, a framed portrait-style panel for face cards.
    left, top, right, bottom = w * 0.32, h * 0.14, w * 0.68, h * 0.86
    if card.rank in RANK_NAMES and card.rank != 1:
        draw.rectangle((w * 0.28, h * 0.2, w * 0.72, h * 0.8), fill=(245, 214, 110), outline=color,
                       width=max(2, w // 40))
        drawing.text(draw, (w / 2, h * 0.45), card.label, int(w * 0.36), color, anchor="mm", bold=True)
        _suit_shape(draw, card.suit, w / 2, h * 0.7, w * 0.16, color)
    elif card.rank == 1:
        _suit_shape(draw, card.suit, w / 2, h / 2, w * 0.42, color)
    else:
        pip = w * (0.15 if card.rank <= 8 else 0.13)
        for px, py in _PIPS[card.rank]:
            _suit_shape(draw, card.suit, left + px * (right - left), top + py * (bottom - top), pip, color)
    return image.resize((width, card_height(width)), Image.Resampling.LANCZOS)


@lru_cache(maxsize=512)
def card_sprite(card: Card | None, width: int) -> drawing.Sprite:
    """A card face (or the back, for None) ready to blit."""
    return drawing.Sprite.from_image(card_back(width) if card is None else card_face(card, width))


@lru_cache(maxsize=16)
def card_back(width: int) -> Image.Image:
    """The back of a card: a blue lattice."""
    w, h = width * _SCALE, card_height(width) * _SCALE
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=w * 0.08, fill="white", outline=(150, 150, 150),
                           width=max(2, w // 60))
    inset = w * 0.07
    draw.rounded_rectangle((inset, inset, w - inset, h - inset), radius=w * 0.05, fill=(30, 60, 140))
    step = w / 6
    for i in range(-12, 12):
        x = inset + i * step
        draw.line((x, inset, x + (h - 2 * inset), h - inset), fill=(90, 130, 210), width=max(2, w // 50))
        draw.line((x + (h - 2 * inset), inset, x, h - inset), fill=(90, 130, 210), width=max(2, w // 50))
    draw.rounded_rectangle((inset, inset, w - inset, h - inset), radius=w * 0.05, outline="white",
                           width=max(2, w // 40))
    # Keep the lattice inside the inner frame.
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, h - 1), radius=w * 0.08, fill=255)
    image.putalpha(mask)
    return image.resize((width, card_height(width)), Image.Resampling.LANCZOS)
