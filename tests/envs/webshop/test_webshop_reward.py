"""The purchase reward, rule by rule, on hand-worked cases (research note A.6)."""

from __future__ import annotations

import pytest
from webshop_kit import goal, product

from vlgym.envs.webshop.colors import COLOR_WORDS, normalize_color
from vlgym.envs.webshop.reward import (
    attributes_matched,
    heuristic_nouns,
    options_matched,
    purchase_reward,
    similarity,
    type_reward,
)


def words(title: str) -> list[str]:
    """A transparent noun extractor for the type rule: every word counts."""
    return title.lower().split()


# ------------------------------------------------------------------------------------------ similarity
@pytest.mark.parametrize(("a", "b", "expected"), [
    ("machine washable", "machine wash", 86),  # thefuzz's value: just above the threshold
    ("essential oils", "essential oil", 96),
    ("small", "('size', 'x-small')", 100),  # a token subset scores 100
    ("9", "('size', '8')", 0),
    ("RED!!", "red", 100),  # default_process: case and punctuation
])
def test_similarity_is_thefuzz_token_set_ratio(a, b, expected):
    assert similarity(a, b) == expected


# ------------------------------------------------------------------------------------------ attributes
def test_attribute_fuzzy_match_against_listed_attributes():
    p = product(attributes=("machine washable", "essential oils"), title="Shirt", bullets=(), description="")
    assert attributes_matched(p, ["machine wash"]) == 1  # 86 > 85
    assert attributes_matched(p, ["essential oil"]) == 1
    assert attributes_matched(p, ["hand wash"]) == 0


def test_attribute_threshold_is_strictly_above_85():
    p = product(attributes=("abcdefg",), title="X", bullets=(), description="")
    below = next(w for w in ("abcdefgx", "abcdefgxy", "abcdefgxyz") if similarity("abcdefg", w) <= 85)
    assert attributes_matched(p, [below]) == 0


@pytest.mark.parametrize("where", ["title", "bullets", "description"])
def test_attribute_substring_fallback_in_each_text_field(where):
    texts = {"title": "Plain Shoes", "bullets": ("Comfy.",), "description": "Nice."}
    if where == "title":
        texts["title"] = "Acme NON SLIP Shoes"  # the title is lower-cased first
    elif where == "bullets":
        texts["bullets"] = ("Comfy.", "Great non slip grip.")
    else:
        texts["description"] = "A non slip sole."
    p = product(attributes=("DUMMY_ATTR",), title=texts["title"], bullets=texts["bullets"],
                description=texts["description"])
    assert attributes_matched(p, ["non slip"]) == 1
    assert attributes_matched(p, ["memory foam"]) == 0


def test_substring_fallback_is_a_plain_substring():
    p = product(attributes=("DUMMY_ATTR",), title="Unwashable Mug", bullets=(), description="")
    assert attributes_matched(p, ["washable"]) == 1  # inside another word still counts, as in the original


# ---------------------------------------------------------------------------------------------- colours
def test_colour_normalisation_takes_the_first_colour_word_in_list_order():
    assert list(COLOR_WORDS) == sorted(COLOR_WORDS)
    assert normalize_color("dark blue") == "blue"  # "blue" sorts before "dark"
    assert normalize_color("light blue") == "blue"
    assert normalize_color("rose gold") == "gold"
    assert normalize_color("standard") == "tan"  # substring, not word: the original's behaviour
    assert normalize_color("large") == "large"


def test_colour_normalisation_of_pairs_is_membership():
    assert normalize_color(("color", "blue")) == "blue"
    assert normalize_color(("color", "dark blue")) == ("color", "dark blue")


# ---------------------------------------------------------------------------------------------- options
def test_list_goal_options_with_colour_normalisation():
    assert options_matched(["dark blue", "8"], ["light blue"]) == 1  # both become "blue"
    assert options_matched(["red", "8"], ["blue", "8"]) == 1
    assert options_matched([], ["blue"]) == 0


def test_dict_goal_options_compare_name_value_pairs_in_original_mode():
    goal_options = {"size": "x-small", "color": "navy blue"}
    assert options_matched(["small", "navy blue"], goal_options, "original") == 2  # "small" within the pair
    assert options_matched(["9"], {"size": "8"}, "original") == 0
    assert options_matched(["8"], {"size": "8"}, "original") == 1


def test_the_pair_quirk_differs_from_values_mode():
    # "standard" normalises to "tan" on the purchased side; the pair ("style", "standard") is not a colour
    # word, so the original compares "tan" with "('style', 'standard')" and misses.
    assert options_matched(["standard"], {"style": "standard"}, "original") == 0
    assert options_matched(["standard"], {"style": "standard"}, "values") == 1


