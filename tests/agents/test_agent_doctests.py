"""The ``>>>`` examples in vlgym_agents' docstrings run (the vlgym side has its own doctest runner)."""

import doctest
import importlib

import pytest

MODULES = ["vlgym_agents.config", "vlgym_agents.algos.registry", "vlgym_agents.algos.rule", "vlgym_agents.algos.loop",
           "vlgym_agents.rollout.gae", "vlgym_agents.rollout.collector", "vlgym_agents.runtime", "vlgym_agents.cli"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
