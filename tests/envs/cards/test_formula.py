"""vlgym.envs.cards.formula: exact evaluation of token formulas and the solver."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import pytest

from vlgym.envs.cards.formula import FormulaError, all_formulas, evaluate, solutions


def toks(text: str) -> list[str]:
    return text.split()


# ------------------------------------------------------------------------------------------ evaluate
@pytest.mark.parametrize(
    ("formula", "value"),
    [
        ("6 * 2", Fraction(12)),
        ("6 + 6", Fraction(12)),
        ("10", Fraction(10)),
        ("10 * 10", Fraction(100)),
        ("2 + 3 * 4", Fraction(14)),  # * before +
        ("( 2 + 3 ) * 4", Fraction(20)),
        ("1 - 2 - 3", Fraction(-4)),  # left to right: (1 - 2) - 3
        ("8 / 4 / 2", Fraction(1)),  # (8 / 4) / 2, not 8 / (4 / 2)
        ("1 / 3", Fraction(1, 3)),
        ("2 - 3 * 4 / 6", Fraction(0)),
        ("8 / ( 3 - 8 / 3 )", Fraction(24)),  # 8 / (1/3); float arithmetic gives 23.999999999999996
        ("5 * ( 5 - 1 / 5 )", Fraction(24)),
        ("( 10 * 10 - 4 ) / 4", Fraction(24)),
        ("( ( ( 7 ) ) )", Fraction(7)),
        ("13 - 1", Fraction(12)),
    ],
)
def test_evaluate_exact_values(formula, value):
    result = evaluate(toks(formula))
    assert isinstance(result, Fraction)
    assert result == value


def test_evaluate_ignores_blank_tokens():
    # The games append " " for an illegal card; like spaces in Python source, blanks do not count.
    assert evaluate(["6", " ", "*", " ", "2"]) == 12
    assert evaluate([" ", "1", "+", "1"]) == 2


@pytest.mark.parametrize(
    "tokens",
    [
        [],
        [" "],
        ["2", "10"],  # two numbers in a row are not one number (Python's eval would read 210)
        ["6", "*"],
        ["*", "6"],
        ["-", "1"],  # no unary minus
        ["+", "6", "*", "2"],  # no unary plus
        ["(", "1", "+", "2"],
        ["1", "+", "2", ")"],
        ["(", ")"],
        ["6", "(", "2", ")"],
        ["1", "/", "0"],
        ["3", "/", "(", "1", "-", "1", ")"],
        ["(", "1", "/", "0", ")", "*", "0"],
        ["1", "+", "+", "2"],
        ["x"],
        ["1.5"],
        ["=", "1"],
    ],
)
def test_evaluate_rejects_non_formulas(tokens):
    with pytest.raises(FormulaError):
        evaluate(tokens)


def test_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)


def test_zero_numerator_is_fine():
    assert evaluate(toks("0 / 5")) == 0


def test_evaluate_unicode_digit_token_raises_formula_error():
    # "²".isdigit() is True but int("²") fails: the documented error type is FormulaError.
    with pytest.raises(FormulaError):
        evaluate(["²"])


def test_evaluate_deeply_bracketed_formula():
    # A valid formula: either its value or FormulaError, never RecursionError.
    depth = 400
    tokens = ["("] * depth + ["1"] + [")"] * depth
    try:
        value = evaluate(tokens)
    except FormulaError:
        return
    assert value == 1


# ------------------------------------------------------------------------------------------ solutions
def uses_each_number_once(tokens, numbers) -> bool:
    return Counter(t for t in tokens if t.isdigit()) == Counter(str(n) for n in numbers)


@pytest.mark.parametrize(
    ("numbers", "known"),
    [
        ((8, 3, 8, 3), "8 / ( 3 - 8 / 3 )"),
        ((4, 4, 10, 10), "( 10 * 10 - 4 ) / 4"),
        ((1, 5, 5, 5), "5 * ( 5 - 1 / 5 )"),
        ((1, 2, 3, 4), "1 * 2 * 3 * 4"),
    ],
)
def test_solutions_find_known_solutions(numbers, known):
    found = solutions(numbers, 24)
    assert tuple(toks(known)) in found
    for tokens in found:
        assert evaluate(tokens) == 24
        assert uses_each_number_once(tokens, numbers)


def test_solutions_are_shortest_first():
    found = solutions((1, 2, 3, 4), 24)
    lengths = [len(t) for t in found]
    assert lengths == sorted(lengths)
    assert len(found) > 1


@pytest.mark.parametrize("numbers", [(1, 1, 1, 1), (1, 1, 2, 2), (1, 1, 1, 2)])
def test_no_solution_for_unsolvable_hands(numbers):
    # Largest values reachable: 4 (1,1,1,1), 9 = (1+2)*(1+2), 6 = (1+1+1)*2 -- all below 24.
    assert solutions(numbers, 24) == []


def test_ezpoints_solutions_by_hand():
    assert set(solutions((2, 6), 12, ("+", "*"))) == {("2", "*", "6"), ("6", "*", "2")}
    assert solutions((6, 6), 12, ("+", "*")) == [("6", "+", "6")]
    assert set(solutions((10, 2), 12, ("+", "*"))) == {("2", "+", "10"), ("10", "+", "2")}
    assert solutions((5, 5), 12, ("+", "*")) == []


def test_solutions_do_not_depend_on_card_order():
    assert set(solutions((3, 8, 3, 8), 24)) == set(solutions((8, 8, 3, 3), 24))


def test_all_formulas_values_agree_with_evaluate():
    formulas = all_formulas((1, 3, 4, 6))
    assert formulas
    for tokens, value in formulas.items():
        assert evaluate(tokens) == value
        assert uses_each_number_once(tokens, (1, 3, 4, 6))
    # 6 / (1 - 3/4) = 24 needs brackets and a fraction on the way.
    assert tuple(toks("6 / ( 1 - 3 / 4 )")) in formulas


def test_all_formulas_respect_the_operator_set():
    for tokens in all_formulas((2, 3, 5), ("+", "*")):
        assert not set(tokens) & {"-", "/"}
