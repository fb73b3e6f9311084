"""The browser-free renderer: the page model laid out and drawn with Pillow.

It shows the same strings as the HTML pages (the instruction, buttons, product rows, options with the chosen
ones highlighted, sub-page text, the purchase) in a similar layout, on a 1024-pixel-wide logical page scaled
to the image width. Text pieces are rasterised once and cached, so a step costs a few milliseconds.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from vlgym.core import drawing
from vlgym.envs.webshop import images
from vlgym.envs.webshop.site import DONE, ITEM, RESULTS, SEARCH, Page
from vlgym.envs.webshop.text import elements

LOGICAL_WIDTH = 1024
INK, MUTED, LINK, VISITED = (17, 17, 17), (90, 90, 90), (0, 90, 180), (110, 50, 150)
BAR, BAR_INK, NOTE, NOTE_EDGE = (19, 25, 33), (255, 255, 255), (255, 249, 219), (235, 215, 140)
BUTTON, BUTTON_EDGE, BUY, CHOSEN = (240, 242, 245), (160, 166, 175), (255, 164, 28), (35, 47, 62)
PRICE = (177, 39, 4)


@lru_cache(maxsize=8192)
def _mask(content: str, px: int, bold: bool) -> Image.Image:
    face = drawing.font(px)
    stroke = max(1, px // 16) if bold else 0
    _, _, right, bottom = face.getbbox(content, stroke_width=stroke)
    mask = Image.new("L", (max(1, int(right) + 1), max(1, int(bottom) + 1)), 0)
    ImageDraw.Draw(mask).text((0, 0), content, font=face, fill=255, stroke_width=stroke, stroke_fill=255)
    return mask


@lru_cache(maxsize=16384)
def _width(content: str, px: int) -> float:
    return drawing.font(px).getlength(content)


@lru_cache(maxsize=4096)
def _wrap(content: str, px: int, max_width: int) -> tuple[str, ...]:
    lines, line = [], ""
    for word in content.split():
        candidate = f"{line} {word}" if line else word
        if line and _width(candidate, px) > max_width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return (*lines, line) if line else tuple(lines)


@lru_cache(maxsize=1024)
def _button(label: str, px: int, scale: float, fill, ink, edge, bold: bool) -> Image.Image:
    """A button with its label, drawn once per look."""
    mask = _mask(label, px, bold)
    pad_x, pad_y = round(12 * scale), round(6 * scale)
    width, height = round(_width(label, px) + 2 * pad_x), round(px + 2 * pad_y + 2 * scale)
    sprite = Image.new("RGB", (max(1, width), max(1, height)), (255, 255, 255))
    draw = ImageDraw.Draw(sprite)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=6 * scale, fill=fill, outline=edge,
                           width=max(1, round(scale)))
    sprite.paste(ink, (pad_x, pad_y, pad_x + mask.width, pad_y + mask.height), mask)
    return sprite


@lru_cache(maxsize=64)
def _instruction_panel(instruction: str, px: int, scale: float) -> Image.Image:
    """The yellow instruction panel (the same on every page of an episode)."""
    height = 24 + 15 * 1.35 * len(_wrap(instruction, px, round(960 * scale))) + 14
    painter = _Painter(round(LOGICAL_WIDTH * scale), round((height + 1) * scale))
    painter.box(20, 0, LOGICAL_WIDTH - 20, height, NOTE, NOTE_EDGE, radius=6)
    painter.text(32, 8, "Instruction:", 15, INK, bold=True)
    painter.paragraph(32, 30, instruction, 15, INK, 960, spacing=1.35)
    return painter.image


class _Painter:
    """Drawing in logical (1024-wide) coordinates on a scaled canvas."""

    def __init__(self, width: int, height: int):
        self.scale = width / LOGICAL_WIDTH
        self.image = Image.new("RGB", (width, height), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)
        self.bottom = height / self.scale

    def px(self, size: float) -> int:
        return max(6, round(size * self.scale))

    def box(self, x0, y0, x1, y1, fill, outline=None, radius=0):
        s = self.scale
        self.draw.rounded_rectangle((x0 * s, y0 * s, x1 * s, y1 * s), radius=radius * s, fill=fill,
                                    outline=outline, width=max(1, round(s)))

    def text(self, x, y, content: str, size: float, color, bold: bool = False) -> float:
        """Draw one line with its top at y; returns its logical width."""
        if content and y < self.bottom:
            mask = _mask(content, self.px(size), bold)
            left, top = round(x * self.scale), round(y * self.scale)
            self.image.paste(color, (left, top, left + mask.width, top + mask.height), mask)
        return _width(content, self.px(size)) / self.scale

    def paragraph(self, x, y, content: str, size: float, color, width: float, bold=False, max_lines=None,
                  spacing=1.3) -> float:
        lines = _wrap(content, self.px(size), round(width * self.scale))
        if max_lines and len(lines) > max_lines:
            lines = (*lines[: max_lines - 1], lines[max_lines - 1] + " ...")
        for line in lines:
            self.text(x, y, line, size, color, bold)
            y += size * spacing
        return y

    def button(self, x, y, label: str, *, size=14, fill=BUTTON, ink=INK, edge=BUTTON_EDGE, bold=False) -> float:
        sprite = _button(label, self.px(size), self.scale, fill, ink, edge, bold)
        self.image.paste(sprite, (round(x * self.scale), round(y * self.scale)))
        return x + sprite.width / self.scale

    def picture(self, url: str, x, y, size: float):
        side = max(1, round(size * self.scale))
        self.image.paste(images.thumbnail(url, side), (round(x * self.scale), round(y * self.scale)))


def _header(p: _Painter, page: Page) -> float:
    """The top bar and the instruction panel; returns where the page body starts."""
    y = 0.0
    if page.kind != SEARCH:
        p.box(0, 0, LOGICAL_WIDTH, 40, BAR)
        p.text(20, 9, "WebShop", 20, BAR_INK, bold=True)
        y = 48
    else:
        p.text(LOGICAL_WIDTH / 2 - 95, 60, "WebShop", 44, INK, bold=True)
        y = 130
    panel = _instruction_panel(page.instruction, p.px(15), p.scale)
    p.image.paste(panel, (0, round(y * p.scale)))
    return y + panel.height / p.scale + 2


def _search(p: _Painter, page: Page, y: float) -> None:
    p.box(212, y + 20, 712, y + 60, (255, 255, 255), BUTTON_EDGE, radius=6)
    p.button(724, y + 20, "Search", size=16, fill=BUY, edge=(200, 130, 20), bold=True)


def _results(p: _Painter, page: Page, y: float) -> None:
    x = p.button(20, y, "Back to Search") + 20
    x += p.text(x, y + 7, f"Page {page.page_number} (Total results: {page.total})", 14, MUTED) + 20
    for label in page.buttons[1:]:
        x = p.button(x, y, label) + 10
    y += 44
    card_w, card_h = 482, 106
    for i, product in enumerate(page.results):
        cx, cy = 20 + (i % 2) * (card_w + 20), y + (i // 2) * (card_h + 8)
        p.box(cx, cy, cx + card_w, cy + card_h, (255, 255, 255), (221, 221, 221), radius=6)
        p.picture(product.main_image, cx + 8, cy + 9, 88)
        visited = product.asin in page.visited
        width = p.text(cx + 106, cy + 8, product.asin, 14, VISITED if visited else LINK, bold=True)
        p.box(cx + 106, cy + 25, cx + 106 + width, cy + 26, VISITED if visited else LINK)
        p.paragraph(cx + 106, cy + 31, product.title, 13, INK, card_w - 116, max_lines=3, spacing=1.25)
        p.text(cx + 106, cy + 84, product.price_text, 14, PRICE)


def _item(p: _Painter, page: Page, y: float) -> None:
    x = p.button(20, y, "Back to Search") + 10
    p.button(x, y, "< Prev")
    y += 44
    if page.kind != ITEM:
        for e in elements(page)[4:]:
            bullet = page.sub_page in ("features", "attributes")
            if bullet:  # a dot (the embedded font has no bullet glyph)
                p.box(28, y + 6, 34, y + 12, INK, radius=3)
            y = p.paragraph(44 if bullet else 24, y, e.text, 15, INK, 950, spacing=1.4) + 6
        return
    product = page.product
    p.box(20, y, 320, y + 300, (255, 255, 255), (221, 221, 221), radius=6)
    p.picture(page.image_url, 30, y + 10, 280)
    x0, width = 340, LOGICAL_WIDTH - 360
    ty = p.paragraph(x0, y + 2, product.title, 19, INK, width, bold=True, max_lines=4, spacing=1.3) + 2
    p.text(x0, ty, f"Price: {product.price_text}", 16, PRICE, bold=True)
    p.text(x0, ty + 24, "Rating: N.A.", 14, MUTED)
    ty += 50
    for name, values in product.options.items():
        p.text(x0, ty, name, 14, INK, bold=True)
        ty += 22
        ox = x0
        for value in values:
            chosen = page.selected.get(name) == value
            w = _width(value, p.px(13)) / p.scale + 20
            if ox + w > x0 + width:
                ox, ty = x0, ty + 30
            ox = p.button(ox, ty, value, size=13, fill=CHOSEN if chosen else (255, 255, 255),
                          ink=(255, 255, 255) if chosen else INK) + 8
        ty += 36
    bx, by = x0, ty + 4
    for label in page.buttons[2:-1]:
        bx = p.button(bx, by, label) + 10
    p.button(x0, by + 44, "Buy Now", size=16, fill=BUY, edge=(200, 130, 20), bold=True)


def _done(p: _Painter, page: Page) -> None:
    purchase = page.purchase
    p.box(0, 0, LOGICAL_WIDTH, 40, BAR)
    p.text(20, 9, "WebShop", 20, BAR_INK, bold=True)
    p.text(40, 80, "Thank you for shopping with us!", 30, INK, bold=True)
    p.text(40, 140, "Purchased", 18, INK, bold=True)
    p.picture(page.image_url, 40, 170, 160)
    p.text(220, 172, purchase.product.asin, 15, LINK, bold=True)
    y = p.paragraph(220, 196, purchase.product.title, 15, INK, 760, max_lines=3)
    p.text(220, y + 6, json.dumps(purchase.options), 14, MUTED)
    p.text(40, 360, "Your score (min 0.0, max 1.0)", 18, INK, bold=True)
    p.text(40, 390, str(purchase.reward.reward), 24, PRICE, bold=True)


class FastRenderer:
    """``render(page) -> uint8 (height, width, 3)`` with Pillow only."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height

    def render(self, page: Page) -> np.ndarray:
        painter = _Painter(self.width, self.height)
        if page.kind == DONE:
            _done(painter, page)
        else:
            y = _header(painter, page)
            {SEARCH: _search, RESULTS: _results}.get(page.kind, _item)(painter, page, y)
        return np.asarray(painter.image)

    def close(self) -> None:
        pass
