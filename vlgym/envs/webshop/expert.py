"""The expert shopper: searches the goal's key terms, opens the target, picks the goal's options, buys.

It knows the goal's target product (privileged, like every vlgym expert). When the search does not return
the target, it opens the returned product of the goal's type (else the first one) and buys it with the
closest options.
"""

from __future__ import annotations

from vlgym.envs.webshop.colors import normalize_color
from vlgym.envs.webshop.reward import similarity
from vlgym.envs.webshop.site import BACK, BUY, ITEM, NEXT, PREV, RESULTS, RESULTS_PER_PAGE, SEARCH, Site


def suggested_query(site: Site) -> str:
    """The goal's key terms: its instruction without the price text (options included: they are indexed)."""
    return " ".join(site.goal.search_text.lower().split())


def _wanted_product(site: Site) -> str | None:
    products = [site.catalog.products[i] for i in site.hits()]
    if not products:
        return None
    if any(p.asin == site.goal.asin for p in products):
        return site.goal.asin
    same_type = [p for p in products if p.query == site.goal.query]
    return (same_type or products)[0].asin


def _choices(site: Site) -> dict[str, str]:
    """Option group -> the value to pick on the current item page."""
    product, goal = site.page.product, site.goal
    if isinstance(goal.goal_options, dict):
        wanted = list(goal.goal_options.items())
    else:  # human goals name values only: find each value's group
        wanted = [(None, v) for v in goal.goal_options]
    picks = {}
    for name, value in wanted:
        groups = [name] if name in product.options else list(product.options) if name is None else []
        candidates = [(g, v) for g in groups if g not in picks for v in product.options[g]]
        if not candidates:
            continue
        # The exact value first; else the closest one the reward would accept (first of equals).
        group, choice = max(candidates, key=lambda c: (c[1] == value, similarity(normalize_color(c[1]),
                                                                                  normalize_color(value))))
        if choice == value or similarity(normalize_color(choice), normalize_color(value)) > 85:
            picks[group] = choice
    return picks


def expert_action(site: Site) -> str:
    page = site.page
    if page.kind == SEARCH:
        return f"search[{suggested_query(site)}]"
    if page.kind == RESULTS:
        asins = [site.catalog.products[i].asin for i in site.hits()]
        wanted = _wanted_product(site)
        if wanted is None:
            return f"click[{BACK}]"
        target_page = asins.index(wanted) // RESULTS_PER_PAGE + 1
        if target_page == page.page_number:
            return f"click[{wanted.lower()}]"
        return f"click[{NEXT}]" if target_page > page.page_number else f"click[{PREV}]"
    if page.kind == ITEM:
        if page.product.asin != _wanted_product(site):
            return f"click[{PREV}]"
        for group, value in _choices(site).items():
            if page.selected.get(group) != value:
                return f"click[{value}]"
        return f"click[{BUY}]"
    return f"click[{PREV}]"  # a sub-page
