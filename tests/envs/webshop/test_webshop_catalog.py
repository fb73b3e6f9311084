"""Catalogue cleaning, goal generation, splits, the synthetic catalogue and the released-file loader."""

from __future__ import annotations

import json
import random
from collections import Counter
from itertools import product as cartesian

import pytest

from vlgym.envs.webshop.catalog import (
    NO_PRICE_BOUND,
    clean_products,
    load_official,
    price_bound,
    split_indices,
    synthetic_catalog,
    unsolvable_goals,
)
from vlgym.envs.webshop.colors import normalize_color
from vlgym.envs.webshop.synthetic import SyntheticCatalog
from vlgym.envs.webshop.taxonomy import CATEGORIES, TYPES

RAW = {"asin": "B0AAAAAAAA", "name": "Acme Shoes", "full_description": "Nice.", "small_description": ["One.", "Two."],
       "pricing": "$12.50 - $20.00", "images": ["http://x/1.jpg"], "category": "fashion", "query": " Running Shoes ",
       "product_category": "A › B", "customization_options": {"Color": [{"value": "Red/Blue", "image": "http://x/r.jpg"},
                                                                        {"value": "Black", "image": None}]}}


def test_cleaning_rules():
    records = [RAW, {**RAW, "name": "dup"}, {**RAW, "asin": "nan"}, {**RAW, "asin": "B0TOOLONG123"},
               {**RAW, "asin": "B0BBBBBBBB", "pricing": None, "small_description": "just one",
                "customization_options": None}]
    products = clean_products(records, {"B0AAAAAAAA": {"attributes": ["non slip"]}})
    assert [p.asin for p in products] == ["B0AAAAAAAA", "B0BBBBBBBB"]
    first, second = products
    assert first.title == "Acme Shoes" and first.bullet_points == ("One.", "Two.")
    assert first.pricing == (12.5, 20.0) and first.price_text == "$12.5 to $20.0"
    assert first.options == {"color": ("red | blue", "black")}
    assert first.option_to_image == {"red | blue": "http://x/r.jpg"}
    assert first.main_image == "http://x/1.jpg" and first.query == "running shoes"
    assert first.attributes == ("non slip",)
    assert second.attributes == ("DUMMY_ATTR",) and second.pricing == (100.0,) and second.price_text == "$100.0"
    assert second.bullet_points == ("just one",) and second.options == {}


def test_price_bound_rule():
    rng = random.Random(0)
    for price in (0.5, 9.99, 10.0, 47.3, 975.0):
        bound, text = price_bound(price, rng)
        above = [b for b in range(10, 1000, 10) if b > price][:4]
        assert bound in above[1:] and bound > price  # the larger of two distinct choices
        assert text == f", and price lower than {bound:.2f} dollars"
    assert price_bound(985.0, rng) == (NO_PRICE_BOUND, "")


def test_split_rule():
    assert {k: (r.start, r.stop) for k, r in split_indices(12087).items()} == {
        "test": (0, 500), "eval": (500, 1500), "train": (1500, 12087), "all": (0, 12087)}
    small = split_indices(400)
    assert (len(small["test"]), len(small["eval"]), len(small["train"])) == (100, 100, 200)


@pytest.fixture(scope="module")
def catalog():
    return synthetic_catalog(1000, 0)


def test_synthetic_catalogue_covers_the_five_categories_and_every_goal_is_solvable(catalog):
    assert len(catalog.products) == 1000
    assert {p.category for p in catalog.products} == set(CATEGORIES)
    assert catalog.dropped_goals == 0 and unsolvable_goals(catalog) == []
    assert len(catalog.goals) > 1500
    assert all(p.attributes and p.bullet_points and p.description for p in catalog.products)
    assert len({p.asin for p in catalog.products}) == 1000


