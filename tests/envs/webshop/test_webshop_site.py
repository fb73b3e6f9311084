"""The shop's pages, transitions, clickables and text styles, against the original's exact strings."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from webshop_kit import goal, product, shop

from vlgym.envs.webshop.html import render_html
from vlgym.envs.webshop.site import DONE, ITEM, RESULTS, SEARCH, SUB_PAGE
from vlgym.envs.webshop.text import rich_text, simple_text

INSTRUCTION = "i need red running shoes in size 8, and price lower than 50.00 dollars"
TITLE = "Womens Lightweight Running Shoes"


@pytest.fixture
def site():
    target = product("B09P87V3LZ", TITLE, bullets=("rubber sole", "machine wash"), description="Soft and light.",
                     options={"color": ["black", "red"], "size": ["7", "8", "9"]},
                     option_to_image={"red": "vlgym:shoe:red:1"}, main_image="vlgym:shoe:black:1")
    others = [product(f"B0000000{i:02d}", f"Brand{i} Running Shoes Model {i}", price=(10.0 + i,)) for i in range(11)]
    return shop([target, *others], [goal(target, instruction=INSTRUCTION, options={"color": "red", "size": "8"})])


def test_search_page(site):
    assert site.page.kind == SEARCH
    assert simple_text(site.page) == f"WebShop [SEP] Instruction: [SEP] {INSTRUCTION} [SEP] Search"
    assert site.page.clickables == []  # the "Search" button is not a click target
    assert site.page.url == "http://127.0.0.1:3000/vlgym"


def test_results_paging_and_text(site):
    page = site.step("search[Running Shoes]")
    assert page.kind == RESULTS and page.total == 12 and len(page.results) == 10
    text = simple_text(page)
    assert text.startswith(f"Instruction: [SEP] {INSTRUCTION} [SEP] Back to Search [SEP] "
                           "Page 1 (Total results: 12) [SEP] Next > [SEP] ")
    first = page.results[0]
    assert f"[SEP] {first.asin} [SEP] {first.title} [SEP] {first.price_text}" in text
    assert page.clickables[:2] == ["back to search", "next >"]
    assert page.clickables[2:] == [p.asin.lower() for p in page.results]
    assert page.url.endswith("/search_results/vlgym/running+shoes/1")
    page = site.step("click[next >]")
    assert page.page_number == 2 and len(page.results) == 2
    assert page.clickables[:3] == ["back to search", "< prev", "next >"]
    page = site.step("click[next >]")  # "Next >" stays past the end, with an empty page
    assert page.page_number == 3 and page.results == () and "next >" in page.clickables
    site.step("click[< prev]")
    assert site.step("click[< prev]").page_number == 1


def _open_target(site):
    page = site.step("search[running shoes]")
    for _ in range(2):
        asins = [p.asin for p in page.results]
        if "B09P87V3LZ" in asins:
            return site.step("click[b09p87v3lz]")
        page = site.step("click[next >]")
    raise AssertionError("target not found")


def test_item_page_text_and_clickables(site):
    page = _open_target(site)
    assert page.kind == ITEM
    assert simple_text(page) == (
        f"Instruction: [SEP] {INSTRUCTION} [SEP] Back to Search [SEP] < Prev [SEP] color [SEP] black [SEP] red "
        f"[SEP] size [SEP] 7 [SEP] 8 [SEP] 9 [SEP] {TITLE} [SEP] Price: $29.99 [SEP] Rating: N.A. [SEP] "
        "Description [SEP] Features [SEP] Reviews [SEP] Buy Now")
    assert page.clickables == ["back to search", "< prev", "description", "features", "reviews", "buy now",
                               "black", "red", "7", "8", "9"]
    assert page.url.endswith("/item_page/vlgym/B09P87V3LZ/running+shoes/2/{}")


def test_options_sub_pages_and_prev(site):
    _open_target(site)
    page = site.step("click[red]")
    assert page.selected == {"color": "red"} and page.image_url == "vlgym:shoe:red:1"
    page = site.step("click[8]")
    assert page.selected == {"color": "red", "size": "8"}
    assert page.url.endswith('/{"color": "red", "size": "8"}')
    rich = rich_text(page)
    assert rich.startswith("You have clicked 8.\nYou have clicked red.\n")
    assert "  [clicked button] red [clicked button_]\n" in rich and "  [button] black [button_]\n" in rich
    assert "[button] Buy Now [button_]\n" in rich
    page = site.step("click[features]")
    assert page.kind == SUB_PAGE and page.clickables == ["back to search", "< prev"]
    assert simple_text(page) == f"Instruction: [SEP] {INSTRUCTION} [SEP] Back to Search [SEP] < Prev [SEP] " \
                                "rubber sole [SEP] machine wash"
    assert site.step("click[< prev]").selected == {"color": "red", "size": "8"}  # options kept
    site.step("click[reviews]")
    assert simple_text(site.page).endswith("< Prev")  # reviews are always empty, as in the original
    site.step("click[< prev]")
    assert site.step("click[< prev]").kind == RESULTS and site.options == {}  # item -> results resets options


def test_rich_text_marks_visited_products(site):
    _open_target(site)
    page = site.step("click[< prev]")
    rich = rich_text(page)
    assert "\n[clicked button] B09P87V3LZ [clicked button_]\n" in rich
    other = next(p.asin for p in page.results if p.asin != "B09P87V3LZ")
    assert f"\n[button] {other} [button_]\n" in rich
    assert "[button] Back to Search [button_]\n" in rich


def test_buy_now_scores_and_ends(site):
    _open_target(site)
    site.step("click[red]")
    site.step("click[8]")
    page = site.step("click[buy now]")
    assert page.kind == DONE and page.purchase.reward.reward == 1.0
    assert page.clickables == []
    assert simple_text(page).endswith("Your score (min 0.0, max 1.0) [SEP] 1.0")


def test_buy_now_without_options_works(site):
    _open_target(site)
    page = site.step("click[buy now]")
    assert page.purchase.options == {} and page.purchase.reward.reward == pytest.approx(2 / 4)


def test_back_to_search_resets_the_session(site):
    _open_target(site)
    site.step("click[red]")
    page = site.step("click[back to search]")
    assert page.kind == SEARCH and site.keywords == () and site.visited == [] and site.options == {}


def test_validity(site):
    assert site.is_valid("search[anything at all]")
    # A blank query runs, as in the original (issue 11); an empty one and a blank click target do not.
    assert site.is_valid("search[   ]") and not site.is_valid("search[]") and not site.is_valid("click[ ]")
    assert not site.is_valid("click[next >]")
    site.step("search[running shoes]")
    assert not site.is_valid("search[shoes]")  # only the search page has a search bar
    assert site.is_valid("click[next >]") and not site.is_valid("click[< prev]")
    assert not site.is_valid("click[buy now]") and not site.is_valid("buy now")


def test_search_anywhere_reproduces_the_text_env():
    target = product()
    s = shop([target], [goal(target)], search_anywhere=True)
    s.step("search[shoes]")
    assert s.is_valid("search[other]")


def test_attributes_button_with_show_attributes():
    target = product(attributes=("non slip", "memory foam"))
    s = shop([target], [goal(target)], show_attributes=True)
    s.step("search[running shoes]")
    page = s.step(f"click[{target.asin.lower()}]")
    assert "attributes" in page.clickables
    # Then the product's category, query and breadcrumb, as on the original's attributes page (issue 11).
    assert simple_text(s.step("click[attributes]")).endswith(
        f"< Prev [SEP] non slip [SEP] memory foam [SEP] fashion [SEP] running shoes [SEP] {target.product_category}")


class _VisibleText(HTMLParser):
    """The original's text algorithm: visible strings, minus style/script/head/title, stripped."""

    def __init__(self):
        super().__init__()
        self.stack, self.strings = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in ("br", "img", "input", "meta", "link"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if data.strip() and not {"style", "script", "head", "title"} & set(self.stack):
            self.strings.append(data.strip())


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " [SEP] ".join(parser.strings)


def test_html_shows_exactly_the_page_text_on_every_page(site):
    pages = [site.page, site.step("search[running shoes]"), site.step("click[next >]")]
    pages.append(site.step("click[b09p87v3lz]"))
    pages += [site.step("click[red]"), site.step("click[description]"), site.step("click[< prev]"),
              site.step("click[features]"), site.step("click[< prev]"), site.step("click[buy now]")]
    for page in pages:
        html = render_html(page)
        assert visible_text(html) == simple_text(page), page.kind
        assert not re.search(r'(src|href|action)="(?!data:image/png;base64,|/)', html)  # nothing external
        assert "<script" not in html and "<link" not in html


def test_html_escapes_every_string():
    evil = "<script>alert(1)</script>"
    target = product(title=f"Shoes {evil}", options={"color": [f"red {evil}", "blue"]}, description=evil)
    s = shop([target], [goal(target, instruction=f"buy {evil} now")])
    pages = [s.page, s.step(f"search[{evil} shoes]"), s.step(f"click[{target.asin.lower()}]"),
             s.step(f"click[red {evil}]"), s.step("click[description]")]
    for page in pages:
        html = render_html(page)
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert visible_text(html) == simple_text(page)
    assert json.loads(json.dumps(s.options)) == {"color": f"red {evil}"}
