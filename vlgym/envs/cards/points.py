"""EZPoints and Points24: build a formula from the cards that equals a target, one token per step."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from vlgym.core import drawing
from vlgym.core.base import Transition, VLGymEnv
from vlgym.envs.cards import deck
from vlgym.envs.cards.deck import Card
from vlgym.envs.cards.formula import FormulaError, all_formulas, evaluate

BLANK = " "
WIN_REWARD = 10.0
LOSS_REWARD = -1.0
WHITE = (255, 255, 255)


def card_width(height: int, width: int, n_cards: int) -> int:
    """Width of each of ``n_cards`` laid in a row; narrow margins make four cards 70 px wide at 300x300,
    as large as the original's."""
    margin, gap = width * 0.015, width * 0.01
    return int(min((width - 2 * margin - gap * (n_cards - 1)) / n_cards, height * 0.55 * 5 / 7))


@lru_cache(maxsize=256)
def _table(height: int, width: int, cards: tuple[Card, ...]) -> np.ndarray:
    """The felt with the cards laid out in a row; the formula is drawn on a copy each step."""
    image = Image.new("RGBA", (width, height), (*deck.FELT, 255))
    card_w, gap = card_width(height, width, len(cards)), width * 0.01
    row_w = card_w * len(cards) + gap * (len(cards) - 1)
    x, y = (width - row_w) / 2, (height * 0.72 - deck.card_height(card_w)) / 2
    for card in cards:
        image.alpha_composite(deck.card_face(card, card_w), (int(x), int(y)))
        x += card_w + gap
    array = drawing.to_array(image)
    array.flags.writeable = False  # shared; each frame draws on a copy
    return array


class _PointsGame(VLGymEnv):
    """Shared rules of EZPoints and Points24 (see their docstrings)."""

    target_points: int
    n_cards: int
    operators: tuple[str, ...]
    max_formula_length: int
    default_invalid_action_penalty = 1.0

    def __init__(self, *, state_in_text: bool = False, image_size=300, **kwargs: Any):
        super().__init__(image_size=image_size, **kwargs)
        self.state_in_text = bool(state_in_text)
        self.cards: tuple[Card, ...] = ()
        self.numbers: list[int] = []
        self.formula: list[str] = []
        self.used: list[int] = []
        self.result: float | None = None
        self._won = False

    # ------------------------------------------------------------------------------------------- rules
    def _deal(self) -> tuple[Card, ...]:
        raise NotImplementedError

    def _card_number(self, card: Card) -> int:
        return card.value

    def _game_reset(self, seed, options):
        self.cards = self._deal()
        self.numbers = [self._card_number(c) for c in self.cards]
        self.formula, self.used, self.result, self._won = [], [], None, False
        return ""

    def _game_actions(self):
        return list(self.action_vocabulary)

    def _game_step(self, action):
        # Checked before the action, as in the original: a formula already over the limit ends the game.
        if len(self.formula) > self.max_formula_length:
            return Transition(LOSS_REWARD, terminated=True, feedback="The formula is too long.")
        if action.isdigit():
            number = int(action)
            if self.used.count(number) + 1 > self.numbers.count(number):
                self.formula.append(BLANK)
                return Transition(LOSS_REWARD, feedback=f"There is no unused card with the number {number}.")
            self.used.append(number)
        if action == "=":
            return self._finish()
        self.formula.append(action)
        return Transition(0.0)

    def _finish(self) -> Transition:
        try:
            value = evaluate(self.formula)
        except FormulaError as error:
            return Transition(LOSS_REWARD, terminated=True, feedback=f"The formula is not valid ({error}).")
        self.result = float(value)
        if len(self.used) != self.n_cards:
            return Transition(LOSS_REWARD, terminated=True,
                              feedback=f"The formula equals {_fmt(value)} but does not use every card.")
        if value != self.target_points:
            return Transition(LOSS_REWARD, terminated=True,
                              feedback=f"The formula equals {_fmt(value)}, not {self.target_points}.")
        self._won = True
        return Transition(WIN_REWARD, terminated=True, feedback=f"Correct: the formula equals {self.target_points}.")

    # -------------------------------------------------------------------------------------- presentation
    def formula_text(self) -> str:
        return " ".join(t for t in self.formula if t != BLANK)

    def _game_image(self):
        canvas = _table(self.image_height, self.image_width, self.cards).copy()
        size = int(min(self.image_width, self.image_height) * 0.065)
        words = ["Formula:", *(t for t in self.formula if t != BLANK)]
        drawing.blit_words(canvas, words, self.image_width * 0.04, self.image_height * 0.96, size, WHITE,
                           max_width=self.image_width * 0.92, bold=True)
        return canvas

    def _game_text(self):
        text = f"Formula: {self.formula_text()}"
        if self.state_in_text:
            names = ", ".join(c.name for c in self.cards)
            numbers = ", ".join(map(str, self.numbers))
            text = f"Cards: {names} (numbers {numbers}). {text}"
        return text

    def _game_success(self):
        return self._won

    def _game_info(self):
        return {"cards": [c.short for c in self.cards], "numbers": list(self.numbers),
                "formula": list(self.formula)}

    # ------------------------------------------------------------------------------------------- expert
    def expert_action(self):
        """Next token of a solution that extends the formula so far; failing that, of the formula over
        all cards whose value is closest to the target; failing that, ``"="``."""
        done = [t for t in self.formula if t != BLANK]
        room = self.max_formula_length - len(self.formula)
        best: tuple | None = None
        for tokens, value in all_formulas(tuple(sorted(self.numbers)), self.operators).items():
            if len(tokens) - len(done) > room or list(tokens[: len(done)]) != done:
                continue
            key = (abs(value - self.target_points), len(tokens), tokens)
            if best is None or key < best:
                best = key
        if best is None or len(best[2]) == len(done):
            return "="
        return best[2][len(done)]


