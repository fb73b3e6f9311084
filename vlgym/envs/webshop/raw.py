"""The shop without pictures beside ``vlgym/WebShop-v0``: the baseline of ``vlgym bench --raw``.

The raw side is our site state machine producing the original's ``text`` observation, i.e. what the
original's text env computes per step (its ≈14 ms go to template rendering and HTML parsing), over the same
catalogue and search index. The difference to the vlgym id is the picture, the parsing and the info.
"""

from __future__ import annotations

import random

from vlgym.envs.webshop.expert import suggested_query
from vlgym.envs.webshop.site import Site
from vlgym.envs.webshop.text import simple_text


class RawShopStepper:
    """Random valid actions on a :class:`Site` of its own, with the text observation built every step."""

    def __init__(self, ours, seed: int = 0):
        env = ours.env.unwrapped
        self.site = Site(env.catalog, env.site.engine)
        self.goals = [env.catalog.goals[i] for i in env.goal_indices]
        self.image_shape = ours.image_shape
        self.seed = seed
        self.reset_site()

    def reset_site(self) -> None:
        self.site.start(self.goals[random.Random(self.seed).randrange(len(self.goals))])
        self.text = simple_text(self.site.page)

    def reset(self) -> None:
        self.seed += 1
        self.reset_site()

    def step(self, rng: random.Random) -> bool:
        page = self.site.page
        actions = [f"click[{c}]" for c in page.clickables]
        if self.site.can_search():
            actions.insert(0, f"search[{suggested_query(self.site)}]")
        page = self.site.step(actions[rng.randrange(len(actions))])
        self.text = simple_text(page)
        return page.kind == "done"

    def close(self) -> None:
        pass  # catalogue and index belong to the vlgym env
