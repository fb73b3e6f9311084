"""Blackjack against a dealer, with gymnasium's Blackjack rules."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from vlgym.core import drawing
from vlgym.core.base import Transition, VLGymEnv
from vlgym.envs.cards import deck
from vlgym.envs.cards.deck import Card


def hand_value(hand: list[Card]) -> int:
    """Best total of ``hand``: an ace counts 11 when that does not bust."""
    total = sum(c.value for c in hand)
    return total + 10 if has_usable_ace(hand) else total


def has_usable_ace(hand: list[Card]) -> bool:
    return any(c.rank == 1 for c in hand) and sum(c.value for c in hand) + 10 <= 21


def is_natural(hand: list[Card]) -> bool:
    return len(hand) == 2 and sorted(c.value for c in hand) == [1, 10]


def basic_strategy(player: list[Card], dealer_up: Card) -> str:
    """Hit/stand basic strategy for an infinite deck where the dealer stands on soft 17."""
    total, up = hand_value(player), (11 if dealer_up.rank == 1 else dealer_up.value)
    if has_usable_ace(player):
        return "stand" if total >= 19 or (total == 18 and up <= 8) else "hit"
    if total >= 17:
        return "stand"
    if total >= 13:
        return "stand" if up <= 6 else "hit"
    if total == 12:
        return "stand" if 4 <= up <= 6 else "hit"
    return "hit"


def card_width(height: int, width: int) -> int:
    """Card width on the table: 70 px at 300x300, the original's size."""
    return int(min(width * 0.24, height * 0.33 * 5 / 7))


@lru_cache(maxsize=4)
def _felt(height: int, width: int) -> np.ndarray:
    image = Image.new("RGB", (width, height), deck.FELT)
    draw = ImageDraw.Draw(image)
    size = int(min(width, height) * 0.06)
    drawing.text(draw, (width * 0.03, height * 0.02), "Dealer", size, "white", bold=True)
    drawing.text(draw, (width * 0.03, height * 0.47), "Player", size, "white", bold=True)
    array = drawing.to_array(image)
    array.flags.writeable = False  # shared; each frame draws on a copy
    return array


