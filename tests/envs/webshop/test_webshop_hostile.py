"""Whatever a model types into WebShop: Chromium renders it, every observation of every observation mode is
in the observation space, and a page that cannot be rendered changes nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import gymnasium as gym
import pytest
import testkit
from selenium.common.exceptions import WebDriverException

from vlgym.envs.webshop import browser as browser_module
from vlgym.envs.webshop import guard
from vlgym.envs.webshop.site import MAX_QUERY_LENGTH
from vlgym.envs.webshop.text import TEXT_STYLES

BROWSER = {"num_products": 300, "image_size": (192, 256)}
EMOJI_CUT = "search[red shirt \ud83d]"  # a truncated emoji escape, as json.loads hands it over
LONG_QUERY = "search[" + "long query " * 9_000 + "]"  # within the action length, over the query length


def typed_searches() -> list[str]:
    """The hostile corpus typed into the search box, plainly and inside JSON answers."""
    out = [EMOJI_CUT, '{"action": "search[red shirt \\ud83d]"}', LONG_QUERY]
    for text in testkit.HOSTILE:
        out += [f"search[{text}]", json.dumps({"thoughts": text[:50], "action": f"search[{text}]"})]
    return out


def hostile_steps(env: gym.Env, steps: int):
    """``steps`` steps of hostile text (typed searches and whole answers), back on the search page in between."""
    actions = typed_searches() + list(testkit.HOSTILE)
    _, info = env.reset(seed=0)
    episode = 0
    for i in range(steps):
        action = actions[i % len(actions)] if info["page"] == "search" or i % 2 else "click[back to search]"
        obs, _, terminated, truncated, info = env.step(action)
        yield action, obs, info
        if terminated or truncated:
            episode += 1
            _, info = env.reset(seed=episode)


def out_of_space_observations(observation_mode: str, steps: int) -> int:
    env = testkit.make("vlgym/WebShop-v0", observation_mode=observation_mode, image_size=(32, 32))
    try:
        return sum(not env.observation_space.contains(obs) for _, obs, _ in hostile_steps(env, steps))
    finally:
        env.close()


@pytest.mark.parametrize("observation_mode", sorted(TEXT_STYLES))
def test_hostile_text_never_makes_an_observation_outside_the_space(observation_mode):
    assert out_of_space_observations(observation_mode, 700) == 0  # 2,100 hostile steps over the three modes


def test_a_typed_search_shows_what_is_not_text_as_a_replacement_character():
    env = testkit.make("vlgym/WebShop-v0", observation_mode="url")
    try:
        env.reset(seed=0)
        obs, _, _, _, info = env.step("search[red \x00 shirt \ud83d]")
        assert info["action_valid"] and info["page"] == "results"
        assert obs["text"].endswith("/red+\ufffd+shirt+\ufffd/1")
        env.step("click[back to search]")
        obs, _, _, _, info = env.step(LONG_QUERY)
        assert info["action_valid"] and env.unwrapped.site.keywords == tuple(LONG_QUERY[7:][:MAX_QUERY_LENGTH].split())
    finally:
        env.close()


@pytest.fixture(scope="module")
def browser_env():
    env = gym.make("vlgym/WebShop-v0", **BROWSER)
    yield env
    env.close()


def test_the_browser_renders_whatever_a_model_types(browser_env):
    renderer = None
    for action, obs, info in hostile_steps(browser_env, 2 * len(typed_searches())):
        assert browser_env.observation_space.contains(obs)
        renderer = renderer or browser_env.unwrapped._renderer
        if action == EMOJI_CUT:
            assert info["page"] == "results" and "\ufffd" in info["url"]
    assert renderer.starts == 1  # never taken for a dead browser


def test_a_page_refused_by_a_live_browser_is_not_taken_for_a_dead_browser(browser_env, monkeypatch):
    browser_env.reset(seed=1)
    renderer = browser_env.unwrapped._renderer
    starts = renderer.starts
    page = dataclasses.replace(browser_env.unwrapped.site.page, instruction="red shirt \ud83d\x00")
    assert renderer.render(page).shape == (192, 256, 3)  # shown with U+FFFD
    monkeypatch.setattr(browser_module, "printable", lambda text: text)  # without the replacement ...
    with pytest.raises(WebDriverException):
        renderer.render(page)  # ... chromedriver refuses the page: the error is raised, the browser kept
    assert renderer._browser.responds() and renderer.starts == starts


def test_a_page_that_cannot_be_rendered_changes_nothing(monkeypatch):
    env = gym.make("vlgym/WebShop-v0", **BROWSER)
    try:
        _, info = env.reset(seed=2)
        base = env.unwrapped
        browser = base._renderer._browser
        os.kill(browser.driver.service.process.pid, signal.SIGKILL)  # the browser dies ...
        guard.kill_profile_processes(browser.profile)
        monkeypatch.setenv("VLGYM_CHROMIUM", "/nonexistent/chromium")  # ... and cannot be started again
        search = info["available_actions"][0]
        with pytest.raises(WebDriverException):
            env.step(search)
        assert (base.site.page.kind, base.site.keywords, base.elapsed_steps) == ("search", (), 0)
        monkeypatch.delenv("VLGYM_CHROMIUM")
        _, _, _, _, info = env.step(search)
        assert info["page"] == "results" and base.elapsed_steps == 1 and base._renderer.starts == 2
    finally:
        env.close()
