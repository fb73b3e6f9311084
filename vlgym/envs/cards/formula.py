"""Formulas of the points games: exact evaluation and a solver.

Evaluation is a small recursive-descent parser over the game's tokens with :class:`fractions.Fraction`
arithmetic, so ``8 / (3 - 8 / 3)`` is exactly 24. Grammar (binary operators only, usual precedence)::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := NUMBER | "(" expr ")"

Blank tokens (the games insert one for an illegal card) are ignored, as Python ignores spaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from itertools import combinations

OPERATORS = ("+", "-", "*", "/")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


class FormulaError(ValueError):
    """The tokens do not form a formula (e.g. two numbers in a row, an unclosed bracket, x/0)."""


def evaluate(tokens: Sequence[str]) -> Fraction:
    """The exact value of ``tokens``; raises :class:`FormulaError` if they are not a formula."""
    items = [t for t in tokens if t.strip()]
    pos = 0

    def peek() -> str | None:
        return items[pos] if pos < len(items) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return items[pos - 1]

    def expr() -> Fraction:
        value = term()
        while peek() in ("+", "-"):
            value = value + term() if take() == "+" else value - term()
        return value

    def term() -> Fraction:
        value = factor()
        while peek() in ("*", "/"):
            op = take()
            right = factor()
            if op == "*":
                value *= right
            elif right == 0:
                raise FormulaError("division by zero")
            else:
                value /= right
        return value

    def factor() -> Fraction:
        token = peek()
        if token is None:
            raise FormulaError("formula ends too early")
        take()
        if token == "(":
            value = expr()
            if peek() != ")":
                raise FormulaError("unclosed bracket")
            take()
            return value
        if token.isascii() and token.isdigit():
            return Fraction(int(token))
        raise FormulaError(f"unexpected {token!r}")

    try:
        value = expr()
    except RecursionError:
        raise FormulaError("brackets nested too deeply") from None
    if pos != len(items):
        raise FormulaError(f"unexpected {items[pos]!r}")
    return value


def _combine(left: tuple, op: str, right: tuple) -> tuple[Fraction, tuple[str, ...], int] | None:
    """Join two (value, tokens, precedence) expressions with ``op``, adding only the brackets needed."""
    (lv, lt, lp), (rv, rt, rp) = left, right
    prec = _PRECEDENCE[op]
    if op == "/" and rv == 0:
        return None
    value = {"+": lv + rv, "-": lv - rv, "*": lv * rv, "/": lv / rv if rv else None}[op]
    if lp < prec:
        lt = ("(", *lt, ")")
    if rp < prec or (rp == prec and op in "-/"):
        rt = ("(", *rt, ")")
    return value, (*lt, op, *rt), prec


@lru_cache(maxsize=4096)
def all_formulas(numbers: tuple[int, ...], operators: tuple[str, ...] = OPERATORS) -> dict[tuple[str, ...], Fraction]:
    """Every formula that uses each of ``numbers`` exactly once (any order and bracketing), with its value.

    ``numbers`` should be sorted so that the cache is shared between permutations of the same hand.
    """
    n = len(numbers)
    atom_precedence = 3
    table: dict[int, dict[tuple[str, ...], tuple]] = {}
    for i, number in enumerate(numbers):
        table[1 << i] = {(str(number),): (Fraction(number), (str(number),), atom_precedence)}
    for size in range(2, n + 1):
        for chosen in combinations(range(n), size):
            mask = sum(1 << i for i in chosen)
            found: dict[tuple[str, ...], tuple] = {}
            sub = (mask - 1) & mask
            while sub:
                rest = mask ^ sub
                for left in table[sub].values():
                    for right in table[rest].values():
                        for op in operators:
                            joined = _combine(left, op, right)
                            if joined is not None:
                                found.setdefault(joined[1], joined)
                sub = (sub - 1) & mask
            table[mask] = found
    return {tokens: value for tokens, (value, _, _) in table[(1 << n) - 1].items()}


def solutions(numbers: Sequence[int], target: int, operators: tuple[str, ...] = OPERATORS) -> list[tuple[str, ...]]:
    """Formulas over ``numbers`` that equal ``target``, shortest first."""
    formulas = all_formulas(tuple(sorted(numbers)), operators)
    return sorted((t for t, v in formulas.items() if v == target), key=lambda t: (len(t), t))
