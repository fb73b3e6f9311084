"""Long runs: a process playing new ALFWorld games does not grow without bound."""

from __future__ import annotations

import gc
import itertools

from vlgym.envs.alfworld.engine import Engine
from vlgym.envs.alfworld.generator import generate

WARM_UP, WINDOW = 50, 100
MAX_GROWTH_MB = 12.0


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_memory_stays_flat_over_new_games():
    """RSS grows by less than 12 MB from the 50th to the 150th new game, each loaded and reset in one engine.

    The window is smaller than "reset 50 to 300" to keep this test to a minute or two on a 2-core machine:
    small rooms (at most 15 receptacles) make a load cheap, and 100 new games are still enough to tell a bound
    from a leak. Without the bound on textworld's interning (``engine.INTERNED_LIMIT = 10**12``) the same games
    grew a process by 0.29 MB each, about 29 MB over the window (0.6 MB per reset of the env on the rooms of
    the train split); with it, the interned objects are emptied every 15-30 games and RSS levels off (measured
    +0.8 MB from game 50 to 125). The warm-up lets the engine's bounded caches (translations of the last 24
    problems, parsed grammars, command texts) fill first.
    """
    games = (g for g in (generate(seed, "train") for seed in itertools.count()) if len(g.receptacles) <= 15)
    engine = Engine()
    marks = {}
    for i in range(1, WARM_UP + WINDOW + 1):
        engine.load(next(games).game_data())
        engine.reset()
        if i in (WARM_UP, WARM_UP + WINDOW):
            gc.collect()
            marks[i] = rss_mb()
    growth = marks[WARM_UP + WINDOW] - marks[WARM_UP]
    print(f"RSS {marks[WARM_UP]:.1f} MB after {WARM_UP} games, {marks[WARM_UP + WINDOW]:.1f} MB after "
          f"{WARM_UP + WINDOW}: {growth:+.1f} MB")
    assert growth < MAX_GROWTH_MB
