"""Card faces are legible: the corner index alone tells the rank, at every table size."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

from vlgym.envs.cards import blackjack, deck, points
from vlgym.envs.cards.deck import SUITS, Card

RANKS = range(1, 14)


def table_widths(size: int) -> set[int]:
    """Card widths the games draw on a size x size canvas."""
    return {points.card_width(size, size, 2), points.card_width(size, size, 4), blackjack.card_width(size, size)}


def ink_box(layer: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box of a 4x alpha mask once brought to the card's real size (faint anti-aliasing ignored)."""
    small = layer.resize((layer.width // 4, layer.height // 4), Image.Resampling.LANCZOS)
    return small.point(lambda a: 255 if a > 24 else 0).getbbox()


def corner(card: Card, width: int) -> np.ndarray:
    """The top-left corner index of the face as ink intensity in [0, 1] (white card = 0)."""
    face = deck.card_face(card, width).convert("RGB")
    crop = face.crop((0, 0, round(width * deck.INDEX_BOX[0]), round(face.height * deck.INDEX_BOX[1])))
    ink = 255.0 - np.asarray(crop.convert("L"), dtype=np.float32)
    return ink / ink.max()


def test_cards_are_at_least_70_px_wide_at_300():
    assert min(table_widths(300)) >= 70
    for env_id, n_cards in (("vlgym/GymCards-Points24-v0", 4), ("vlgym/GymCards-EZPoints-v0", 2)):
        env = gym.make(env_id)
        obs, _ = env.reset(seed=0)
        # Along the middle row of the cards, the runs of columns that are not felt: one per card, >= 70 wide.
        row = obs["image"][int(300 * 0.36)].astype(int)
        card = np.abs(row - deck.FELT).sum(axis=1) > 60
        runs = np.diff(np.flatnonzero(np.diff(np.r_[0, card.astype(int), 0])))[::2]
        assert len(runs) == n_cards and min(runs) >= 70, runs
        env.close()


def test_rank_and_suit_never_overlap_at_any_image_size():
    widths = set().union(*(table_widths(size) for size in range(128, 513)))
    for width in sorted(widths):
        for rank in RANKS:
            for suit in SUITS:
                rank_layer, suit_layer = deck.index_layers(Card(rank, suit), width)
                r, s = ink_box(rank_layer), ink_box(suit_layer)
                box_w, box_h = rank_layer.width // 4, rank_layer.height // 4
                # The suit starts below the rank's last row, and the rank ("10" included) is not clipped.
                assert r[3] <= s[1], (width, rank, suit, r, s)
                assert r[0] > 0 and r[2] < box_w and s[3] < box_h, (width, rank, r, s)


@pytest.mark.parametrize("size", [128, 300, 512])
def test_corner_index_alone_tells_the_rank(size):
    """Nearest-template reading of the corner index: templates from spades at one width, held-out corners from
    the other suits rendered one pixel wider and resized. Every rank must come out right."""
    width = min(table_widths(size))
    templates = {rank: corner(Card(rank, "S"), width) for rank in RANKS}
    shape = next(iter(templates.values())).shape
    for suit in "HDC":
        for rank in RANKS:
            held_out = corner(Card(rank, suit), width + 1)
            held_out = np.asarray(Image.fromarray(held_out).resize(shape[::-1], Image.Resampling.BILINEAR))
            guess = min(templates, key=lambda r: float(((templates[r] - held_out) ** 2).sum()))
            assert guess == rank, (size, width, suit, rank, guess)


def test_docs_contact_sheet_shows_the_current_faces():
    """docs/cards/faces.png is ``deck.contact_sheet()`` (regenerate it when the faces change)."""
    shipped = np.asarray(Image.open(Path(__file__).parents[3] / "docs" / "cards" / "faces.png").convert("RGB"))
    current = np.asarray(deck.contact_sheet())
    assert shipped.shape == current.shape
    assert np.abs(shipped.astype(int) - current).mean() < 1.0
