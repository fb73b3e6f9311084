"""Our HTML pages for the page model: self-contained (inline CSS, pictures as data URIs, no script), styled
like a small shop, and showing exactly the strings of :func:`vlgym.envs.webshop.text.elements` in the same
order (decorations such as the "WebShop" bar come from CSS, not from text). Every string is escaped by
Jinja's autoescaping. Clickables are links (``/click/<target>``) and the search box a GET form
(``/search?q=...``), so the pages also work, without JavaScript, in the human-facing server.
"""

from __future__ import annotations

import json
from functools import lru_cache
from urllib.parse import quote

import jinja2

from vlgym.envs.webshop import images
from vlgym.envs.webshop.site import Page

_CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; background: #fff; color: #111; font-family: "DejaVu Sans", Arial, sans-serif; }
body { font-size: 14px; }
a { text-decoration: none; color: inherit; }
.bar { height: 40px; background: #131921; }
.bar::before { content: "WebShop"; color: #fff; font: bold 20px "DejaVu Sans", sans-serif; line-height: 40px;
  margin-left: 20px; }
.main { padding: 8px 20px; }
.logo { text-align: center; font-size: 44px; font-weight: bold; margin: 56px 0 22px; }
.instruction { background: #fff9db; border: 1px solid #ebd78c; border-radius: 6px; padding: 8px 12px 10px;
  font-size: 15px; line-height: 1.35; margin-bottom: 8px; }
.instruction .label { display: block; font-weight: bold; margin-bottom: 4px; }
.btn { display: inline-block; background: #f0f2f5; border: 1px solid #a0a6af; border-radius: 6px;
  padding: 5px 11px; font-size: 14px; margin-right: 8px; font-family: inherit; color: #111; cursor: pointer; }
.btn-buy { background: #ffa41c; border-color: #c88214; font-weight: bold; font-size: 16px; }
.nav { display: flex; align-items: center; margin: 6px 0 12px; }
.page-info { color: #5a5a5a; margin: 0 16px 0 8px; }
.search-form { display: flex; justify-content: center; margin-top: 20px; }
.search-form input { width: 500px; height: 40px; font-size: 16px; border: 1px solid #a0a6af; border-radius: 6px;
  padding: 0 10px; margin-right: 12px; }
.results { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 20px; }
.card { display: flex; border: 1px solid #ddd; border-radius: 6px; padding: 8px; height: 106px; }
.card img { width: 88px; height: 88px; margin-right: 10px; flex: none; }
.card .body { overflow: hidden; }
.product-link { color: #005ab4; font-weight: bold; text-decoration: underline; }
.product-link.visited { color: #6e3296; }
.card .title { font-size: 13px; line-height: 1.25; max-height: 49px; overflow: hidden; margin: 3px 0; }
.price { color: #b12704; }
.item { display: flex; }
.item .picture { width: 300px; height: 300px; border: 1px solid #ddd; border-radius: 6px; padding: 9px;
  flex: none; margin-right: 20px; }
.item .picture img { width: 280px; height: 280px; }
.details { display: flex; flex-direction: column; }
.options { order: 2; }
.summary { order: 1; }
.actions { order: 3; margin-top: 10px; }
.group-name { font-weight: bold; margin: 8px 0 4px; }
.option { display: inline-block; border: 1px solid #a0a6af; border-radius: 6px; padding: 4px 9px; font-size: 13px;
  margin: 0 6px 4px 0; }
.option.selected { background: #232f3e; color: #fff; border-color: #232f3e; }
.item-title { font-size: 19px; font-weight: bold; line-height: 1.3; margin-bottom: 4px; }
.item-price { font-size: 16px; font-weight: bold; color: #b12704; }
.rating { color: #5a5a5a; margin: 4px 0; }
.actions .btn-buy { display: block; width: max-content; margin-top: 12px; }
.lines { font-size: 15px; line-height: 1.4; }
.lines li { margin-bottom: 6px; }
.thanks { font-size: 30px; font-weight: bold; margin: 30px 0 20px; }
.done-item { display: flex; }
.done-item img { width: 160px; height: 160px; margin-right: 20px; }
.score { font-size: 24px; font-weight: bold; color: #b12704; margin: 6px 0; }
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>WebShop{% if page.keywords %}: {{ page.keywords|join(' ') }}{% endif %}</title>
<style>{{ css|safe }}</style></head>
<body>
{% macro click(target, label, cls='btn') %}
<a class="{{ cls }}" href="/click/{{ target|quote_path }}">{{ label }}</a>
{% endmacro %}
{% if page.kind == 'search' %}
<div class="main">
<div class="logo">WebShop</div>
<div class="instruction" id="instruction-text"><span class="label">Instruction:</span>
<span>{{ page.instruction }}</span></div>
<form class="search-form" action="/search" method="get"><input type="text" id="search_input" name="q" autofocus>
<button class="btn btn-buy" type="submit">Search</button></form>
</div>
{% else %}
<div class="bar"></div>
<div class="main">
{% if page.kind != 'done' %}
<div class="instruction" id="instruction-text"><span class="label">Instruction:</span>
<span>{{ page.instruction }}</span></div>
<div class="nav">{{ click('back to search', 'Back to Search') }}
{% if page.kind == 'results' %}
<span class="page-info">Page {{ page.page_number }} (Total results: {{ page.total }})</span>
{% for b in page.buttons[1:] %}{{ click(b|lower, b) }}{% endfor %}
{% else %}{{ click('< prev', '< Prev') }}{% endif %}
</div>
{% endif %}
{% if page.kind == 'results' %}
<div class="results">
{% for p in page.results %}<div class="card"><img alt="" src="{{ image(p.main_image) }}"><div class="body">
{{ click(p.asin|lower, p.asin, 'product-link visited' if p.asin in page.visited else 'product-link') }}
<div class="title">{{ p.title }}</div><div class="price">{{ p.price_text }}</div></div></div>
{% endfor %}</div>
{% elif page.kind == 'item' %}
<div class="item"><div class="picture"><img id="product-image" alt="" src="{{ image(page.image_url) }}"></div>
<div class="details"><div class="options">
{% for name, values in page.product.options.items() %}<div class="group-name">{{ name }}</div><div>
{% for v in values %}{{ click(v, v, 'option selected' if page.selected.get(name) == v else 'option') }}{% endfor %}
</div>{% endfor %}</div>
<div class="summary"><div class="item-title">{{ page.product.title }}</div>
<div class="item-price">Price: {{ page.product.price_text }}</div><div class="rating">Rating: N.A.</div></div>
<div class="actions">{% for b in page.buttons[2:-1] %}{{ click(b|lower, b) }}{% endfor %}
{{ click('buy now', 'Buy Now', 'btn btn-buy') }}</div></div></div>
{% elif page.kind == 'sub_page' %}
{% if page.sub_page in ('features', 'attributes') %}
<ul class="lines">{% for line in lines %}<li>{{ line }}</li>{% endfor %}</ul>
{% else %}<div class="lines">{% for line in lines %}<p>{{ line }}</p>{% endfor %}</div>{% endif %}
{% else %}
<div class="thanks">Thank you for shopping with us!</div>
<div class="group-name">Purchased</div>
<div class="done-item"><img alt="" src="{{ image(page.image_url) }}"><div>
<div class="product-link">{{ page.purchase.product.asin }}</div>
<div class="item-title">{{ page.purchase.product.title }}</div>
<div class="rating">{{ options_json }}</div></div></div>
<div class="group-name">Your score (min 0.0, max 1.0)</div><div class="score">{{ page.purchase.reward.reward }}</div>
{% if interactive %}<p><a class="btn" href="/new">New episode</a></p>{% endif %}
{% endif %}
</div>
{% endif %}
</body></html>
"""


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    environment = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters["quote_path"] = lambda target: quote(str(target), safe="")
    return environment.from_string(_TEMPLATE)


def render_html(page: Page, *, interactive: bool = False) -> str:
    """The page as one self-contained HTML document; ``interactive`` adds the server's "New episode" link."""
    options_json = json.dumps(page.purchase.options) if page.purchase else ""
    lines = page.sub_page_lines() if page.kind == "sub_page" else []
    return _template().render(page=page, css=_CSS, image=images.data_uri, lines=lines, options_json=options_json,
                              interactive=interactive)
