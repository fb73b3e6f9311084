"""Small hand-made products, goals and shops for the WebShop tests."""

from __future__ import annotations

from vlgym.envs.webshop.catalog import Catalog, Goal, Product
from vlgym.envs.webshop.search import SearchEngine
from vlgym.envs.webshop.site import Site

SHOES = "Clothing, Shoes & Jewelry › Women › Shoes › Athletic › Running"


def product(asin="B000000001", title="Acme Running Shoes", *, attributes=("non slip",), bullets=("Rubber sole.",),
            description="Light shoes.", options=None, price=(29.99,), query="running shoes", category=SHOES,
            option_to_image=None, main_image="vlgym:shoe:red:0") -> Product:
    price_text = f"${price[0]}" if len(price) == 1 else f"${price[0]} to ${price[1]}"
    return Product(asin=asin, title=title, description=description, bullet_points=tuple(bullets),
                   pricing=tuple(price), price_text=price_text, main_image=main_image,
                   options={k: tuple(v) for k, v in (options or {}).items()}, option_to_image=option_to_image or {},
                   attributes=tuple(attributes), category="fashion", query=query, product_category=category)


def goal(target: Product, *, attributes=("non slip",), options=None, price_upper=50.0,
         instruction="i need non slip running shoes") -> Goal:
    return Goal(asin=target.asin, category=target.category, query=target.query, name=target.title,
                product_category=target.product_category, instruction_text=instruction,
                attributes=tuple(attributes), price_upper=price_upper,
                goal_options={} if options is None else options, search_text=instruction)


def shop(products: list[Product], goals: list[Goal], **site_kwargs) -> Site:
    catalog = Catalog(products, {p.asin: p.pricing[0] for p in products}, goals, "test")
    site = Site(catalog, SearchEngine(products, cache=False), **site_kwargs)
    site.start(goals[0])
    return site
