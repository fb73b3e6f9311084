"""The purchase reward, computed by the original WebShop's rules (clean-room, with rapidfuzz).

``reward = r_type * (attributes matched + options matched + [price <= bound]) / (#attributes + #options + 1)``

* **Attributes**: a goal attribute matches when some product attribute has ``token_set_ratio > 85``, or
  else when it is a substring of the lower-cased title, bullet points or description.
* **Options**: purchased values and goal options go through :func:`normalize_color`; a goal option matches
  when some purchased value has ``token_set_ratio > 85``. With ``compat="original"`` (default), dict goal
  options (synthetic goals) are compared as ``(name, value)`` pairs, as the original does (it iterates
  ``.items()``): the pair's string form is matched, so ``"small"`` matches the goal ``size: x-small``.
  ``compat="values"`` compares the values only.
* **Price**: the product's reward price (one number per product) is at most the goal's bound.
* **Type** ``r_type``: 1, unless neither the scraping query nor two breadcrumb levels nor more than 20% of
  the goal title's nouns match (0.5); a noun overlap under 10% gives 0.1 and no overlap gives 0.0 (the later
  rules win, as in the original).

``token_set_ratio`` is the original's: both texts go through thefuzz's ``full_process`` as the original calls
it (thefuzz 0.19, ``force_ascii``): characters U+0080-U+00FF are deleted ("café" becomes "caf", which still
matches "cafe"; "10×20" becomes "1020"), every non-word character becomes a space (``_`` is a word character,
so "pack_of_12" is one token), then lower-case and trim. The ratio itself is rapidfuzz's, rounded to an
integer: equal to thefuzz 0.19 with python-Levenshtein installed. Without python-Levenshtein, thefuzz 0.19
falls back to difflib, whose ratio differs; the ``> 85`` decision then differs for about 1 pair in 10,000.
This module follows the original WebShop (princeton-nlp/WebShop, ``engine/goal.py`` and ``normalize.py`` as
released).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

from vlgym.envs.webshop.colors import COLOR_WORDS, normalize_color

MATCH_THRESHOLD = 85
Compat = Literal["original", "values"]


_LATIN1 = dict.fromkeys(range(0x80, 0x100))
_NON_WORD = re.compile(r"\W")


def full_process(text: str) -> str:
    """thefuzz 0.19's ``full_process(text, force_ascii=True)``: U+0080-U+00FF deleted, non-word characters
    to spaces, lower-cased, trimmed."""
    return _NON_WORD.sub(" ", text.translate(_LATIN1)).lower().strip()


@lru_cache(maxsize=65536)
def similarity(a: str, b: str) -> int:
    """The original's ``fuzz.token_set_ratio`` (0-100, integer)."""
    return round(fuzz.token_set_ratio(full_process(a), full_process(b), processor=None))


def _text(value) -> str:
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class RewardInfo:
    """The parts of one purchase's reward."""

    r_type: float
    attributes_matched: int
    attributes_total: int
    options_matched: int
    options_total: int
    price_ok: bool
    query_match: bool
    category_match: bool
    title_score: float
    reward: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


# ----------------------------------------------------------------------------------------------- nouns
_STOPWORD_LIST = (
    "a an and are as at be by for from in into is it its of on or s the to with without w pcs pc x set "
    "pack count inch inches oz fl ounce pound lb"
)
_ADJECTIVE_LIST = (
    "new best premium soft classic casual modern lightweight breathable cushioned athletic rugged durable "
    "warm insulated quilted thick elegant flowy boho floral stretchy slim high low waisted mid compact bold "
    "matte velvet creamy pigmented glossy quick dry shimmer neutral smoky bright fast silent ergonomic "
    "precise rechargeable loud mini stereo true wireless sport foldable deep comfortable professional clear "
    "adjustable swivel executive rustic round industrial minimalist tufted tall open narrow sturdy dimmable "
    "vintage small rich organic smooth artisan dark medium bold single healthy chewy crunchy soft baked "
    "calming caffeine free soothing refreshing cold pressed imported robust roasted salted unsalted deluxe "
    "relaxed fit everyday outdoor all natural dense travel salon full dual large extra heavy duty quiet "
    "men mens women womens unisex"
)
_STOPWORDS = frozenset(_STOPWORD_LIST.split())
_NOT_NOUNS = frozenset(_ADJECTIVE_LIST.split()) | frozenset(COLOR_WORDS)
_WORD = re.compile(r"[a-z][a-z0-9\-]*")