# ---------------------------------------------------------------------------------------------- type
def test_type_reward_rules():
    target = product(title="acme running shoes")
    g = goal(target)
    same = product(title="zeta running shoes")
    assert type_reward(same, g, words) == (1.0, True, True, 2 / 3)
    other = product(title="zeta trail shoes", query="trail shoes", category="A › B › C")
    # no query or category match; 1 of 3 nouns (0.33 > 0.2) still gives 1
    assert type_reward(other, g, words)[0] == 1.0


def test_type_reward_half_when_nothing_else_matches():
    g = goal(product(title="a b c d e"))
    p = product(title="a x y", query="other", category="X › Y › Z")
    r_type, query_match, category_match, title_score = type_reward(p, g, words)
    assert (query_match, category_match, title_score) == (False, False, 0.2)
    assert r_type == 0.5  # 0.2 is not > 0.2


def test_type_reward_category_needs_two_common_levels():
    g = goal(product(title="a b"))
    one_level = product(title="q", query="other", category="Clothing, Shoes & Jewelry › Men › Boots")
    two_levels = product(title="q", query="other", category="Clothing, Shoes & Jewelry › Women › Boots")
    assert type_reward(one_level, g, words)[2] is False
    assert type_reward(two_levels, g, words)[2] is True


def test_type_reward_low_and_zero_noun_overlap_override_the_matches():
    g = goal(product(title=" ".join(f"n{i}" for i in range(11))))
    low = product(title="n0 other")  # 1/11 < 0.1, although query and category match
    assert type_reward(low, g, words)[0] == 0.1
    none = product(title="other words")
    assert type_reward(none, g, words)[0] == 0.0


def test_type_reward_goal_without_nouns_scores_point_two():
    g = goal(product(title=""))
    assert type_reward(product(title="anything"), g, words)[3] == 0.2


def test_title_score_counts_repeated_goal_nouns_in_the_denominator():
    g = goal(product(title="shoes shoes laces"))
    assert type_reward(product(title="shoes"), g, words)[3] == pytest.approx(1 / 3)


def test_heuristic_nouns_drop_adjectives_colours_and_numbers():
    assert heuristic_nouns("Velora Lightweight Red Women's Running Shoes, Size 8") == ["velora", "running", "shoes",
                                                                                      "size"]


# --------------------------------------------------------------------------------------------- totals
def test_total_reward_arithmetic():
    target = product(attributes=("non slip", "memory foam"), options={"color": ["red", "blue"], "size": ["8", "9"]})
    g = goal(target, attributes=("non slip", "memory foam"), options={"color": "red", "size": "8"})
    assert purchase_reward(target, g, 29.99, {"color": "red", "size": "8"}).reward == 1.0
    half = purchase_reward(target, g, 29.99, {"color": "blue", "size": "8"})
    assert (half.options_matched, half.reward) == (1, pytest.approx(4 / 5))
    no_options = purchase_reward(target, g, 29.99, {})  # Buy Now without choosing
    assert no_options.reward == pytest.approx(3 / 5)


def test_price_bound_is_inclusive():
    target = product()
    g = goal(target, price_upper=30.0)
    assert purchase_reward(target, g, 30.0, {}).price_ok is True
    over = purchase_reward(target, g, 30.01, {})
    assert over.price_ok is False and over.reward == pytest.approx(1 / 2)


@pytest.mark.parametrize(("matched_attributes", "matched_options", "price", "expected"), [
    (3, 3, 10.0, 1.0), (2, 2, 10.0, 5 / 7), (2, 1, 10.0, 4 / 7), (1, 0, 10.0, 2 / 7), (0, 0, 99.0, 0.0)])
def test_the_original_test_suite_totals(matched_attributes, matched_options, price, expected):
    """3 attributes, 3 options and the price: the 1, 4/7 (0.5714) and 2/7 (0.2857) of the original's tests."""
    wanted = ("waterproof", "rubber sole", "lace up")
    target = product(attributes=wanted[:matched_attributes], bullets=(), description="",
                     options={"color": ["red", "blue"], "size": ["8", "9"], "width": ["wide", "narrow"]})
    g = goal(target, attributes=wanted, options={"color": "red", "size": "8", "width": "wide"}, price_upper=50.0)
    choice = dict(list({"color": "red", "size": "8", "width": "wide"}.items())[:matched_options])
    assert purchase_reward(target, g, price, choice, nouns=words).reward == pytest.approx(expected)


def test_zero_type_factor_zeroes_a_perfect_match():
    target = product(title="acme running shoes")
    g = goal(target)
    unrelated = product(title="velvet sofa", attributes=("non slip",))
    result = purchase_reward(unrelated, g, 10.0, {}, nouns=words)
    assert result.attributes_matched == 1 and result.price_ok and result.reward == 0.0
