"""Learning rules by name: what ``algo.name`` in a config may say.

A rule is registered with its settings model (the config's ``algo.<name>`` block, torch-free) and its rule
class (a :class:`vlgym_agents.algos.rule.Rule`), given as the class or as a ``"module:Class"`` string that is
imported only when a trainer builds the rule, as gymnasium's registry does for envs. Reading a config therefore
never imports torch. docs/new_algorithm.md adds a rule step by step.

>>> sorted(rule_settings())[:3]
['loop', 'rl4vlm', 'vldac']
"""

from __future__ import annotations

import importlib
from typing import Any

from vlgym_agents.algos.settings import LOOPSettings, RL4VLMSettings, RuleSettings, VLDACSettings

_RULES: dict[str, tuple[type[RuleSettings], Any]] = {}
#: ``algo.name`` when a config does not say.
DEFAULT_RULE = "vldac"


def register_rule(name: str, settings: type[RuleSettings], rule: type | str) -> None:
    """Make ``algo.name=<name>`` train with ``rule``, configured by an ``algo.<name>`` block of ``settings``."""
    if not name.isidentifier():
        raise ValueError(f"a rule's name is a config key: {name!r} is not an identifier")
    _RULES[name] = (settings, rule)


def rule_settings() -> dict[str, type[RuleSettings]]:
    """The settings model of every registered rule, by name."""
    return {name: settings for name, (settings, _) in _RULES.items()}


def rule_class(name: str) -> type:
    """The rule class registered under ``name`` (imported now if it was registered as a string)."""
    if name not in _RULES:
        raise KeyError(f"no rule {name!r}; registered: {', '.join(sorted(_RULES))}")
    settings, rule = _RULES[name]
    if isinstance(rule, str):
        module, _, attribute = rule.partition(":")
        rule = getattr(importlib.import_module(module), attribute)
        _RULES[name] = (settings, rule)
    return rule


register_rule("vldac", VLDACSettings, "vlgym_agents.algos.vldac:VLDAC")
register_rule("rl4vlm", RL4VLMSettings, "vlgym_agents.algos.rl4vlm:RL4VLM")
register_rule("loop", LOOPSettings, "vlgym_agents.algos.loop:LOOP")