def heuristic_nouns(title: str) -> list[str]:
    """Lower-cased words of ``title`` that are likely nouns: no stopwords, numbers, colours or adjectives
    of the product vocabulary. Stands in for spaCy's POS tags where spaCy's model is not installed."""
    return [w for w in _WORD.findall(title.lower().replace("'s", "")) if w not in _STOPWORDS and w not in _NOT_NOUNS]


@lru_cache(maxsize=1)
def _spacy_model():
    import spacy  # optional: the original's noun extractor (en_core_web_sm)

    return spacy.load("en_core_web_sm")


def spacy_nouns(title: str) -> list[str]:
    """Lower-cased NOUN/PROPN tokens by spaCy's ``en_core_web_sm``, as the original (needs spaCy + model)."""
    return [t.text.lower() for t in _spacy_model()(title) if t.pos_ in ("NOUN", "PROPN")]


NOUN_EXTRACTORS: dict[str, Callable[[str], list[str]]] = {"heuristic": heuristic_nouns, "spacy": spacy_nouns}


# ---------------------------------------------------------------------------------------------- rules
def type_reward(product, goal, nouns: Callable[[str], list[str]] = heuristic_nouns) -> tuple[float, bool, bool, float]:
    """(r_type, query_match, category_match, title_score) of buying ``product`` for ``goal``."""
    query_match = product.query == goal.query
    bought = {c.strip() for c in product.product_category.split("›")}
    wanted = {c.strip() for c in goal.product_category.split("›")}
    category_match = len(bought & wanted) >= 2
    desired = nouns(goal.name)
    # The denominator counts repeated nouns; the overlap is a set, as in the original.
    title_score = len(set(nouns(product.title)) & set(desired)) / len(desired) if desired else 0.2
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0:
        r_type = 0.0
    return r_type, query_match, category_match, title_score


def attributes_matched(product, goal_attributes: Iterable[str]) -> int:
    title = product.title.lower()
    bullets = " ".join(product.bullet_points).lower()
    description = product.description.lower()
    matched = 0
    for wanted in goal_attributes:
        if any(similarity(have, wanted) > MATCH_THRESHOLD for have in product.attributes) or (
            wanted in title or wanted in bullets or wanted in description
        ):
            matched += 1
    return matched


def goal_option_items(goal_options, compat: Compat = "original") -> list:
    """What the option rule compares: list goals as they are; dict goals as (name, value) pairs (original)
    or as their values."""
    if isinstance(goal_options, dict):
        return list(goal_options.items()) if compat == "original" else list(goal_options.values())
    return list(goal_options)


def options_matched(purchased: Iterable[str], goal_options, compat: Compat = "original") -> int:
    bought = [normalize_color(v) for v in purchased]
    matched = 0
    for wanted in goal_option_items(goal_options, compat):
        wanted = _text(normalize_color(wanted))
        if any(similarity(_text(have), wanted) > MATCH_THRESHOLD for have in bought):
            matched += 1
    return matched


def purchase_reward(product, goal, price: float, options: dict[str, str], *, compat: Compat = "original",
                    nouns: Callable[[str], list[str]] = heuristic_nouns) -> RewardInfo:
    """The reward of buying ``product`` (at reward price ``price``) with the chosen ``options`` for ``goal``."""
    r_type, query_match, category_match, title_score = type_reward(product, goal, nouns)
    n_attributes = attributes_matched(product, goal.attributes)
    n_options = options_matched(options.values(), goal.goal_options, compat)
    price_ok = price <= goal.price_upper
    total = len(goal.attributes) + len(goal.goal_options) + 1
    reward = r_type * (n_attributes + n_options + int(price_ok)) / total
    return RewardInfo(r_type, n_attributes, len(goal.attributes), n_options, len(goal.goal_options), price_ok,
                      query_match, category_match, title_score, reward)