def test_synthetic_goals_follow_the_original_format(catalog):
    for g in catalog.goals[:200]:
        target = catalog.by_asin[g.asin]
        assert set(g.goal_options) == set(target.options)
        assert all(g.goal_options[n] in target.options[n] for n in g.goal_options)
        options_text = ", and ".join(f"{n}: {v}" for n, v in sorted(g.goal_options.items()))
        expected = target.instruction + (f" with {options_text}" if options_text else "")
        assert g.instruction_text.startswith(expected)
        assert g.instruction_text == expected + (f", and price lower than {g.price_upper:.2f} dollars"
                                                 if g.price_upper < NO_PRICE_BOUND else "")
        assert catalog.prices[g.asin] <= g.price_upper
        assert g.name == target.title and g.attributes == target.instruction_attributes


def test_one_goal_per_option_combination(catalog):
    counts = Counter(g.asin for g in catalog.goals)
    for asin, n in list(counts.items())[:100]:
        combos = 1
        for values in catalog.by_asin[asin].options.values():
            combos *= len(values)
        assert n == combos


def test_goal_weights_balance_rare_attributes(catalog):
    counts = Counter(a for g in catalog.goals for a in g.attributes)
    for g in catalog.goals[:50]:
        assert g.weight == pytest.approx(sum(1 / counts[a] for a in g.attributes) / len(g.attributes))


def test_hard_negatives_exist_and_score_below_one(catalog):
    from vlgym.envs.webshop.reward import purchase_reward

    by_title: dict[str, list] = {}
    for p in catalog.products:
        by_title.setdefault((p.query, p.title.split()[0]), []).append(p)
    near, worse = 0, 0
    for g in catalog.goals[:300]:
        target = catalog.by_asin[g.asin]
        for other in by_title[(target.query, target.title.split()[0])]:
            if other.asin != target.asin:
                near += 1
                options = {n: v for n, v in g.goal_options.items() if v in other.options.get(n, ())}
                worse += purchase_reward(other, g, catalog.prices[other.asin], options).reward < 1.0
    assert near > 100 and worse / near > 0.5


def test_synthetic_catalogue_is_deterministic_and_seeded():
    a, b, c = SyntheticCatalog(50, 1), SyntheticCatalog(50, 1), SyntheticCatalog(50, 2)
    assert a.items == b.items and a.attributes == b.attributes
    assert a.items != c.items


def test_colour_option_values_have_pictures_and_palette_colours():
    from vlgym.envs.webshop.colors import PALETTE

    colours = {v for t in TYPES for v in t.options.get("color", ())}
    assert colours <= set(PALETTE)
    for value in {v for t in TYPES for values in t.options.values() for v in values}:
        # option values never hide a colour word inside another word (it would break goal matching)
        normal = normalize_color(value)
        assert normal == value or normal in value.split()


def test_official_loader_reads_the_released_file_layout(tmp_path):
    raw = SyntheticCatalog(60, 3)
    (tmp_path / "items_shuffle_1000.json").write_text(json.dumps(raw.items))
    (tmp_path / "items_ins_v2_1000.json").write_text(json.dumps(raw.attributes))
    human = {}
    for asin, info in list(raw.attributes.items())[:20]:
        if "instruction" in info:
            human[asin] = [{"asin": asin, "instruction": info["instruction"] + ".",
                            "instruction_attributes": info["instruction_attributes"], "instruction_options": []},
                           {"asin": asin, "instruction": "skipped", "instruction_attributes": []}]
    (tmp_path / "items_human_ins.json").write_text(json.dumps(human))
    synthetic = load_official(tmp_path, goals="synthetic")
    assert len(synthetic.products) == 60
    assert len(synthetic.goals) == sum(
        len(list(cartesian(*p.options.values()))) for p in synthetic.products if p.instruction)
    people = load_official(tmp_path, goals="human", num_products=30)
    assert len(people.products) == 30
    expected = sum(1 for a in human if a in {p.asin for p in people.products})
    assert len(people.goals) == expected and all(isinstance(g.goal_options, tuple) for g in people.goals)
    assert all(not g.instruction_text.split(", and price")[0].endswith(".") for g in people.goals)


def test_official_loader_names_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="items_shuffle"):
        load_official(tmp_path)
