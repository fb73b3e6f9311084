"""Gym-Cards against the original (RL4VLM gym-cards, last commit): start distribution, step limits, and the
documented differences (Blackjack's natural, Points24's unsolvable share and ``**``)."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from fractions import Fraction
from functools import cache

import gymnasium as gym
import pytest

from vlgym.envs.cards import BlackjackEnv, NumberLineEnv, Points24Env
from vlgym.envs.cards.deck import Card
from vlgym.envs.cards.formula import FormulaError, evaluate, solutions

NUMBERLINE = "vlgym/GymCards-NumberLine-v0"


# ------------------------------------------------------------------------------------- NumberLine starts
def original_start_distribution(top: int) -> dict[tuple[int, int], float]:
    """P(target, start) of the original's reset, by enumerating its two uniform draws (start, then goal)
    and its collision rule ``goal = (goal + 1) % max_position``."""
    p = Counter()
    for start, goal in itertools.product(range(top + 1), repeat=2):
        if goal == start:
            goal = (goal + 1) % top
        p[goal, start] += 1 / (top + 1) ** 2
    return dict(p)


def sampled(top: int, n: int, **kwargs) -> Counter:
    env = gym.make(NUMBERLINE, max_position=top, **kwargs)
    counts = Counter()
    for seed in range(n):
        _, info = env.reset(seed=seed)
        counts[info["target"], info["current"]] += 1
    env.close()
    return counts


def chi_square_bound(df: int, z: float = 3.72) -> float:
    """Upper 1e-4 quantile of chi-square with ``df`` degrees of freedom (Wilson-Hilferty)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


@pytest.mark.parametrize("top", [5, 10])
def test_numberline_starts_follow_the_original_procedure(top):
    n = 20_000
    expected = original_start_distribution(top)
    counts = sampled(top, n)
    assert set(counts) <= set(expected)
    chi2 = sum((counts[cell] - n * p) ** 2 / (n * p) for cell, p in expected.items())
    assert chi2 < chi_square_bound(len(expected) - 1), chi2
    if top == 5:  # total variation within sampling error (uniform pairs are 0.13 away); target 1 at 7/36, 5 at 5/36
        tv = 0.5 * sum(abs(counts[cell] / n - p) for cell, p in expected.items())
        assert tv < 0.03, tv
        targets = Counter()
        for (target, _), k in counts.items():
            targets[target] += k
        assert abs(targets[1] / n - 7 / 36) < 0.01 and abs(targets[5] / n - 5 / 36) < 0.01


def test_numberline_uniform_option_is_uniform_over_distinct_pairs():
    n, top = 20_000, 5
    counts = sampled(top, n, start_distribution="uniform")
    cells = [(t, s) for t in range(top + 1) for s in range(top + 1) if t != s]
    assert set(counts) == set(cells)
    chi2 = sum((counts[c] - n / len(cells)) ** 2 / (n / len(cells)) for c in cells)
    assert chi2 < chi_square_bound(len(cells) - 1), chi2
    with pytest.raises(ValueError):
        NumberLineEnv(start_distribution="normal")


def test_numberline_on_a_line_0_to_1_never_starts_solved():
    counts = sampled(1, 400)
    assert set(counts) == {(0, 1), (1, 0)}


@pytest.mark.parametrize("top", [3, 12, 25])
def test_numberline_truncates_after_twice_max_position_steps_for_any_max_position(top):
    env = gym.make(NUMBERLINE, max_position=top)
    env.reset(seed=0)
    env.unwrapped.target, env.unwrapped.current = 0, top  # "+" bumps against the end every time
    truncated = [env.step("+")[3] for _ in range(2 * top)]
    assert truncated == [False] * (2 * top - 1) + [True]
    env.close()


# ------------------------------------------------------------------------------------------- Blackjack
def test_blackjack_docstring_states_the_originals_natural_rule():
    """Ours keeps gymnasium's natural/sab rule; the original's never fires, and the docstring says so."""
    doc = " ".join(BlackjackEnv.__doc__.split())
    differences = doc[doc.index("## Differences"):]
    assert "is_natural" in differences and "never equal" in differences
    env = BlackjackEnv(natural=True)
    env.reset(seed=0)
    env.player, env.dealer = [Card(1, "S"), Card(13, "S")], [Card(10, "H"), Card(7, "H")]
    assert env.step("stand")[1] == 1.5  # the original pays +1 here


# -------------------------------------------------------------------------------------------- Points24
def splits(numbers: tuple[int, ...]):
    """Every way to cut the sorted ``numbers`` into two non-empty sorted groups."""
    for k in range(1, len(numbers)):
        for left in itertools.combinations(range(len(numbers)), k):
            yield (tuple(numbers[i] for i in left), tuple(n for i, n in enumerate(numbers) if i not in left))


@cache
def reachable(numbers: tuple[int, ...]) -> frozenset[Fraction]:
    """Every value of a formula over all of ``numbers`` (sorted)."""
    if len(numbers) == 1:
        return frozenset({Fraction(numbers[0])})
    values = set()
    for a, b in splits(numbers):
        for x in reachable(a):
            for y in reachable(b):
                values.update({x + y, x - y, x * y})
                if y:
                    values.add(x / y)
    return frozenset(values)


def makes(numbers: tuple[int, ...], target: int) -> bool:
    """Whether some formula over all of ``numbers`` equals ``target``: the last operation joins two groups."""
    for a, b in splits(numbers):
        right = reachable(b)
        for x in reachable(a):
            # x + y, x - y, x * y or x / y (y = x / target must not be 0, so neither may x).
            if {target - x, x - target} & right or (x and {target / x, x / target} & right):
                return True
    return False


@pytest.mark.parametrize("faces_as_10", [True, False])
def test_points24_unsolvable_share_is_the_documented_one(faces_as_10):
    values = [min(r, 10) if faces_as_10 else r for r in range(1, 14)]
    deals = Counter(tuple(sorted(values[i] for i in d)) for d in itertools.product(range(13), repeat=4))
    unsolvable = sum(n for hand, n in deals.items() if not makes(hand, 24)) / 13**4
    doc = " ".join(Points24Env.__doc__.split())
    documented = re.search(r"([\d.]+)% of the deals have no solution \(([\d.]+)%", doc).groups()
    assert f"{100 * unsolvable:.1f}" == documented[0 if faces_as_10 else 1]
    # The env's own solver agrees with this one on a sample of hands.
    for hand in list(deals)[::97]:
        assert bool(solutions(hand, 24)) == makes(hand, 24)


def test_points24_power_is_rejected():
    with pytest.raises(FormulaError):
        evaluate(["2", "*", "*", "3", "*", "3", "*", "1"])
    env = Points24Env()
    env.reset(seed=0)
    env.cards = tuple(Card(r, "S") for r in (2, 3, 3, 1))
    env.numbers = [2, 3, 3, 1]
    rewards = [env.step(t)[1] for t in ["2", "*", "*", "3", "*", "3", "*", "1", "="]]
    assert rewards[-1] == -1.0 and env._game_success() is False
    assert "power" in " ".join(Points24Env.__doc__.split())
