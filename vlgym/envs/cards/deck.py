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


# Corner index layout, in fractions of the card's width (x) and height (y): the rank sits above the suit in a
# column left of the pips, and the two never share a pixel row, so a rank reads the same in every suit.
_INDEX_X, _INDEX_W = 0.04, 0.25
_RANK_TOP, _RANK_H = 0.035, 0.17
_SUIT_GAP, _SUIT_H = 0.03, 0.1
#: The top-left corner index region (x1, y1) as fractions of the card; the bottom-right one is its half-turn.
INDEX_BOX = (_INDEX_X + _INDEX_W + 0.04, _RANK_TOP + _RANK_H + _SUIT_GAP + _SUIT_H + 0.04)


def _rank_glyph(label: str, height: int, max_width: int) -> Image.Image:
    """``label`` as an alpha mask exactly ``height`` pixels tall, squeezed sideways to ``max_width`` if wider
    (so "10" fits the index column, as on real cards)."""
    size = height * 2
    layer = Image.new("L", (size * len(label), size * 2), 0)
    drawing.text(ImageDraw.Draw(layer), (size // 4, size // 4), label, size, 255, bold=True)
    glyph = layer.crop(layer.getbbox())
    width = max(1, round(glyph.width * height / glyph.height))
    return glyph.resize((min(width, max_width), height), Image.Resampling.LANCZOS)


def index_layers(card: Card, width: int) -> tuple[Image.Image, Image.Image]:
    """The top-left corner index of ``card``'s face at ``width``, at 4x resolution: alpha masks of the
    rank and of the suit, each covering :data:`INDEX_BOX`."""
    w, h = width * _SCALE, card_height(width) * _SCALE
    box = (round(w * INDEX_BOX[0]), round(h * INDEX_BOX[1]))
    rank, suit = Image.new("L", box, 0), Image.new("L", box, 0)
    glyph = _rank_glyph(card.label, round(h * _RANK_H), round(w * _INDEX_W))
    centre = w * (_INDEX_X + _INDEX_W / 2)
    rank.paste(glyph, (round(centre - glyph.width / 2), round(h * _RANK_TOP)))
    suit_h = h * _SUIT_H
    suit_y = h * (_RANK_TOP + _RANK_H + _SUIT_GAP) + suit_h / 2
    _suit_shape(ImageDraw.Draw(suit), card.suit, centre, suit_y, suit_h, 255)
    return rank, suit


@lru_cache(maxsize=512)
def card_face(card: Card, width: int) -> Image.Image:
    """The face of ``card`` at ``width`` pixels (height from the 5:7 ratio)."""
    w, h = width * _SCALE, card_height(width) * _SCALE
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    color = RED if card.suit in "HD" else BLACK
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=w * 0.08, fill="white", outline=(150, 150, 150),
                           width=max(2, w // 60))
    ink = Image.new("RGBA", (w, h), (*color, 255))
    for layer in index_layers(card, width):
        image.paste(ink.crop((0, 0, *layer.size)), (0, 0), layer)
        image.paste(ink.crop((0, 0, *layer.size)), (w - layer.width, h - layer.height), layer.rotate(180))
    # Centre, clear of the index columns: pips for number cards, a framed panel for face cards.
    left, top, right, bottom = w * 0.36, h * 0.12, w * 0.64, h * 0.88
    if card.rank in RANK_NAMES and card.rank != 1:
        draw.rectangle((w * 0.33, h * 0.16, w * 0.67, h * 0.84), fill=(245, 214, 110), outline=color,
                       width=max(2, w // 40))
        drawing.text(draw, (w / 2, h * 0.42), card.label, int(w * 0.3), color, anchor="mm", bold=True)
        _suit_shape(draw, card.suit, w / 2, h * 0.66, w * 0.16, color)
    elif card.rank == 1:
        _suit_shape(draw, card.suit, w / 2, h / 2, w * 0.36, color)
    else:
        pip = w * (0.14 if card.rank <= 8 else 0.12)
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


def contact_sheet(width: int = 70) -> Image.Image:
    """All 52 faces at ``width`` (70 px: a card at the default 300x300), a suit per row, on the felt.

    >>> contact_sheet(40).size
    (576, 244)
    """
    gap, height = 4, card_height(width)
    sheet = Image.new("RGB", (13 * (width + gap) + gap, 4 * (height + gap) + gap), FELT)
    for row, suit in enumerate(SUITS):
        for column, rank in enumerate(range(1, 14)):
            face = card_face(Card(rank, suit), width)
            sheet.paste(face, (gap + column * (width + gap), gap + row * (height + gap)), face)
    return sheet
