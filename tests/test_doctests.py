"""The ``>>>`` examples in vlgym's docstrings run, as written (one test per module that has any)."""

from __future__ import annotations

import doctest
import importlib
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in (ROOT / "vlgym").rglob("*.py") if ">>> " in path.read_text()
)


def test_every_public_entry_point_has_an_example():
    assert {"vlgym", "vlgym.core.parsing", "vlgym.wrappers.history", "vlgym.wrappers.discrete",
            "vlgym.wrappers.record", "vlgym.eval", "vlgym.vector", "vlgym.envs.cards",
            "vlgym.envs.miniworld", "vlgym.envs.webshop", "vlgym.envs.alfworld"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the examples' mkdtemp() folders: pytest removes them
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