class BlackjackEnv(VLGymEnv):
    """
    ## Description
    The dealer shows one card face up and one face down; the player sees their two cards and decides to
    ``hit`` (take a card) or ``stand``. Cards come from an infinite deck. After the player stands, the
    dealer draws until reaching 17 or more (standing on soft 17). Rules and rewards are gymnasium's
    ``Blackjack-v1`` (Sutton & Barto, Example 5.1), as in RL4VLM's ``gym_cards/Blackjack-v0`` (the
    ``gym-cards`` package at RL4VLM's last commit).

    ## Observation
    ``image``: the dealer's row (up card and a card back; the whole hand once the episode ends) and the
    player's cards on a green table, 300x300 by default; the outcome is written on it at the end.
    ``text``: empty, or with ``state_in_text=True`` the dealer's up card and the player's cards in words.

    ## Actions
    ``"stand"`` and ``"hit"``.

    ## Reward
    +1 win, 0 draw, -1 loss (also on bust); +1.5 for a winning natural with ``natural=True``; with
    ``sab=True`` a natural wins outright unless the dealer has one too. Action text that resolves to no
    action costs ``invalid_action_penalty`` (default 1) and changes nothing.

    ## Episode end
    Terminated when the player busts or stands. ``success`` is a win; ``score`` is 1 for a win, 0.5 for a
    draw and 0 for a loss.

    ## Arguments
    ``natural`` (default False), ``sab`` (default False), ``state_in_text`` (default False),
    ``image_size`` (default 300) and the common arguments.

    ## Differences from RL4VLM
    * ``natural`` and ``sab`` work as in gymnasium. In the original (``gym-cards`` at RL4VLM's last commit)
      they have no effect: its ``is_natural`` compares the sorted list of ``(value, face, suit)`` card
      tuples with ``[1, 10]``, which is never equal, so a winning natural pays +1 with ``natural=True``,
      and with ``sab=True`` a natural is scored by totals like any hand (0 against a dealer's 21, where
      this env pays +1).
    * Text actions instead of ``Discrete(2)`` (``DiscreteActions`` restores 0 = stand, 1 = hit).
    * Cards are drawn by our code, and the dealer's hidden card is revealed when the episode ends. Card values
      have the original's distribution; a value-10 card shows as 10, J, Q or K (the original shows J, Q, K).

    ## Version History
    * v0: initial release.
    """

    action_vocabulary = ("stand", "hit")
    default_max_episode_steps = 20

    def __init__(self, *, natural: bool = False, sab: bool = False, state_in_text: bool = False,
                 image_size=300, **kwargs: Any):
        super().__init__(image_size=image_size, **kwargs)
        self.natural, self.sab, self.state_in_text = bool(natural), bool(sab), bool(state_in_text)
        self.dealer: list[Card] = []
        self.player: list[Card] = []
        self.outcome: float | None = None

    def _draw_card(self) -> Card:
        rng = self.np_random
        return Card(int(rng.integers(1, 14)), deck.SUITS[int(rng.integers(4))])

    def _game_reset(self, seed, options):
        self.dealer = [self._draw_card(), self._draw_card()]
        self.player = [self._draw_card(), self._draw_card()]
        self.outcome = None
        return ""

    def _game_actions(self):
        return list(self.action_vocabulary)

    def _game_step(self, action):
        if action == "hit":
            self.player.append(self._draw_card())
            if hand_value(self.player) > 21:
                return self._end(-1.0, f"You drew the {self.player[-1].name} and bust.")
            return Transition(0.0, feedback=f"You drew the {self.player[-1].name}.")
        while hand_value(self.dealer) < 17:
            self.dealer.append(self._draw_card())
        player, dealer = hand_value(self.player), hand_value(self.dealer)
        dealer_score = 0 if dealer > 21 else dealer
        reward = float((player > dealer_score) - (player < dealer_score))
        if self.sab and is_natural(self.player) and not is_natural(self.dealer):
            reward = 1.0
        elif not self.sab and self.natural and is_natural(self.player) and reward == 1.0:
            reward = 1.5
        verdict = {1.0: "You win", 1.5: "You win with a natural", 0.0: "Draw", -1.0: "You lose"}[reward]
        return self._end(reward, f"{verdict}: you have {player}, the dealer has {dealer}.")

    def _end(self, reward: float, feedback: str) -> Transition:
        self.outcome = reward
        return Transition(reward, terminated=True, feedback=feedback)

    def _game_image(self):
        width, height = self.image_width, self.image_height
        canvas = _felt(height, width).copy()
        card_w = card_width(height, width)
        gap = max(2, card_w // 12)
        over = self.outcome is not None
        # During play the dealer's second card is face down (None draws the back).
        dealer = self.dealer if over else [self.dealer[0], None]
        for hand, y in ((dealer, height * 0.1), (self.player, height * 0.55)):
            step = min(card_w + gap, (width * 0.94 - card_w) / max(1, len(hand) - 1))
            for i, card in enumerate(hand):
                drawing.blit(canvas, deck.card_sprite(card, card_w), width * 0.03 + i * step, y)
        if over:
            label = {1.0: "WIN", 1.5: "WIN", 0.0: "DRAW", -1.0: "LOSS"}[self.outcome]
            sprite = drawing.text_sprite(label, int(min(width, height) * 0.08), (255, 230, 120), bold=True)
            drawing.blit(canvas, sprite, width * 0.97 - sprite.width, height * 0.02)
        return canvas

    def _game_text(self):
        if not self.state_in_text:
            return ""
        return (f"Dealer's face-up card: {self.dealer[0].name}. "
                f"Your cards: {', '.join(c.name for c in self.player)}.")

    def _game_instruction(self):
        return ("Play blackjack against the dealer: get closer to 21 than the dealer without going over. "
                "Actions: 'hit' takes another card, 'stand' ends your turn. J, Q and K count 10, an ace 1 or 11.")

    def _game_success(self):
        return self.outcome is not None and self.outcome > 0

    def _game_score(self):
        return 0.0 if self.outcome is None else min(1.0, (self.outcome + 1.0) / 2.0)

    def _game_info(self):
        return {"player_cards": [c.short for c in self.player], "dealer_up_card": self.dealer[0].short,
                "player_total": hand_value(self.player)}

    def expert_action(self):
        return basic_strategy(self.player, self.dealer[0])
