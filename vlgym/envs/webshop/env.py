"""``vlgym/WebShop-v0``: find and buy the product that an instruction describes, in a simulated web shop."""

from __future__ import annotations

import re
from collections import OrderedDict
from functools import lru_cache
from typing import Any

import numpy as np

from vlgym.core.base import Transition, VLGymEnv
from vlgym.envs.webshop.catalog import SPLITS, Catalog, load_official, synthetic_catalog
from vlgym.envs.webshop.expert import expert_action, suggested_query
from vlgym.envs.webshop.reward import NOUN_EXTRACTORS
from vlgym.envs.webshop.search import SearchEngine
from vlgym.envs.webshop.site import DONE, Site
from vlgym.envs.webshop.text import TEXT_STYLES, rich_text

RENDERERS = ("browser", "fast")
FRAME_CACHE_SIZE = 8
_TYPED_SEARCH = re.compile(r"search\[[^\[\]]+\]")  # any query, even blank: the original runs search[ ]


@lru_cache(maxsize=4)
def shop_data(catalog: str, num_products: int, catalog_seed: int, data_path: str | None,
              goals: str) -> tuple[Catalog, SearchEngine]:
    """Catalogue and search index, shared by every env of a process that asks for the same data."""
    if catalog == "synthetic":
        data = synthetic_catalog(num_products, catalog_seed)
    elif catalog == "official":
        if not data_path:
            raise ValueError("catalog='official' needs data_path: the folder with the original's JSON files")
        data = load_official(data_path, goals=goals, num_products=num_products or None, seed=catalog_seed)
    else:
        raise ValueError(f"catalog must be 'synthetic' or 'official', got {catalog!r}")
    return data, SearchEngine(data.products)


