"""The shop as a state machine: one shopping session, its pages, and the action grammar.

It follows the original's in-process server: ``search[...]`` from the search page gives results page 1;
results have "< Prev" (from page 2), "Next >" (always, even past the last page), "Back to Search" and the
products' ASINs; an item page has its option values, "Description", "Features", "Reviews" (and "Attributes"
with ``show_attributes``) and "Buy Now", which works with or without options chosen and ends the session.
Every page is a :class:`Page` value: the single source of the text, the HTML, the pictures and the
clickables.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field

from vlgym.core.spaces import printable
from vlgym.envs.webshop.catalog import Catalog, Goal, Product
from vlgym.envs.webshop.reward import Compat, RewardInfo, heuristic_nouns, purchase_reward
from vlgym.envs.webshop.search import SearchEngine

RESULTS_PER_PAGE = 10
#: Characters of a search query that are kept (the rest is dropped), so that every page and URL stays short.
MAX_QUERY_LENGTH = 1000
SESSION_ID = "vlgym"
BASE_URL = "http://127.0.0.1:3000"

SEARCH, RESULTS, ITEM, SUB_PAGE, DONE = "search", "results", "item", "sub_page", "done"
BACK, PREV, NEXT, BUY = "back to search", "< prev", "next >", "buy now"
SUB_PAGES = ("description", "features", "reviews", "attributes")
_ACTION = re.compile(r"^(search|click)\[(.*)\]$", re.DOTALL)


def parse(action: str) -> tuple[str, str] | None:
    """``("search" | "click", argument)`` of a canonical action, or None. A click target is trimmed and must
    not be blank; a search argument is kept as typed (the original runs ``search[ ]``, with keywords
    ``["", ""]``)."""
    match = _ACTION.match(action)
    if not match or not match.group(2):
        return None
    verb, argument = match.groups()
    if verb == "click":
        argument = argument.strip()
    return (verb, argument) if argument else None


@dataclass(frozen=True)
class Purchase:
    product: Product
    options: dict[str, str]
    price: float
    reward: RewardInfo


@dataclass(frozen=True, eq=False)
class Page:
    """What one page shows. ``buttons`` are the visible button labels in page order."""

    kind: str
    instruction: str
    url: str
    buttons: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    page_number: int = 1
    total: int = 0
    results: tuple[Product, ...] = ()
    visited: frozenset[str] = frozenset()
    product: Product | None = None
    selected: dict[str, str] = field(default_factory=dict)
    sub_page: str | None = None
    purchase: Purchase | None = None

    @property
    def image_url(self) -> str:
        """The item's picture: the image of a chosen option value, else the main image (as the original)."""
        assert self.product is not None
        for value in self.selected.values():
            if self.product.option_to_image.get(value):
                return self.product.option_to_image[value]
        return self.product.main_image

    def sub_page_lines(self) -> list[str]:
        """The sub page's strings as the original's templates write them: a list item (bullet point or
        attribute) has a leading space and is kept when empty; the attributes page ends with the product's
        category, query and breadcrumb."""
        product = self.product
        if self.sub_page == "description":
            return [product.description]
        if self.sub_page == "features":
            return [f" {b}" for b in product.bullet_points]
        if self.sub_page == "attributes":
            return [*(f" {a}" for a in product.attributes), product.category, product.query,
                    product.product_category]
        return []  # reviews: the original never loads any

    @property
    def clickables(self) -> list[str]:
        """Lower-cased click targets in the original's order: buttons, product links, option values."""
        targets = [b.lower() for b in self.buttons if b != "Search"]
        targets += [p.asin.lower() for p in self.results]
        if self.kind == ITEM:
            targets += [v for values in self.product.options.values() for v in values]
        return list(dict.fromkeys(targets))


