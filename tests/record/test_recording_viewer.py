"""`vlgym view`: the server's routes, and the page in a real headless Chromium (filters, episodes, steps, escaping)."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import tomllib
from recordings import HOSTILE, SEEDS, record_runs
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from vlgym.envs.webshop.browser import start_chromium, stop_chromium
from vlgym.record import find_runs
from vlgym.record.viewer import STATIC, STATIC_FILES, answer_segments, make_server


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return record_runs(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def server(runs):
    server = make_server([runs / "expert", runs / "hostile"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(server):
    profile = tempfile.mkdtemp(prefix="vlgym-viewer-test-")
    driver = start_chromium(profile)
    driver.set_window_size(1400, 1000)
    driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    yield driver
    stop_chromium(driver, profile)


def get(server, path):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_the_server_binds_localhost_and_forbids_inline_scripts(server):
    assert server.server_address[0] == "127.0.0.1" and server.server_address[1] > 0
    status, headers, body = get(server, "/")
    assert status == 200 and b"<script src=\"/viewer.js\"" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"] and "unsafe-inline" not in body.decode()
    assert b"http" not in body.replace(b'"http-equiv', b"")  # no asset from elsewhere


@pytest.mark.parametrize("path", ["/nope", "/api/episode?run=0:expert&episode=../../etc",
                                  "/api/episode?run=9:x&episode=episode_00000",
                                  "/frame?run=0:expert&episode=episode_00000&file=../run.json",
                                  "/frame?run=0:expert&episode=episode_00000&file=frames/9999.png",
                                  "/frame?run=0:expert&episode=/etc&file=frames/0000.png", "/%ff%fe/.."])
def test_anything_but_a_recorded_episode_or_frame_is_a_404(server, path):
    assert get(server, path)[0] == 404


def test_the_api_lists_both_folders_runs_and_serves_episodes_and_frames(server, runs):
    status, _, body = get(server, "/api/runs")
    listing = json.loads(body)
    assert status == 200 and [r["id"] for r in listing["runs"]] == ["0:expert", "1:hostile"]
    assert [e["seed"] for e in listing["runs"][0]["episodes"]] == list(SEEDS)
    status, _, body = get(server, "/api/episode?run=1:hostile&episode=episode_00001")
    episode = json.loads(body)
    assert status == 200 and episode["seed"] == 1 and json.loads(episode["steps"][0]["answer"])["thoughts"] == HOSTILE
    status, headers, png = get(server, "/frame?run=0:expert&episode=episode_00000&file=frames/0000.png")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert png == (find_runs(runs / "expert")[0].path / "episode_00000" / "frames" / "0000.png").read_bytes()


def test_answer_segments_mark_thoughts_and_action():
    answer = 'Sure: {"thoughts": "go \\"right\\"", "action": "+"} done'
    assert answer_segments(answer) == [["plain", 'Sure: {"thoughts": "'], ["thoughts", 'go \\"right\\"'],
                                       ["plain", '", "action": "'], ["action", "+"], ["plain", '"} done']]
    assert answer_segments("fly") == [["plain", "fly"]] and answer_segments(None) == []


def text(browser, css):
    """The text of the first element matching ``css`` (read in one script: the page re-renders while we wait)."""
    return browser.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", css)


def rows(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#episodes tbody tr")


def choose(browser, select_id, value):
    browser.execute_script("const s = document.getElementById(arguments[0]); s.value = arguments[1];"
                           "s.dispatchEvent(new Event('change'));", select_id, value)


def test_the_page_lists_and_filters_episodes(browser, runs):
    summaries = [json.loads((p / "episode.json").read_text()) for p in sorted(runs.glob("*/episode_*"))]
    assert len(rows(browser)) == len(summaries) == 2 * len(SEEDS)
    choose(browser, "filter-outcome", "success")
    successes = sum(s["success"] for s in summaries)
    assert len(rows(browser)) == successes and len(SEEDS) <= successes < len(summaries)  # the expert always wins
    assert {r.find_elements(By.TAG_NAME, "td")[4].text for r in rows(browser)} == {"success"}
    choose(browser, "filter-outcome", "")
    browser.find_element(By.ID, "filter-invalid").click()
    invalid = sum(s["invalid_actions"] > 0 for s in summaries)
    assert len(rows(browser)) == invalid and 0 < invalid <= len(SEEDS)  # never the expert
    browser.find_element(By.ID, "filter-invalid").click()
    browser.find_element(By.ID, "filter-seed").send_keys("2")
    assert [r.find_elements(By.TAG_NAME, "td")[3].text for r in rows(browser)] == ["2", "2"]
    browser.find_element(By.ID, "filter-seed").clear()
    browser.find_element(By.ID, "filter-seed").send_keys(Keys.BACKSPACE)
    choose(browser, "filter-run", "1:hostile")
    assert {r.get_attribute("data-run") for r in rows(browser)} == {"1:hostile"}
    choose(browser, "filter-run", "")
    assert len(rows(browser)) == len(summaries)


def test_an_episode_opens_its_steps_can_be_walked_and_nothing_it_wrote_runs(browser):
    hostile = [r for r in rows(browser) if r.get_attribute("data-run") == "1:hostile"]
    hostile[0].click()  # seed 0: six steps, every second answer broken
    wait = WebDriverWait(browser, 10)
    wait.until(lambda d: d.find_elements(By.ID, "pane-main"))
    position = browser.find_element(By.ID, "position")
    assert position.text.startswith("step 1 / ")
    answer = browser.find_element(By.ID, "main-answer")
    assert "<script>window.__pwned = 1</script>" in answer.text  # shown verbatim, as text
    assert answer.find_element(By.CSS_SELECTOR, ".thoughts").text == HOSTILE.replace('"', '\\"')
    frames = [browser.find_element(By.CSS_SELECTOR, "#pane-main img.frame").get_attribute("src")]
    for step in (2, 3):
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
        wait.until(lambda d, step=step: text(d, "#position").startswith(f"step {step} / "))
        frames.append(browser.find_element(By.CSS_SELECTOR, "#pane-main img.frame").get_attribute("src"))
        if step == 2:
            assert browser.find_element(By.ID, "main-valid").text == "invalid"  # the second answer is broken
            assert browser.find_element(By.CSS_SELECTOR, "#pane-main [data-field='parse reason']").text
    # A valid move changes the picture; the invalid answer leaves it as it was (one stored frame).
    assert frames[0] != frames[1] == frames[2]
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.HOME)
    wait.until(lambda d: text(d, "#position").startswith("step 1 / "))
    strip = browser.find_elements(By.CSS_SELECTOR, "#pane-main .strip img")
    strip[-1].click()
    assert browser.find_element(By.ID, "position").text == f"step {len(strip)} / {len(strip)}"
    # Nothing the model wrote became markup or ran.
    assert browser.find_elements(By.CSS_SELECTOR, "#panes script, #panes img[src='x'], #injected, #panes i") == []
    assert browser.execute_script("return window.__pwned") is None
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (raises when no alert is open)


def test_two_runs_side_by_side_on_the_same_seed(browser):
    choose(browser, "filter-run", "1:hostile")
    rows(browser)[2].click()
    WebDriverWait(browser, 10).until(lambda d: "seed 2 " in text(d, "#pane-main .meta"))
    main = browser.find_element(By.CSS_SELECTOR, "#pane-main .meta").text
    compare = browser.find_element(By.CSS_SELECTOR, "#pane-compare .meta").text
    assert "seed 2 " in main and "seed 2 " in compare and "success" in compare
    assert browser.find_element(By.CSS_SELECTOR, "#pane-compare h2").text.startswith("A: expert")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_DOWN)  # the next episode, compared again
    WebDriverWait(browser, 10).until(lambda d: "seed 3 " in text(d, "#pane-compare .meta"))
    choose(browser, "filter-run", "")


def test_the_page_ships_with_the_package():
    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert "record/static/*" in project["tool"]["setuptools"]["package-data"]["vlgym"]
    assert all((STATIC / name).is_file() for name, _ in STATIC_FILES.values())


def test_vlgym_view_prints_its_local_url_and_serves_the_runs(runs):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "vlgym.cli", "view", str(runs)], stdout=subprocess.PIPE,
                               text=True, env=env)
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        connection = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
        connection.request("GET", "/api/runs")
        listing = json.loads(connection.getresponse().read())
        assert [r["name"] for r in listing["runs"]] == ["expert", "hostile"]
    finally:
        process.terminate()
        process.wait(timeout=10)
