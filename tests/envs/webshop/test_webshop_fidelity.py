"""WebShop against the original (princeton-nlp/WebShop as released): colour list, fuzzy matching, price
bounds, option groups, page strings and the synthetic catalogue's near-duplicates."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from thefuzz import fuzz as thefuzz
from webshop_kit import goal, product, shop

from vlgym.envs.webshop.catalog import synthetic_catalog
from vlgym.envs.webshop.colors import COLOR_WORDS, normalize_color
from vlgym.envs.webshop.reward import full_process, options_matched, similarity
from vlgym.envs.webshop.synthetic import SyntheticCatalog
from vlgym.envs.webshop.text import rich_text, simple_text

# Words of the original's COLOR_SET that an earlier list lacked (it had "crimson" and "sage", the original not).
ORIGINAL_ONLY = ("alabaster", "ash", "asphalt", "banana", "bordeaux", "camo", "cheetah", "chestnut", "christmas",
                 "cognac", "cranberry", "crystal", "eggplant", "elephant", "granite", "grape", "grass", "heather",
                 "ivy", "leopard", "merlot", "midnight", "multicolor", "mushroom", "mustard", "natural", "pewter",
                 "rainbow", "royal", "sapphire", "seashell", "skull", "steel", "stone", "stonewash", "sunflower",
                 "tiger", "wheat")


# ----------------------------------------------------------------------------------------------- colours
def test_colour_list_is_the_originals():
    assert len(COLOR_WORDS) == 102 and len(set(COLOR_WORDS)) == 102
    assert list(COLOR_WORDS) == sorted(COLOR_WORDS)  # the original's order, which normalisation depends on
    assert set(ORIGINAL_ONLY) <= set(COLOR_WORDS)
    assert "crimson" not in COLOR_WORDS and "sage" not in COLOR_WORDS


@pytest.mark.parametrize(("bought", "wanted", "matched"), [
    ("mustard", "mustard yellow", 1),  # both "mustard" ("mustard" sorts before "yellow")
    ("washed black", "black", 0),  # "washed" holds "ash", which comes first
    ("massage", "sage", 0),  # neither is a colour word: 73 < 86
    ("navy blue", "royal blue", 1),  # both "blue"
])
def test_colour_normalisation_examples(bought, wanted, matched):
    assert options_matched([bought], [wanted]) == matched


def test_normalisation_takes_the_first_word_in_list_order():
    assert normalize_color("washed black") == "ash"
    assert normalize_color("midnight navy") == "midnight"
    assert normalize_color("rose gold") == "gold"
    assert normalize_color("8 pack") == "8 pack"


# ---------------------------------------------------------------------------------------- fuzzy matching
def test_thefuzz_oracle_uses_the_levenshtein_back_end():
    from thefuzz import StringMatcher

    assert thefuzz.SequenceMatcher is StringMatcher.StringMatcher


@pytest.mark.parametrize(("a", "b", "score"), [
    ("café", "cafe", 86),  # é (U+00E9) is deleted: "caf" vs "cafe"
    ("10×20", "10x20", 89),  # × (U+00D7) is deleted: "1020" vs "10x20"
    ("pack_of_12", "pack of 12", 40),  # "_" is a word character: one token
    ("Machine Washable!", "machine wash", 86),
    ("αβγ size", "size αβγ", 100),  # letters above U+00FF are kept
])
def test_similarity_processes_text_as_the_original(a, b, score):
    assert similarity(a, b) == score == thefuzz.token_set_ratio(a, b)


def test_similarity_equals_thefuzz_on_random_pairs():
    rng = random.Random(0)
    alphabet = "abcde xyz 0123 _-/.,é×ñ°αω  "
    words = ["machine", "wash", "washable", "x-large", "large", "black", "pack", "of", "12", "size", "café"]
    for _ in range(3000):
        def text():
            if rng.random() < 0.5:
                return " ".join(rng.choice(words) for _ in range(rng.randint(0, 4)))
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        a, b = text(), text()
        assert similarity(a, b) == thefuzz.token_set_ratio(a, b), (a, b)


def test_full_process_examples():
    assert full_process(" Café_Au-Lait×2 ") == "caf_au lait2"


# ------------------------------------------------------------------------------------------- price bound
def test_a_products_synthetic_goals_share_one_price_bound():
    catalog = synthetic_catalog(400, seed=3)
    bounds = defaultdict(set)
    for g in catalog.goals:
        bounds[g.asin].add(g.price_upper)
    multi = [a for a in bounds if sum(g.asin == a for g in catalog.goals) > 1]
    assert len(multi) > 20
    assert all(len(b) == 1 for b in bounds.values())


# ---------------------------------------------------------------------------------------- option groups
def test_a_value_in_two_groups_goes_to_the_last_group():
    target = product(options={"color": ["red", "blue"], "pattern": ["plain", "red"]})
    s = shop([target], [goal(target)])
    s.step("search[running shoes]")
    s.step(f"click[{target.asin.lower()}]")
    s.step("click[red]")
    assert s.options == {"pattern": "red"}


# ------------------------------------------------------------------------------------------------ pages
@pytest.fixture
def item_site():
    target = product(bullets=("rubber sole", "", "machine wash"), attributes=("non slip",),
                     options={"color": ["black", "red"]})
    s = shop([target], [goal(target)], show_attributes=True)
    s.step("search[running shoes]")
    s.step(f"click[{target.asin.lower()}]")
    return s, target


def test_empty_bullet_point_gives_an_empty_segment(item_site):
    s, _ = item_site
    page = s.step("click[features]")
    assert simple_text(page).endswith("< Prev [SEP] rubber sole [SEP]  [SEP] machine wash")
    # text_rich keeps the template's space before each bullet point, and the blank one as a space.
    assert rich_text(page).endswith("[button] < Prev [button_]\n rubber sole\n \n machine wash\n")


def test_search_page_rich_text_has_the_templates_space():
    target = product()
    s = shop([target], [goal(target, instruction="i need shoes")])
    assert rich_text(s.page) == "WebShop\nInstruction: \ni need shoes\n[button] Search [button_]\n"


def test_attributes_page_ends_with_category_query_and_breadcrumb(item_site):
    s, target = item_site
    page = s.step("click[attributes]")
    assert simple_text(page).endswith(
        f"< Prev [SEP] non slip [SEP] {target.category} [SEP] {target.query} [SEP] {target.product_category}")


def test_urls_write_options_as_the_original(item_site):
    s, target = item_site
    assert s.step("click[red]").url.endswith('/1/{"color": "red"}')  # item page: JSON
    assert s.step("click[features]").url.endswith("/Features/{'color': 'red'}")  # sub page: Python's dict
    s.step("click[< prev]")
    assert s.step("click[buy now]").url.endswith(f"/done/vlgym/{target.asin}/{{'color': 'red'}}")


def test_blank_search_runs_anywhere_with_search_anywhere(item_site):
    s, _ = item_site
    assert not s.is_valid("search[ ]")  # the item page has no search bar by default
    s.search_anywhere = True
    page = s.step("search[ ]")
    assert page.kind == "results" and s.keywords == ("", "") and page.url.endswith("/search_results/vlgym/+/1")


# ----------------------------------------------------------------------------------- synthetic catalogue
def test_every_near_duplicate_differs_from_its_anchor_in_exactly_one_intended_way():
    catalog = SyntheticCatalog(2000, seed=0)
    kinds, anchor = defaultdict(int), None
    for record in catalog.items:
        if "instruction" in catalog.attributes[record["asin"]]:
            anchor = record
            continue
        changed = {k for k in record if k != "asin" and record[k] != anchor[k]}
        assert changed, record["asin"]  # never an exact copy
        if changed == {"pricing"}:
            kinds["price"] += 1
        elif changed == {"customization_options"}:
            before, after = anchor["customization_options"], record["customization_options"]
            assert set(before) == set(after)  # no option group lost
            lost = {name: [e["value"] for e in before[name] if e not in after[name]] for name in before}
            assert sorted(len(v) for v in lost.values()) == [0] * (len(lost) - 1) + [1], lost
            assert all(after[n] == [e for e in before[n] if e["value"] not in lost[n]] for n in before)
            kinds["option"] += 1
        else:
            # An instruction attribute swapped for another: the texts and the listed attributes change.
            assert changed <= {"name", "small_description", "full_description"}, changed
            listed = catalog.attributes[record["asin"]]["attributes"]
            assert listed != catalog.attributes[anchor["asin"]]["attributes"]
            kinds["attribute"] += 1
    assert min(kinds.values()) > 50, kinds
