"""Recorded runs for the viewer and dataset tests: an expert run and a run whose answers carry markup."""

from __future__ import annotations

import json
from pathlib import Path

from vlgym.eval import evaluate

NUMBERLINE = "vlgym/GymCards-NumberLine-v0"
KWARGS = {"max_position": 3, "start_distribution": "uniform"}  # seed 0: six steps (the tests rely on it)
SEEDS = range(4)
#: Markup a model (or a web page) might write: it must be shown as text and never run.
HOSTILE = ('<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
           '<b id="injected">bold</b>')


class HostileAgent:
    """Alternates a well-formed answer whose thoughts hold markup with a broken one (an invalid action)."""

    name = "hostile"

    def __init__(self):
        self.last_prompt = self.last_answer = None
        self.turn = 0

    def reset(self, seed):
        self.turn = 0

    def act(self, obs, info):
        self.turn += 1
        self.last_prompt = f"<i>prompt</i> {HOSTILE} state: {obs['text']}"
        action = info["available_actions"][0] if self.turn % 2 else "</pre>" + HOSTILE
        self.last_answer = json.dumps({"thoughts": HOSTILE, "action": action})
        return self.last_answer


def record_runs(root: Path) -> Path:
    """``root/expert`` and ``root/hostile`` over the same seeds; returns ``root``."""
    evaluate(NUMBERLINE, "expert", seeds=SEEDS, env_kwargs=KWARGS, record_to=root / "expert")
    evaluate(NUMBERLINE, HostileAgent(), seeds=SEEDS, env_kwargs=KWARGS, record_to=root / "hostile")
    return root