class Site:
    """One shopping session over a catalogue, for one goal at a time."""

    def __init__(self, catalog: Catalog, engine: SearchEngine, *, show_attributes: bool = False,
                 search_anywhere: bool = False, compat: Compat = "original", nouns=heuristic_nouns):
        self.catalog, self.engine = catalog, engine
        self.show_attributes, self.search_anywhere = show_attributes, search_anywhere
        self.compat, self.nouns = compat, nouns
        self.goal: Goal | None = None
        self.page: Page | None = None

    # --------------------------------------------------------------------------------------- session
    def start(self, goal: Goal) -> Page:
        self.goal = goal
        self.keywords: tuple[str, ...] = ()
        self.page_number = 1
        self.asin: str | None = None
        self.visited: list[str] = []
        self.options: dict[str, str] = {}
        self.sub_page: str | None = None
        self.purchase: Purchase | None = None
        return self._show(SEARCH)

    @property
    def instruction(self) -> str:
        return self.goal.instruction_text

    def hits(self) -> tuple[int, ...]:
        return self.engine.search(" ".join(self.keywords))

    def can_search(self) -> bool:
        return self.page.kind == SEARCH or (self.search_anywhere and self.page.kind != DONE)

    def is_valid(self, action: str) -> bool:
        parsed = parse(action)
        if parsed is None:
            return False
        verb, argument = parsed
        if verb == "search":
            return self.can_search()
        return argument.lower() in self.page.clickables

    def step(self, action: str) -> Page:
        """Apply a valid action (see :meth:`is_valid`) and return the new page."""
        verb, argument = parse(action)
        if verb == "search":
            # Any text a model typed (what is not text becomes U+FFFD), split on single spaces as the original
            # does: its URLs show "search[ red]" as "+red".
            self.keywords = tuple(printable(argument[:MAX_QUERY_LENGTH]).lower().split(" "))
            self.page_number = 1
            self.asin, self.options, self.sub_page = None, {}, None
            return self._show(RESULTS)
        target, kind = argument.lower(), self.page.kind
        if target == BACK:
            return self.start(self.goal)
        if kind == RESULTS:
            if target in (NEXT, PREV):
                self.page_number += 1 if target == NEXT else -1
                return self._show(RESULTS)
            self.asin, self.options = target.upper(), {}
            if self.asin not in self.visited:
                self.visited.append(self.asin)
            return self._show(ITEM)
        if kind == SUB_PAGE:  # only "< prev" is left: back to the item, options kept
            self.sub_page = None
            return self._show(ITEM)
        if target == PREV:
            self.asin, self.options = None, {}
            return self._show(RESULTS)
        if target in SUB_PAGES:
            self.sub_page = target
            return self._show(SUB_PAGE)
        if target == BUY:
            return self._buy()
        product = self.catalog.by_asin[self.asin]
        self.options[product.option_group(target)] = target
        return self._show(ITEM)

    def snapshot(self) -> Site:
        """A copy of the session's state, for :meth:`restore`."""
        saved = copy.copy(self)
        saved.visited, saved.options = list(self.visited), dict(self.options)
        return saved

    def restore(self, saved: Site) -> None:
        """Go back to the state of :meth:`snapshot`."""
        self.__dict__.update(saved.__dict__)

    def _buy(self) -> Page:
        product = self.catalog.by_asin[self.asin]
        price = self.catalog.prices[product.asin]
        reward = purchase_reward(product, self.goal, price, dict(self.options), compat=self.compat, nouns=self.nouns)
        self.purchase = Purchase(product, dict(self.options), price, reward)
        return self._show(DONE)

    # ------------------------------------------------------------------------------------------ pages
    def _url(self, kind: str) -> str:
        # As the original: options as JSON in item-page URLs, as a Python dict in sub-page and done URLs.
        keywords = "+".join(self.keywords)
        if kind == SEARCH:
            return f"{BASE_URL}/{SESSION_ID}"
        if kind == RESULTS:
            return f"{BASE_URL}/search_results/{SESSION_ID}/{keywords}/{self.page_number}"
        if kind == ITEM:
            options = json.dumps(self.options)
            return f"{BASE_URL}/item_page/{SESSION_ID}/{self.asin}/{keywords}/{self.page_number}/{options}"
        if kind == SUB_PAGE:
            return (f"{BASE_URL}/item_sub_page/{SESSION_ID}/{self.asin}/{keywords}/{self.page_number}/"
                    f"{self.sub_page.capitalize()}/{self.options}")
        return f"{BASE_URL}/done/{SESSION_ID}/{self.asin}/{self.options}"

    def _show(self, kind: str) -> Page:
        common = {"kind": kind, "instruction": self.instruction, "url": self._url(kind), "keywords": self.keywords}
        if kind == SEARCH:
            page = Page(buttons=("Search",), **common)
        elif kind == RESULTS:
            hits = self.hits()
            start = (self.page_number - 1) * RESULTS_PER_PAGE
            rows = tuple(self.catalog.products[i] for i in hits[start:start + RESULTS_PER_PAGE])
            buttons = ("Back to Search", *(("< Prev",) if self.page_number > 1 else ()), "Next >")
            page = Page(buttons=buttons, page_number=self.page_number, total=len(hits), results=rows,
                        visited=frozenset(self.visited), **common)
        elif kind in (ITEM, SUB_PAGE):
            product = self.catalog.by_asin[self.asin]
            if kind == ITEM:
                subs = ("Description", "Features", "Reviews", *(("Attributes",) if self.show_attributes else ()))
                buttons = ("Back to Search", "< Prev", *subs, "Buy Now")
            else:
                buttons = ("Back to Search", "< Prev")
            page = Page(buttons=buttons, product=product, selected=dict(self.options), sub_page=self.sub_page,
                        **common)
        else:
            page = Page(buttons=(), product=self.purchase.product, selected=dict(self.purchase.options),
                        purchase=self.purchase, **common)
        self.page = page
        return page
