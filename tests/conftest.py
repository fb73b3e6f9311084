"""Shared fixtures (a factory that makes vlgym envs and closes them after the test), and the order of the files."""

from __future__ import annotations

from pathlib import Path

import pytest
import testkit


@pytest.fixture
def make_env():
    """``make_env(id, **kwargs)``: ``testkit.make`` whose envs are closed when the test ends."""
    made = []

    def make(env_id: str, **kwargs):
        env = testkit.make(env_id, **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


#: The test files that take a minute or more, longest first. scripts/test.sh runs the suite over all cores with
#: pytest-xdist, each file's tests on one worker and the files handed out in collection order (``--dist loadfile
#: --no-loadscope-reorder``): these go first so that no worker is left alone with one of them at the end.
LONGEST_FIRST = ("test_vllm_suite.py", "core/test_contract.py", "core/test_fuzz.py", "test_docs_commands.py",
                 "envs/alfworld/test_engine.py")


@pytest.hookimpl(tryfirst=True)  # before pytest-random-order, which shuffles only when asked to
def pytest_collection_modifyitems(items):
    rank = {Path(__file__).parent / name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path, len(rank)))  # stable: the others keep their order