def _fmt(value) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


class EZPointsEnv(_PointsGame):
    """
    ## Description
    Two cards are dealt; build a formula that uses both card numbers once each, with ``+`` and ``*``, that
    equals 12, entering one token per step, then press ``=``. J, Q and K count as 10. Rules, card
    distribution and rewards are those of RL4VLM's ``gym_cards/EZPoints-v0`` (the ``gym-cards`` package at
    RL4VLM's last commit).

    ## Observation
    ``image``: the two cards on a green table and "Formula: ..." under them (300x300 by default).
    ``text``: ``"Formula: ..."``; with ``state_in_text=True`` the cards and numbers come first.

    ## Actions
    ``"1"`` ... ``"10"``, ``"+"``, ``"*"``, ``"="`` (13 tokens, always available).

    ## Reward
    * ``=`` on a formula that uses both cards and equals 12: +10 (``success``).
    * ``=`` on anything else (wrong value, a card unused, not a formula): -1, and the episode ends.
    * A number with no unused card left: -1, a blank joins the formula (it lengthens it but does not
      break it), as in the original.
    * Any other token: 0.
    * A formula already longer than 5 tokens when an action comes: -1, and the episode ends.
    * Action text that resolves to no token: ``invalid_action_penalty`` (default 1), nothing changes.

    ## Episode end
    Terminated on ``=`` or a too-long formula; truncated by the time limit (20 steps, as in the VL-DAC
    configuration). ``score`` is 1.0 on success, else 0.0.

    ## Arguments
    ``state_in_text`` (default False), ``image_size`` (default 300) and the common arguments.

    ## Differences from RL4VLM
    * Formulas are evaluated exactly (fractions) by a parser with binary operators only. The original
      calls Python's ``eval`` on the joined tokens, which reads two numbers in a row as one (``"2","10"``
      as 210) and accepts unary signs (``"+","6","*","2"``); here those are not formulas (reward -1).
    * "Formula too long" ends the episode with ``terminated=True`` (it is a rule of the game, so value
      functions should not bootstrap past it); the original reports it as a truncation.
    * Cards are drawn by our code (rank, suit symbols, face-card panels), with the rank 10 shown as "10".

    ## Version History
    * v0: initial release.
    """

    target_points = 12
    n_cards = 2
    operators = ("+", "*")
    max_formula_length = 5
    action_vocabulary = (*(str(n) for n in range(1, 11)), "+", "*", "=")
    default_max_episode_steps = 20

    def _deal(self):
        rng = self.np_random
        first = Card(int(rng.integers(2, 14)), deck.SUITS[int(rng.integers(4))])
        # As the original: a divisor of 12 is paired by multiplication half the time, else by addition.
        by_product = first.value in (1, 2, 3, 4, 6) and rng.random() <= 0.5
        second_value = 12 // first.value if by_product else 12 - first.value
        second = Card(second_value, deck.SUITS[int(rng.integers(4))])
        return (first, second) if rng.random() > 0.5 else (second, first)

    def _game_instruction(self):
        return ("Use both card numbers exactly once, with '+' and '*', to build a formula that equals 12. "
                "Enter one token per step ('1'-'10', '+', '*'), then '='. J, Q and K count as 10.")


