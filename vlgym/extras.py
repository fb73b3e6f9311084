"""Which optional extra each env family needs, and whether it is installed here.

The one place that lists, per family, the extra to install and the modules it provides; envs check it when
they are made, ``vlgym list`` and ``vlgym doctor`` report it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from vlgym.errors import MissingExtraError


@dataclass(frozen=True)
class Extra:
    name: str  # as in pyproject.toml's optional dependencies and scripts/install.sh
    modules: tuple[str, ...]  # importable names (they can differ from the distribution: PyStemmer -> Stemmer)


FAMILY_EXTRAS: dict[str, Extra] = {
    "cards": Extra("", ()),
    "miniworld": Extra("miniworld", ("miniworld", "pyglet")),
    "alfworld": Extra("alfworld", ("alfworld", "textworld", "fast_downward")),
    "webshop": Extra("webshop", ("bm25s", "Stemmer", "jinja2", "selenium")),
}


def missing_modules(family: str) -> list[str]:
    """The modules of ``family``'s extra that cannot be imported here (empty: the family is usable)."""
    return [m for m in FAMILY_EXTRAS[family].modules if importlib.util.find_spec(m) is None]


def require_extra(family: str) -> None:
    """Raise :class:`~vlgym.errors.MissingExtraError` unless ``family``'s extra is installed.

    >>> require_extra("cards")  # Gym-Cards needs nothing beyond the base install
    """
    missing = missing_modules(family)
    if missing:
        raise MissingExtraError(family, FAMILY_EXTRAS[family].name, missing)


def usability_summary() -> str:
    """One line per state: the families usable here, and those that need an extra with its install command."""
    usable = [f for f in FAMILY_EXTRAS if not missing_modules(f)]
    lines = [f"families usable here: {', '.join(usable) or 'none'}"]
    for family in FAMILY_EXTRAS:
        if family not in usable:
            extra = FAMILY_EXTRAS[family].name
            lines.append(f'{family}: needs the \'{extra}\' extra (pip install "vlgym[{extra}]")')
    return "\n".join(lines)
