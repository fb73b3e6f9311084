"""Page text in the original's observation styles, built straight from the page model.

``text`` is what the original gets from the rendered page's visible strings joined by ``" [SEP] "``;
``text_rich`` puts one string per line and marks clickables: ``[button] X [button_]``, option values
indented (``[clicked button]`` when chosen, with a leading ``"You have clicked v."`` line per chosen value)
and product ASINs on their own line (``[clicked button]`` once visited this session). :func:`elements` is
the page's visible strings in page order; the HTML templates show exactly these strings (a test checks it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from vlgym.envs.webshop.site import DONE, ITEM, RESULTS, SEARCH, Page

SEP = " [SEP] "


@dataclass(frozen=True)
class Element:
    role: str  # "text", "button", "link" (a product ASIN) or "option"
    text: str
    active: bool = False  # a chosen option, or a visited product


def elements(page: Page) -> list[Element]:
    """The visible strings of ``page``, in page order."""
    if page.kind == DONE:
        purchase = page.purchase
        return [Element("text", t) for t in (
            "Thank you for shopping with us!", "Purchased", purchase.product.asin, purchase.product.title,
            json.dumps(purchase.options), "Your score (min 0.0, max 1.0)", str(purchase.reward.reward))]
    # The search page's template has a space after "Instruction:", the others do not.
    out = [Element("text", "WebShop"), Element("text", "Instruction: ")] if page.kind == SEARCH else [
        Element("text", "Instruction:")]
    out.append(Element("text", page.instruction))
    if page.kind == SEARCH:
        return [*out, Element("button", "Search")]
    out.append(Element("button", "Back to Search"))
    if page.kind == RESULTS:
        out.append(Element("text", f"Page {page.page_number} (Total results: {page.total})"))
        out += [Element("button", b) for b in page.buttons[1:]]
        for product in page.results:
            out += [Element("link", product.asin, product.asin in page.visited), Element("text", product.title),
                    Element("text", product.price_text)]
        return out
    out.append(Element("button", "< Prev"))
    if page.kind != ITEM:
        return out + [Element("text", line) for line in page.sub_page_lines()]
    product = page.product
    for name, values in product.options.items():
        out.append(Element("text", name))
        out += [Element("option", v, page.selected.get(name) == v) for v in values]
    out += [Element("text", product.title), Element("text", f"Price: {product.price_text}"),
            Element("text", "Rating: N.A.")]
    return out + [Element("button", b) for b in page.buttons[2:]]


def _is_node(text: str) -> bool:
    """Whether the original's parser sees ``text`` as a string of its own: not when empty, nor when it is
    whitespace with a newline (BeautifulSoup makes that ``"\\n"``, which the original skips)."""
    return bool(text) and not (text.isspace() and "\n" in text)


def simple_text(page: Page) -> str:
    # A blank string (e.g. an empty bullet point) still gives its own, empty, segment, as in the original.
    return SEP.join(e.text.strip() for e in elements(page) if _is_node(e.text))


def rich_text(page: Page) -> str:
    lines, clicked = [], []
    for e in elements(page):
        if not _is_node(e.text):
            continue
        text = " " if e.text.isspace() else e.text  # BeautifulSoup collapses other blank strings to a space
        if e.role == "button":
            lines.append(f"[button] {text} [button_]")
        elif e.role == "option":
            mark = "clicked button" if e.active else "button"
            lines.append(f"  [{mark}] {text} [{mark}_]")
            if e.active:
                clicked.append(f"You have clicked {text}.")
        elif e.role == "link":
            mark = "clicked button" if e.active else "button"
            lines.append(f"\n[{mark}] {text} [{mark}_]")
        else:
            lines.append(text)  # as written, e.g. " rubber sole" for a bullet point
    return "".join(f"{line}\n" for line in [*reversed(clicked), *lines])


TEXT_STYLES = {"text": simple_text, "text_rich": rich_text, "url": lambda page: page.url}
