"""Colour words: the normalisation the reward applies to option values, and the RGB our pictures use.

``COLOR_WORDS`` holds exactly the words of the original WebShop's ``COLOR_SET`` (``normalize.py`` at the
released version), in its alphabetical order, which matters: :func:`normalize_color` returns the *first*
colour word (in this order) that occurs anywhere in a value, so "dark blue" and "light blue" both become
"blue" ("blue" sorts before "dark" and "light"), "mustard yellow" becomes "mustard", and a word merely
containing a colour is normalised too ("washed black" holds "ash", "standard" holds "tan").
"""

from __future__ import annotations

COLOR_WORDS: tuple[str, ...] = (
    "alabaster", "apricot", "aqua", "ash", "asphalt", "azure", "banana", "beige", "black", "blue", "blush",
    "bordeaux", "bronze", "brown", "burgundy", "camel", "camo", "caramel", "champagne", "charcoal", "cheetah",
    "chestnut", "chocolate", "christmas", "coffee", "cognac", "copper", "coral", "cranberry", "cream",
    "crystal", "dark", "denim", "eggplant", "elephant", "espresso", "fuchsia", "gold", "granite", "grape",
    "graphite", "grass", "gray", "green", "grey", "heather", "indigo", "ivory", "ivy", "khaki", "lavender",
    "lemon", "leopard", "light", "lilac", "lime", "magenta", "maroon", "mauve", "merlot", "midnight", "mint",
    "mocha", "multicolor", "mushroom", "mustard", "natural", "navy", "nude", "olive", "orange", "peach",
    "pewter", "pink", "plum", "purple", "rainbow", "red", "rose", "royal", "rust", "sand", "sapphire",
    "seashell", "silver", "skull", "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal",
    "tiger", "turquoise", "violet", "walnut", "wheat", "white", "wine", "yellow",
)


def normalize_color(value):
    """The first colour word that ``value`` contains, else ``value`` unchanged.

    ``value`` may also be a tuple (the original passes ``(name, value)`` pairs for synthetic goals): then
    ``in`` tests tuple membership, so only an element that *is* a colour word is normalised.
    """
    for word in COLOR_WORDS:
        if word in value:
            return word
    return value


#: RGB of the colour option values our synthetic catalogue uses (also keys of the pictures' palette).
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (30, 30, 32), "white": (246, 246, 244), "navy blue": (24, 40, 92), "light blue": (140, 190, 230),
    "royal blue": (40, 80, 200), "grey": (140, 140, 144), "charcoal": (64, 66, 70), "red": (200, 30, 40),
    "wine red": (120, 20, 40), "pink": (240, 150, 180), "light pink": (250, 200, 215), "beige": (222, 205, 170),
    "khaki": (190, 175, 120), "brown": (110, 70, 40), "olive green": (110, 120, 50), "green": (40, 150, 70),
    "mint green": (160, 225, 190), "purple": (120, 60, 160), "lavender": (190, 170, 230), "yellow": (245, 210, 40),
    "orange": (240, 130, 30), "coral": (250, 120, 100), "teal": (20, 130, 130), "silver": (192, 194, 198),
    "gold": (212, 175, 55), "rose gold": (220, 160, 140), "ivory": (250, 245, 225), "walnut": (100, 65, 40),
    "natural oak": (200, 160, 110), "espresso": (60, 40, 30), "nude": (220, 180, 150), "plum": (110, 40, 80),
    "burgundy": (110, 20, 40), "mauve": (180, 130, 150), "denim blue": (70, 100, 140), "cream": (245, 235, 205),
    "sand": (214, 190, 150), "caramel": (180, 110, 50),
}
