"""The Chromium renderer (few tests: each browser start costs about a second)."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pytest
from selenium.common.exceptions import NoAlertPresentException

SMALL = {"num_products": 300}


@pytest.fixture(scope="module")
def browser_env():
    env = gym.make("vlgym/WebShop-v0", **SMALL)
    yield env
    env.close()


def play(env, seed, extra=()):
    """An expert episode with a few detours; returns (texts, actions, rewards, infos without page-only keys)."""
    _, info = env.reset(seed=seed)
    texts, actions, rewards = [], [], []
    detours = list(extra)
    done = False
    while not done:
        action = detours.pop(0) if detours and info["page"] == "item" else env.unwrapped.expert_action()
        obs, reward, terminated, truncated, info = env.step(action)
        texts.append(obs["text"])
        actions.append(info["available_actions"])
        rewards.append(reward)
        done = terminated or truncated
    return texts, actions, rewards, obs["image"]


def test_browser_frames_have_the_exact_viewport_and_show_the_page(browser_env):
    obs, _ = browser_env.reset(seed=0)
    image = obs["image"]
    assert image.shape == (768, 1024, 3) and image.dtype == np.uint8
    assert image.std() > 10  # not a blank page
    obs, *_ = browser_env.step(browser_env.unwrapped.expert_action())
    bar = obs["image"][5:35, 400:900].reshape(-1, 3).mean(axis=0)  # the dark top bar of a results page
    assert np.abs(bar - np.array([19, 25, 33])).max() < 12


def test_a_frame_does_not_show_whether_the_search_box_has_focus_yet(browser_env):
    """The box has autofocus, which Chromium applies at a moment that depends on load (seen as a flaky frame)."""
    import base64
    import io

    from PIL import Image

    browser_env.reset(seed=0)
    game = browser_env.unwrapped
    game._get_renderer().render(game.site.page)  # the search page in the browser: reset may reuse a cached frame
    driver = game._renderer._browser.driver
    frames, focused = [], []
    for script in ("document.getElementById('search_input').focus()", "document.activeElement.blur()"):
        driver.execute_script(script)
        focused.append(driver.execute_script("return document.activeElement.id"))
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        frames.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")))
    assert focused == ["search_input", ""]
    assert np.array_equal(frames[0], frames[1])


def test_text_actions_and_rewards_do_not_depend_on_the_renderer(browser_env):
    fast = gym.make("vlgym/WebShop-v0", renderer="fast", **SMALL)
    for seed in (1, 2):
        detours = ("click[features]", "click[< prev]", "click[description]", "click[< prev]")
        a = play(browser_env, seed, detours)
        b = play(fast, seed, detours)
        assert a[:3] == b[:3]
        assert a[3].shape == b[3].shape
    fast.close()


def test_one_browser_serves_every_step_and_episode_and_restarts_when_it_dies(browser_env):
    browser_env.reset(seed=2)  # the browser starts with the first frame, here or in an earlier test
    renderer = browser_env.unwrapped._renderer
    starts = renderer.starts
    for seed in (3, 4):
        play(browser_env, seed)
    assert renderer.starts == starts
    renderer._browser.driver.service.process.kill()  # the driver dies behind the env's back
    renderer._browser.driver.service.process.wait()
    obs, _ = browser_env.reset(seed=5)
    assert obs["image"].std() > 10 and renderer.starts == starts + 1


def test_close_stops_the_browser():
    env = gym.make("vlgym/WebShop-v0", image_size=(240, 320), **SMALL)
    obs, _ = env.reset(seed=0)
    assert obs["image"].shape == (240, 320, 3)
    browser = env.unwrapped._renderer._browser
    process, profile = browser.driver.service.process, browser.profile
    env.close()
    assert process.wait(timeout=10) is not None and not os.path.exists(profile)


def test_a_script_in_a_search_is_shown_as_text(browser_env):
    browser_env.reset(seed=0)
    evil = "<script>alert(1)</script>"
    obs, _, _, _, info = browser_env.step(f"search[{evil}]")
    assert info["action_valid"] and obs["image"].std() > 10
    driver = browser_env.unwrapped._renderer._browser.driver
    assert driver.title == f"WebShop: {evil}"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 (reading the property is the check)
    assert driver.execute_script("return document.scripts.length") == 0


def test_doctor_renders_a_webshop_frame_through_the_browser(tmp_path):
    from PIL import Image

    from vlgym.doctor import check_webshop

    check = check_webshop(tmp_path)
    assert check.ok, check.detail
    assert "chromedriver" in check.detail and Image.open(check.frame).size == (1024, 768)
