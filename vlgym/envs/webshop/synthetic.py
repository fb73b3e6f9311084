"""A seeded synthetic catalogue in the original's raw schema (``items_shuffle`` + ``items_ins_v2`` records).

Every product belongs to a :mod:`~vlgym.envs.webshop.taxonomy` type. "Anchor" products get an instruction
(the goals are made from them); after an anchor come its hard negatives: near-duplicates that differ in one
instruction attribute, lack one option value, or cost more, so that an agent has to read the page (title,
features, options, price) to buy the right one. Pictures are ``vlgym:`` URLs that
:mod:`~vlgym.envs.webshop.images` draws: the type's silhouette in the chosen colour.
"""

from __future__ import annotations

import math
import random
import string

from vlgym.envs.webshop.taxonomy import TYPES, ProductType

#: Bump when the generated catalogue changes, so that catalogues cached on disk are rebuilt.
GENERATOR_VERSION = 2  # 2: one removed value per option near-duplicate, one price bound per product
_SYLLABLES = ("vel", "or", "lu", "mi", "ka", "zen", "tra", "no", "ri", "so", "quo", "bel", "an", "dra", "fi",
              "ton", "ga", "ly", "mar", "ex", "pro", "ha", "sun", "vi", "ro", "cal", "tex", "ar")
_ASIN_CHARS = string.digits + string.ascii_uppercase

_INSTRUCTIONS = (
    "i need {noun} that is {a} and {b}",
    "i am looking for {a} {noun} that are {b}",
    "i want to buy {a} and {b} {noun}",
    "find me {noun} which is {a} and {b}",
    "i'm looking for {noun}, {a} and {b}",
    "i would like {noun} that is {a}, {b}",
)
_ATTRIBUTE_BULLETS = (
    "{A}: this {noun} is made to be {attr}, so it keeps working day after day.",
    "{A} - a thoughtful detail that makes our {noun} easy to live with.",
    "Designed with {attr} in mind for comfort, value and everyday reliability.",
    "{A} and carefully finished to meet our quality checks.",
)
_PLAIN_BULLETS = (
    "Package includes: 1 x {noun} and a quick start card.",
    "Satisfaction guarantee: contact us with any question about your {noun}.",
    "Great gift idea for family and friends on birthdays and holidays.",
    "Please check the size and option details before you order.",
)


def _cap(phrase: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in phrase.split())


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(f"vlgym-webshop-{seed}")
        self.asins: set[str] = set()

    def asin(self) -> str:
        while True:
            asin = "B0" + "".join(self.rng.choice(_ASIN_CHARS) for _ in range(8))
            if asin not in self.asins:
                self.asins.add(asin)
                return asin

    def brand(self) -> str:
        return "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(2, 3))).capitalize()

    def options(self, kind: ProductType) -> dict[str, list[str]]:
        chosen = {}
        for name, values in kind.options.items():
            if self.rng.random() < (0.85 if name == "color" else 0.7):
                k = self.rng.randint(2, min(5, len(values)))
                start = self.rng.randint(0, len(values) - k) if name == "size" else None
                picked = values[start:start + k] if start is not None else sorted(
                    self.rng.sample(values, k), key=values.index)
                chosen[name] = list(picked)
        return chosen

    def pricing(self, kind: ProductType) -> str:
        lo, hi = kind.price
        price = math.exp(self.rng.uniform(math.log(lo), math.log(hi)))
        price = max(1.0, round(price)) - self.rng.choice((0.01, 0.01, 0.05, 0.51))
        if self.rng.random() < 0.2:
            top = round(price * self.rng.uniform(1.15, 1.6)) - 0.01
            return f"${price:.2f} - ${top:.2f}"
        return f"${price:.2f}"


def _texts(kind: ProductType, brand: str, noun: str, descriptors: list[str], attributes: list[str],
           rng: random.Random) -> tuple[str, list[str], str]:
    """Title, bullet points and description mentioning the given attributes."""
    title = f"{brand} {_cap(descriptors[0])} {_cap(attributes[0])} {_cap(noun)}"
    if len(attributes) > 2:
        title += f" with {_cap(attributes[2])}"
    title += f", {_cap(descriptors[1])}"
    bullets = [rng.choice(_ATTRIBUTE_BULLETS).format(A=_cap(a), attr=a, noun=noun) for a in attributes[1:]]
    bullets += [t.format(noun=noun) for t in rng.sample(_PLAIN_BULLETS, 2)]
    rng.shuffle(bullets)
    description = (f"The {brand} {noun} is a {descriptors[0]} and {descriptors[1]} choice from our "
                   f"{kind.category} collection. Every order is inspected before it ships.")
    return title, bullets, description