class Points24Env(_PointsGame):
    """
    ## Description
    Four cards are dealt; build a formula that uses every card number once, with ``+ - * /`` and
    brackets, that equals 24, one token per step, then press ``=``. Rules, card distribution and rewards
    are those of RL4VLM's ``gym_cards/Points24-v0`` (the ``gym-cards`` package at RL4VLM's last commit).
    26.9% of the deals have no solution (20.8% with ``treat_face_cards_as_10=False``), exactly: the
    share of the 13^4 equally likely rank draws.

    ## Observation
    ``image``: the four cards on a green table and "Formula: ..." under them (300x300 by default).
    ``text``: ``"Formula: ..."``; with ``state_in_text=True`` the cards and numbers come first.

    ## Actions
    ``"1"`` ... ``"10"`` (``"1"`` ... ``"13"`` with ``treat_face_cards_as_10=False``), ``"+"``, ``"-"``,
    ``"*"``, ``"/"``, ``"("``, ``")"``, ``"="``, always available.

    ## Reward
    As EZPoints, with target 24, four cards and a formula length limit of 20 tokens.

    ## Episode end
    Terminated on ``=`` or a too-long formula; truncated by the time limit (40 steps: room for the longest
    formula). ``score`` is 1.0 on success, else 0.0.

    ## Arguments
    ``treat_face_cards_as_10`` (default True), ``state_in_text`` (default False), ``image_size`` (default
    300) and the common arguments.

    ## Differences from RL4VLM
    As EZPoints: exact arithmetic (the original's float ``eval`` misses solutions such as
    ``8 / (3 - 8 / 3)``), binary operators only, "formula too long" is a termination. Two ``*`` in a row
    are not a formula here (reward -1); the original's ``eval`` reads them as Python's power, so it pays
    +10 for ``2 * * 3 * 3 * 1`` (2^3 * 3 * 1 = 24) with the cards 2, 3, 3, 1.

    ## Version History
    * v0: initial release.
    """

    target_points = 24
    n_cards = 4
    operators = ("+", "-", "*", "/")
    max_formula_length = 20
    default_max_episode_steps = 40

    def __init__(self, *, treat_face_cards_as_10: bool = True, **kwargs: Any):
        self.treat_face_cards_as_10 = bool(treat_face_cards_as_10)
        top = 10 if self.treat_face_cards_as_10 else 13
        self.action_vocabulary = (*(str(n) for n in range(1, top + 1)), "+", "-", "*", "/", "(", ")", "=")
        super().__init__(**kwargs)

    def _deal(self):
        rng = self.np_random
        return tuple(Card(int(rng.integers(1, 14)), deck.SUITS[int(rng.integers(4))]) for _ in range(4))

    def _card_number(self, card):
        return card.value if self.treat_face_cards_as_10 else card.rank

    def _game_instruction(self):
        faces = "J, Q and K count as 10" if self.treat_face_cards_as_10 else "J, Q and K count as 11, 12, 13"
        return ("Use all four card numbers exactly once, with '+', '-', '*', '/' and brackets, to build a "
                "formula that equals 24. Enter one token per step, then '='. " + faces + ".")
