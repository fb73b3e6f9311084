"""Products and goals in the original WebShop's data model, from raw records of either source.

Raw records follow the original's ``items_shuffle`` schema (``asin``, ``name``, ``full_description``,
``small_description``, ``pricing``, ``images``, ``customization_options``, ``category``, ``query``,
``product_category``), attribute records its ``items_ins_v2`` schema and human instructions its
``items_human_ins`` schema. Both the synthetic generator and the released files go through
:func:`clean_products`, so the cleaning rules (and their consequences for search and reward) are the same.

Goals are made as the original makes them: synthetic goals are one per full combination of a product's
option values, with ``"<instruction> with name: value, and ...<price text>"``; human goals one per human
instruction. Then ``random.Random(233)`` shuffles them and the split rule takes test = the first 500,
eval = the next 1000, train = the rest. Prices and price bounds are drawn from a seeded generator (the
original draws them unseeded, so its bounds change from run to run).
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import random
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import product as cartesian
from pathlib import Path
from typing import Any

#: Price bounds are multiples of 10 up to 990, as in the original.
PRICE_BOUNDS = tuple(range(10, 1000, 10))
NO_PRICE_BOUND = 1_000_000.0
SPLIT_SEED = 233
SPLITS = ("train", "eval", "test", "all")
#: Synthetic catalogues of at least this many products are kept on disk after their first build.
DISK_CACHE_MIN_PRODUCTS = 10_000


def cache_dir() -> Path:
    """Where built catalogues and search indexes are kept: ``$VLGYM_CACHE_DIR/webshop`` (default
    ``~/.cache/vlgym/webshop``)."""
    return Path(os.environ.get("VLGYM_CACHE_DIR", Path.home() / ".cache" / "vlgym")) / "webshop"


@dataclass(frozen=True, eq=False)
class Product:
    asin: str
    title: str
    description: str
    bullet_points: tuple[str, ...]
    pricing: tuple[float, ...]
    price_text: str
    main_image: str
    options: dict[str, tuple[str, ...]]
    option_to_image: dict[str, str]
    attributes: tuple[str, ...]
    category: str
    query: str
    product_category: str
    instruction: str | None = None
    instruction_attributes: tuple[str, ...] = ()
    human_instructions: tuple[dict, ...] = ()

    def option_group(self, value: str) -> str | None:
        """The option group that clicking ``value`` sets: the last one offering it, as in the original (its
        click targets map each value to its last radio button)."""
        return next((name for name, values in reversed(self.options.items()) if value in values), None)


@dataclass(frozen=True, eq=False)
class Goal:
    asin: str
    category: str
    query: str
    name: str
    product_category: str
    instruction_text: str
    attributes: tuple[str, ...]
    price_upper: float
    goal_options: Any  # dict name -> value (synthetic goals) or tuple of values (human goals)
    weight: float = 1.0
    search_text: str = field(default="", repr=False)  # the instruction without its price text


# ------------------------------------------------------------------------------------------ cleaning
def _bullets(small_description) -> tuple[str, ...]:
    if isinstance(small_description, list):
        return tuple(str(b) for b in small_description)
    return (str(small_description),) if small_description else ()


def _pricing(raw: str | None) -> tuple[tuple[float, ...], str]:
    """Prices from a "$12.99" or "$10.99 - $20.99" string; 100.0 when missing, as in the original."""
    prices = []
    for part in (raw or "").split("$")[1:]:
        try:
            prices.append(float(part.strip().strip(",-").strip().replace(",", "")))
        except ValueError:
            continue
    if not prices:
        prices = [100.0]
    prices = prices[:2]
    text = f"${prices[0]}" if len(prices) == 1 else f"${prices[0]} to ${prices[1]}"
    return tuple(prices), text


def clean_products(records: list[dict], attributes: dict[str, dict] | None = None,
                   human: dict[str, list] | None = None) -> list[Product]:
    """Products from raw records with the original's rules: drop ``nan``, over-long and repeated ASINs;
    lower-case option names and values (``/`` becomes `` | ``); ``Attributes`` from the attribute records,
    else ``["DUMMY_ATTR"]``; query lower-cased and stripped."""
    attributes, human = attributes or {}, human or {}
    seen: set[str] = set()
    products = []
    for record in records:
        asin = str(record.get("asin", "nan"))
        if asin == "nan" or len(asin) > 10 or asin in seen:
            continue
        seen.add(asin)
        options: dict[str, tuple[str, ...]] = {}
        option_to_image: dict[str, str] = {}
        for name, values in (record.get("customization_options") or {}).items():
            if not values:
                continue
            cleaned = []
            for entry in values:
                value = str(entry["value"]).strip().lower().replace("/", " | ")
                cleaned.append(value)
                if entry.get("image"):
                    option_to_image[value] = entry["image"]
            options[name.lower()] = tuple(cleaned)
        pricing, price_text = _pricing(record.get("pricing"))
        info = attributes.get(asin, {})
        images = record.get("images") or [None]
        products.append(Product(
            asin=asin, title=str(record.get("name") or ""), description=str(record.get("full_description") or ""),
            bullet_points=_bullets(record.get("small_description")), pricing=pricing, price_text=price_text,
            main_image=images[0] or "", options=options, option_to_image=option_to_image,
            attributes=tuple(info.get("attributes") or ["DUMMY_ATTR"]), category=str(record.get("category", "")),
            query=str(record.get("query", "")).lower().strip(),
            product_category=str(record.get("product_category", "")),
            instruction=info.get("instruction"), instruction_attributes=tuple(info.get("instruction_attributes", ())),
            human_instructions=tuple(human.get(asin, ())),
        ))
    return products


# --------------------------------------------------------------------------------------------- goals
def reward_prices(products: list[Product], rng: random.Random) -> dict[str, float]:
    """One reward price per product: its price, or a uniform draw inside its price range."""
    return {p.asin: p.pricing[0] if len(p.pricing) == 1 else rng.uniform(*p.pricing[:2]) for p in products}


def price_bound(price: float, rng: random.Random) -> tuple[float, str]:
    """The larger of two of the next four multiples of 10 above ``price``, and its instruction text."""
    above = [b for b in PRICE_BOUNDS if b > price][:4]
    if len(above) < 2:
        return NO_PRICE_BOUND, ""
    bound = float(max(rng.sample(above, 2)))
    return bound, f", and price lower than {bound:.2f} dollars"


def _goal(product: Product, instruction: str, attributes, options, bound: tuple[float, str]) -> Goal:
    bound, price_text = bound
    return Goal(product.asin, product.category, product.query, product.title, product.product_category,
                instruction + price_text, tuple(attributes), bound, options, search_text=instruction)


def synthetic_goals(products: list[Product], prices: dict[str, float], rng: random.Random) -> list[Goal]:
    """One goal per combination of option values of every product with an instruction; weights balance
    rare attributes (mean of 1/count over the goal's attributes). As in the original, a product's goals
    share one price bound."""
    goals = []
    for p in products:
        if not p.instruction:
            continue
        bound = price_bound(prices[p.asin], rng)
        names = sorted(p.options)
        for values in cartesian(*(p.options[n] for n in names)):
            options = dict(zip(names, values, strict=True))
            text = p.instruction
            if options:
                text += " with " + ", and ".join(f"{n}: {v}" for n, v in options.items())
            goals.append(_goal(p, text, p.instruction_attributes, options, bound))
    counts = Counter(a for g in goals for a in g.attributes)
    return [_weighted(g, counts) for g in goals]


def _weighted(goal: Goal, counts: Counter) -> Goal:
    if not goal.attributes:
        return goal
    weight = sum(1.0 / counts[a] for a in goal.attributes) / len(goal.attributes)
    return Goal(**{**goal.__dict__, "weight": weight})


def human_goals(products: list[Product], prices: dict[str, float], rng: random.Random) -> list[Goal]:
    """One goal per human instruction with annotated attributes; options are a list of values. Each goal
    draws its own price bound, as in the original."""
    goals = []
    for p in products:
        for record in p.human_instructions:
            if not record.get("instruction_attributes"):
                continue
            goals.append(_goal(p, str(record["instruction"]).strip("."), record["instruction_attributes"],
                               tuple(record.get("instruction_options") or ()), price_bound(prices[p.asin], rng)))
    return goals


def split_indices(n_goals: int) -> dict[str, range]:
    """test / eval / train over the shuffled goals: 500 / 1000 / rest as the original (from 1500 goals on);
    a quarter / a quarter / the rest for smaller goal sets."""
    if n_goals >= 1500:
        n_test, n_eval = 500, 1000
    else:
        n_test = n_eval = n_goals // 4
    return {"test": range(0, n_test), "eval": range(n_test, n_test + n_eval),
            "train": range(n_test + n_eval, n_goals), "all": range(n_goals)}


@dataclass(eq=False)
class Catalog:
    """Products, their reward prices and the shuffled goals with their splits."""

    products: list[Product]
    prices: dict[str, float]
    goals: list[Goal]
    description: str
    dropped_goals: int = 0  # synthetic goals left out because their own target could not satisfy them
    by_asin: dict[str, Product] = field(init=False)
    splits: dict[str, range] = field(init=False)

    def __post_init__(self):
        self.by_asin = {p.asin: p for p in self.products}
        self.splits = split_indices(len(self.goals))


def build_catalog(products: list[Product], goal_kind: str, seed: int, description: str) -> Catalog:
    rng = random.Random(seed)
    prices = reward_prices(products, rng)
    make = {"synthetic": synthetic_goals, "human": human_goals}[goal_kind]
    goals = make(products, prices, rng)
    random.Random(SPLIT_SEED).shuffle(goals)
    return Catalog(products, prices, goals, description)


# ------------------------------------------------------------------------------------ released files
def _first_existing(folder: Path, names: list[str]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def load_official(path: str | Path, *, goals: str = "human", num_products: int | None = None,
                  seed: int = 0) -> Catalog:
    """The original's released files in ``path``: ``items_shuffle.json`` (or ``items_shuffle_1000.json``),
    ``items_ins_v2.json`` (or ``items_ins_v2_1000.json``) and, for human goals, ``items_human_ins.json``."""
    folder = Path(path).expanduser()
    items = _first_existing(folder, ["items_shuffle.json", "items_shuffle_1000.json"])
    attrs = _first_existing(folder, ["items_ins_v2.json", "items_ins_v2_1000.json"])
    human_file = folder / "items_human_ins.json"
    if goals not in ("human", "synthetic"):
        raise ValueError(f"goals must be 'human' or 'synthetic', got {goals!r}")
    missing = [n for n, f in (("items_shuffle[_1000].json", items), ("items_ins_v2[_1000].json", attrs)) if f is None]
    if goals == "human" and not human_file.is_file():
        missing.append("items_human_ins.json")
    if missing:
        raise FileNotFoundError(f"WebShop data not found in {folder}: missing {', '.join(missing)} "
                                "(the original's released files; nothing is downloaded)")
    records = json.loads(items.read_text())
    if num_products is not None:
        records = records[:num_products]
    human = json.loads(human_file.read_text()) if goals == "human" else None
    products = clean_products(records, json.loads(attrs.read_text()), human)
    return build_catalog(products, goals, seed, f"official:{folder.name}:{len(products)}:{goals}")


# ---------------------------------------------------------------------------------------- synthetic
def unsolvable_goals(catalog: Catalog) -> list[Goal]:
    """Goals whose target, bought with exactly the goal's options, would not score 1.0 (in either option
    comparison mode)."""
    from vlgym.envs.webshop.reward import purchase_reward

    failing = []
    for goal in catalog.goals:
        product = catalog.by_asin[goal.asin]
        options = goal.goal_options if isinstance(goal.goal_options, dict) else {}
        if any(purchase_reward(product, goal, catalog.prices[goal.asin], options, compat=mode).reward != 1.0
               for mode in ("original", "values")):
            failing.append(goal)
    return failing


@contextmanager
def _no_gc():
    """Pause the cyclic garbage collector: building or unpickling millions of small objects (which hold no
    cycles) otherwise triggers it over and over (3-4x slower)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def synthetic_catalog(num_products: int = 1000, seed: int = 0) -> Catalog:
    """The seeded synthetic catalogue; goals that their own target could not satisfy are dropped (none
    are, for the shipped taxonomy: a test checks it). Large ones are built once and then read from disk."""
    from vlgym.envs.webshop.synthetic import GENERATOR_VERSION

    if num_products < DISK_CACHE_MIN_PRODUCTS:
        with _no_gc():
            return _build_synthetic(num_products, seed)
    path = cache_dir() / f"synthetic-v{GENERATOR_VERSION}-{num_products}-{seed}.pkl"
    if path.is_file():
        try:
            with path.open("rb") as f, _no_gc():
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):  # damaged or stale: rebuild
            pass
    with _no_gc():
        catalog = _build_synthetic(num_products, seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as f:
            pickle.dump(catalog, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(f.name, path)  # atomic: parallel workers never read half a file
    except OSError:  # a read-only cache only costs the rebuild next time
        pass
    return catalog


def _build_synthetic(num_products: int, seed: int) -> Catalog:
    from vlgym.envs.webshop.synthetic import SyntheticCatalog

    raw = SyntheticCatalog(num_products, seed)
    products = clean_products(raw.items, raw.attributes)
    catalog = build_catalog(products, "synthetic", seed, f"synthetic:{num_products}:{seed}")
    failing = set(map(id, unsolvable_goals(catalog)))
    if failing:
        catalog.goals = [g for g in catalog.goals if id(g) not in failing]
        catalog.splits = split_indices(len(catalog.goals))
    catalog.dropped_goals = len(failing)
    return catalog