class SyntheticCatalog:
    """Raw records (``items``), attribute records (``attributes``, keyed by ASIN) for ``num_products``."""

    def __init__(self, num_products: int, seed: int = 0):
        if num_products < 10:
            raise ValueError(f"num_products must be at least 10, got {num_products}")
        self.gen = _Generator(seed)
        self.items: list[dict] = []
        self.attributes: dict[str, dict] = {}
        while len(self.items) < num_products:
            anchor = self._anchor(self.gen.rng.choice(TYPES))
            for _ in range(self.gen.rng.choice((0, 1, 1, 1, 2, 2))):
                if len(self.items) < num_products:
                    self._negative(anchor)

    def _record(self, kind: ProductType, asin: str, title: str, bullets: list[str], description: str,
                pricing: str, options: dict[str, list[str]], variant: int) -> dict:
        colors = options.get("color") or [self.gen.rng.choice(("grey", "navy blue", "red", "green", "beige"))]
        image = f"vlgym:{kind.shape}:{colors[0]}:{variant}"
        custom = {name: [{"value": v, "image": f"vlgym:{kind.shape}:{v}:{variant}" if name == "color" else None}
                         for v in values] for name, values in options.items()}
        return {"asin": asin, "name": title, "full_description": description, "small_description": bullets,
                "pricing": pricing, "images": [image], "customization_options": custom or None,
                "category": kind.category, "query": kind.query, "product_category": kind.breadcrumb}

    def _anchor(self, kind: ProductType) -> dict:
        rng, gen = self.gen.rng, self.gen
        attributes = rng.sample(kind.attributes, rng.randint(3, 4))
        descriptors = rng.sample(kind.descriptors, 2)
        noun, brand, asin = rng.choice(kind.nouns), gen.brand(), gen.asin()
        title, bullets, description = _texts(kind, brand, noun, descriptors, attributes, rng)
        options = gen.options(kind)
        record = self._record(kind, asin, title, bullets, description, gen.pricing(kind), options, rng.randrange(4))
        # One attribute may be left out of the listed attributes: the reward then finds it in the text.
        listed = attributes[:-1] if rng.random() < 0.4 else attributes
        wanted = rng.sample(attributes, 2 if rng.random() < 0.6 else 3)
        template = rng.choice(_INSTRUCTIONS)
        instruction = template.format(noun=rng.choice((kind.query, noun)), a=wanted[0], b=wanted[1])
        if len(wanted) > 2:
            instruction += f", and {wanted[2]}"
        self.items.append(record)
        self.attributes[asin] = {"attributes": listed, "instruction": instruction,
                                 "instruction_attributes": wanted}
        return {"record": record, "kind": kind, "brand": brand, "noun": noun, "descriptors": descriptors,
                "attributes": attributes, "listed": listed, "wanted": wanted, "options": options}

    def _negative(self, anchor: dict) -> None:
        """A near-duplicate of ``anchor`` that misses one instruction attribute, one option value, or the price."""
        rng, kind = self.gen.rng, anchor["kind"]
        record = {**anchor["record"], "asin": self.gen.asin()}
        listed = list(anchor["listed"])
        big = max(anchor["options"].items(), key=lambda kv: len(kv[1]), default=(None, []))
        spare = [a for a in kind.attributes if a not in anchor["attributes"]]
        kinds = ["price"] + (["option"] if len(big[1]) >= 3 else []) + (["attribute"] if spare else [])
        choice = rng.choice(kinds)
        if choice == "attribute":
            dropped = rng.choice(anchor["wanted"])
            attributes = [rng.choice(spare) if a == dropped else a for a in anchor["attributes"]]
            title, bullets, description = _texts(kind, anchor["brand"], anchor["noun"], anchor["descriptors"],
                                                 attributes, rng)
            record.update(name=title, small_description=bullets, full_description=description)
            listed = [a for a in attributes if a in listed or a not in anchor["attributes"]]
        elif choice == "option":
            name, values = big
            removed = rng.choice(values)
            kept = [v for v in values if v != removed]
            options = {**anchor["options"], name: kept}
            record["customization_options"] = {n: [e for e in entries if e["value"] in options[n]]
                                               for n, entries in record["customization_options"].items()}
        else:
            prices = [float(p.strip(" ,-")) for p in record["pricing"].split("$")[1:]]
            factor = rng.uniform(1.3, 1.9)
            record["pricing"] = " - ".join(f"${round(p * factor) - 0.01:.2f}" for p in prices)
        self.items.append(record)
        self.attributes[record["asin"]] = {"attributes": listed}