class WebShopEnv(VLGymEnv):
    """
    ## Description
    WebShop (Yao et al., 2022) as a vlgym env: a shopping site with search, result pages, item pages with
    option choices, description / features / reviews pages and a "Buy Now" button. The instruction names a
    product with attributes, options and a price bound; buying scores how well the purchase matches. Pages,
    transitions, the action grammar, the clickables and the reward follow the original (princeton-nlp/WebShop
    as released, with its thefuzz 0.19); the shop runs in process, offline, over a seeded synthetic catalogue
    or the original's released data.

    ## Observation
    ``image``: a screenshot of the current page, 768x1024 by default (``image_size``), from headless Chromium
    rendering our self-contained HTML (``renderer="browser"``) or from the Pillow renderer of the same page
    model (``renderer="fast"``: same strings on screen, similar layout, no browser). ``text``: the page in
    one of the original's styles (``observation_mode``): ``"text"`` (visible strings joined by
    ``" [SEP] "``), ``"text_rich"`` (one line per string, clickables marked ``[button] ... [button_]``) or
    ``"url"``. Text, actions and rewards do not depend on the renderer.

    ## Actions
    ``search[<query>]`` on the search page (any query; ``available_actions`` lists one suggestion, the
    instruction's key terms) and ``click[<target>]`` for every clickable of the page: ``back to search``,
    ``< prev``, ``next >``, product ASINs (lower-case), option values, ``description``, ``features``,
    ``reviews``, ``buy now``. Case and surrounding spaces do not matter; JSON answers work as everywhere.
    A query keeps its first 1,000 characters; characters that are not text (control characters, lone
    surrogates) are shown as U+FFFD.

    ## Reward
    0 for every step but the purchase, which gives the original's score in [0, 1] (see
    :mod:`vlgym.envs.webshop.reward`). Text that is not an available action (e.g. ``search[...]`` away from
    the search page, as in the original's browser env, or ``search[]``) costs ``invalid_action_penalty``
    (default 0: the original treats it as a no-op) and changes nothing.

    ## Success and score
    ``score`` is the purchase reward (0.0 until something is bought); ``success`` is a purchase with reward
    exactly 1.0.

    ## Episode end
    Terminated by "Buy Now". Truncated after ``max_episode_steps`` steps (a ``gym.make`` argument; default 50,
    as the VL-DAC configuration; invalid steps count). The limit always applies: an env built without
    ``gym.make`` stops after 50 steps too.

    ## Arguments
    * ``catalog``: ``"synthetic"`` (default; :mod:`~vlgym.envs.webshop.synthetic`) or ``"official"`` with
      ``data_path`` (the original's ``items_shuffle*.json``, ``items_ins_v2*.json``, ``items_human_ins.json``).
    * ``num_products`` (1000; synthetic: 10 to 100,000; official: truncation, 0 for all), ``catalog_seed`` (0).
    * ``goals``: ``"synthetic"`` (default for the synthetic catalogue) or ``"human"`` (default for official).
    * ``split``: ``"all"`` (default), ``"train"``, ``"eval"`` or ``"test"`` (the original's rule: test = the
      first 500 shuffled goals, eval = the next 1000). Episodes draw goals by the original's goal weights
      from the episode seed (``goal_sampling="weighted"``), or take goal ``seed % n`` of the split
      (``goal_sampling="sequential"``: seeds 0..n-1 cover the split once); ``reset(options={"goal_index": i})``
      picks goal ``i``.
    * ``renderer``: ``"browser"`` (default) or ``"fast"``; ``image_size`` ((768, 1024), as (height, width)).
    * ``browser_restart_every`` (0: never): start a fresh browser every N episodes, which returns the memory
      Chromium gathers over a long run (see ``docs/webshop.md``).
    * ``observation_mode``: ``"text"`` (default), ``"text_rich"`` or ``"url"``.
    * ``show_attributes`` (False: the "Attributes" button of the original's debug mode),
      ``search_anywhere`` (False; True accepts ``search[...]`` on every page, like the original's text env).
    * ``reward_compat``: ``"original"`` (default: dict goal options are matched as (name, value) pairs, the
      original's quirk) or ``"values"``; ``nouns``: ``"heuristic"`` (default) or ``"spacy"`` (the original's
      ``en_core_web_sm``, when installed) for the product-type rule.
    * the common arguments of :class:`vlgym.core.base.VLGymEnv`.

    ## Differences from the original
    See ``docs/webshop.md``: seeded prices and bounds, exact goal weighting (the original's sampler never
    draws goal 0), BM25 through bm25s (Snowball stemmer), no debug search prefixes, a shorter done page,
    and our own HTML (no CDN, options as links instead of JavaScript radios).

    ## Version History
    * v0: initial release.
    """

    default_invalid_action_penalty = 0.0
    default_max_episode_steps = 50

    def __init__(self, *, catalog: str = "synthetic", num_products: int = 1000, catalog_seed: int = 0,
                 data_path: str | None = None, goals: str | None = None, split: str = "all",
                 renderer: str = "browser", image_size=(768, 1024), observation_mode: str = "text",
                 show_attributes: bool = False, search_anywhere: bool = False,
                 reward_compat: str = "original", nouns: str = "heuristic", goal_sampling: str = "weighted",
                 browser_restart_every: int = 0, **kwargs: Any):
        super().__init__(image_size=image_size, **kwargs)
        if renderer not in RENDERERS:
            raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
        if observation_mode not in TEXT_STYLES:
            raise ValueError(f"observation_mode must be one of {tuple(TEXT_STYLES)}, got {observation_mode!r}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if reward_compat not in ("original", "values"):
            raise ValueError(f"reward_compat must be 'original' or 'values', got {reward_compat!r}")
        if goal_sampling not in ("weighted", "sequential"):
            raise ValueError(f"goal_sampling must be 'weighted' or 'sequential', got {goal_sampling!r}")
        if browser_restart_every < 0:
            raise ValueError(f"browser_restart_every must be >= 0, got {browser_restart_every}")
        if nouns not in NOUN_EXTRACTORS:
            raise ValueError(f"nouns must be one of {tuple(NOUN_EXTRACTORS)}, got {nouns!r}")
        if catalog == "synthetic" and not 10 <= int(num_products) <= 100_000:
            raise ValueError(f"num_products must be between 10 and 100000, got {num_products}")
        goals = goals or ("synthetic" if catalog == "synthetic" else "human")
        if catalog == "synthetic" and goals != "synthetic":
            raise ValueError("the synthetic catalogue has synthetic goals only")
        data, engine = shop_data(catalog, int(num_products), int(catalog_seed), data_path, goals)
        self.catalog = data
        self.goal_indices = data.splits[split]
        if not len(self.goal_indices):
            raise ValueError(f"the {split!r} split of this catalogue has no goals")
        weights = np.array([data.goals[i].weight for i in self.goal_indices], dtype=np.float64)
        self._cumulative_weights = np.cumsum(weights / weights.sum())
        self.site = Site(data, engine, show_attributes=show_attributes, search_anywhere=search_anywhere,
                         compat=reward_compat, nouns=NOUN_EXTRACTORS[nouns])
        self.renderer_name, self.observation_mode, self.goal_sampling = renderer, observation_mode, goal_sampling
        self._renderer = None
        self._frames: OrderedDict[str, np.ndarray] = OrderedDict()
        self.browser_restart_every, self._episodes = int(browser_restart_every), 0

    # -------------------------------------------------------------------------------------------- game
    def _game_reset(self, seed, options):
        self._count_episode()
        if options and "goal_index" in options:
            index = int(options["goal_index"])
            if not 0 <= index < len(self.goal_indices):
                raise ValueError(f"goal_index must be in [0, {len(self.goal_indices)}), got {index}")
        elif self.goal_sampling == "sequential" and seed is not None:
            index = seed % len(self.goal_indices)
        else:
            index = int(np.searchsorted(self._cumulative_weights, self.np_random.random(), side="right"))
            index = min(index, len(self.goal_indices) - 1)
        self.goal_index = index
        self.site.start(self.catalog.goals[self.goal_indices[index]])
        return ""

    def _count_episode(self) -> None:
        self._episodes += 1
        every = self.browser_restart_every
        if every and self._renderer is not None and (self._episodes - 1) % every == 0:
            self._renderer.close()  # the next frame starts a fresh browser

    def _game_actions(self):
        page = self.site.page
        if page.kind == DONE:
            return []
        actions = [f"search[{suggested_query(self.site)}]"] if self.site.can_search() else []
        return actions + [f"click[{c}]" for c in page.clickables]

    def _game_free_action(self, candidate):
        # A typed search[...] with any query counts as available on the search page.
        if not self.site.can_search():
            return None
        if self.action_matching == "exact":
            return candidate if _TYPED_SEARCH.fullmatch(candidate) else None
        found = _TYPED_SEARCH.findall(candidate)
        return found[-1] if found else None

    def _game_step(self, action):
        saved = self.site.snapshot()
        page = self.site.step(action)
        try:
            self._game_image()  # rendered now (and cached): a page that cannot be shown never becomes the state
        except Exception:
            self.site.restore(saved)
            raise
        if page.kind == DONE:
            reward = page.purchase.reward.reward
            return Transition(reward, terminated=True, feedback=f"You bought {page.purchase.product.asin}.")
        return Transition(0.0)

    def _game_image(self):
        # The last frames are kept, keyed by the page's rich text, which names everything the picture shows
        # (strings, chosen options, visited products): going back to a page costs a copy, not a rendering.
        key = rich_text(self.site.page)
        frame = self._frames.get(key)
        if frame is None:
            frame = self._frames[key] = self._get_renderer().render(self.site.page)
            if len(self._frames) > FRAME_CACHE_SIZE:
                self._frames.popitem(last=False)
        else:
            self._frames.move_to_end(key)
        return frame.copy()  # observations must not share memory (the cache keeps its own)

    def _get_renderer(self):
        if self._renderer is None:
            if self.renderer_name == "fast":
                from vlgym.envs.webshop.fast_render import FastRenderer

                self._renderer = FastRenderer(self.image_width, self.image_height)
            else:
                from vlgym.envs.webshop.browser import BrowserRenderer

                self._renderer = BrowserRenderer(self.image_width, self.image_height)
        return self._renderer

    def _game_text(self):
        return TEXT_STYLES[self.observation_mode](self.site.page)

    def _game_instruction(self):
        return self.site.instruction

    def _game_success(self):
        purchase = self.site.purchase
        return purchase is not None and purchase.reward.reward == 1.0

    def _game_score(self):
        return float(self.site.purchase.reward.reward) if self.site.purchase else 0.0

    def _game_info(self):
        info = {"page": self.site.page.kind, "url": self.site.page.url, "goal_index": self.goal_index}
        if self.site.purchase:
            purchase = self.site.purchase
            info["purchase"] = {"asin": purchase.product.asin, "options": dict(purchase.options),
                                **purchase.reward.to_dict()}
        return info

    def expert_action(self):
        return expert_action(self.site)

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._frames.clear()
        super().close()
