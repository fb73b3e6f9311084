"""Screenshots of our HTML pages by a real headless Chromium, driven through Selenium.

One browser per renderer, started on the first frame and reused for every step and episode: each page is
written into ``about:blank`` with ``document.write`` (no server, no navigation), its pictures decoded, and
the viewport captured through the DevTools protocol at an exact size (``setDeviceMetricsOverride``; a
window size would lose the height of the browser's chrome). The page is laid out 1024 CSS pixels wide and
scaled to the image width, like the fast renderer. If the browser dies, the next frame starts a new one;
if it is alive but refuses a page, the error is raised and the browser kept. Text that is not text
(lone surrogates, control characters, which chromedriver refuses) is shown as U+FFFD.
Selenium is given the driver's path, so Selenium Manager never downloads anything.

No browser outlives the process that started it: each has a guard process (:mod:`vlgym.envs.webshop.guard`)
that kills it and removes its profile folder once that process closes it or dies, by any signal.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import weakref

import numpy as np
from PIL import Image

from vlgym.core.spaces import printable
from vlgym.envs.webshop import guard
from vlgym.envs.webshop.html import render_html
from vlgym.envs.webshop.site import Page

LOGICAL_WIDTH = 1024
_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
          "--disable-extensions", "--mute-audio", "--force-color-profile=srgb", "--font-render-hinting=none")
# The search box has ``autofocus``: Chromium focuses it at a moment that depends on load, and the caret blinks, so
# a screenshot would sometimes show a focus ring or a caret. The style added after the page hides both.
_WRITE_AND_WAIT = """
const html = arguments[0], done = arguments[arguments.length - 1];
document.open(); document.write(html); document.close();
const still = document.createElement("style");
still.textContent = "*:focus { outline: none !important; } * { caret-color: transparent !important; }";
document.head.appendChild(still);
Promise.all(Array.from(document.images, img => img.decode().catch(() => null))).then(() => done(true));
"""


def find_chromium() -> tuple[str | None, str | None]:
    """(browser binary, chromedriver) from $VLGYM_CHROMIUM / $VLGYM_CHROMEDRIVER or the usual Debian paths."""
    browser = os.environ.get("VLGYM_CHROMIUM") or next(
        (p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                     shutil.which("google-chrome")) if p and os.path.exists(p)), None)
    driver = os.environ.get("VLGYM_CHROMEDRIVER") or shutil.which("chromedriver")
    return browser, driver


def start_chromium(profile: str):
    """A headless Chromium WebDriver with a private profile directory (also used by the server's tests)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = find_chromium()
    if not binary or not driver_path:
        raise RuntimeError("renderer='browser' needs Chromium and chromedriver (Debian: apt-get install chromium "
                           "chromium-driver), or use renderer='fast'")
    options = Options()
    options.binary_location = binary
    for flag in (*_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # Chromium keeps its singleton socket and scoped folders under TMPDIR and removes them only when it exits
    # cleanly: inside the profile, they go with it even when the browser is killed.
    service = Service(executable_path=driver_path, env={**os.environ, "TMPDIR": profile})
    return webdriver.Chrome(service=service, options=options)


class _Browser:
    """A running Chromium + chromedriver pair with a private profile directory and its guard."""

    def __init__(self, width: int, height: int):
        self.profile = tempfile.mkdtemp(prefix="vlgym-chromium-")
        # The guard first: a kill at any later moment leaves nothing behind.
        self.guard = subprocess.Popen([sys.executable, "-I", guard.__file__, self.profile], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self.driver = start_chromium(self.profile)
        except Exception:
            release_guard(self.guard)
            raise
        with contextlib.suppress(OSError):  # a guard that died cannot be told; close() still stops the browser
            self.guard.stdin.write(f"{self.driver.service.process.pid}\n".encode())
            self.guard.stdin.flush()
        self.driver.set_script_timeout(30)
        self.driver.get("about:blank")  # document.write is refused on the new-tab page
        scale = width / LOGICAL_WIDTH
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": LOGICAL_WIDTH, "height": max(1, round(height / scale)), "deviceScaleFactor": scale,
            "mobile": False})

    def screenshot(self, html: str) -> Image.Image:
        self.driver.execute_async_script(_WRITE_AND_WAIT, html)
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True})
        return Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")

    def responds(self) -> bool:
        """Whether browser and driver still answer (after an error: a refused page, or a dead browser)."""
        try:
            return self.driver.execute_script("return 1") == 1
        except Exception:
            return False


def release_guard(process: subprocess.Popen) -> None:
    """Close the guard's pipe (it then kills what is left of its browser and removes the profile) and wait."""
    with contextlib.suppress(OSError):
        process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _stop(driver, profile: str, guard_process: subprocess.Popen) -> None:
    stop_chromium(driver, profile)
    release_guard(guard_process)


def stop_chromium(driver, profile: str) -> None:
    """Quit ``driver``, kill what is left of its browser, and remove its profile directory."""
    with contextlib.suppress(Exception):  # already dead: nothing left to stop
        driver.quit()
    guard.kill_profile_processes(profile)  # a driver that died cannot quit its browser
    shutil.rmtree(profile, ignore_errors=True)


class BrowserRenderer:
    """``render(page) -> uint8 (height, width, 3)`` by headless Chromium; ``close()`` stops the browser."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._browser: _Browser | None = None
        self._finalizer = None
        self.starts = 0  # how many browsers this renderer has started (restarts included)

    def _start(self) -> _Browser:
        self.close()
        browser = _Browser(self.width, self.height)
        self._browser = browser
        self._finalizer = weakref.finalize(self, _stop, browser.driver, browser.profile, browser.guard)
        self.starts += 1
        return browser

    def render(self, page: Page) -> np.ndarray:
        from selenium.common.exceptions import WebDriverException
        from urllib3.exceptions import HTTPError

        html = printable(render_html(page))
        try:
            image = (self._browser or self._start()).screenshot(html)
        except (WebDriverException, HTTPError, OSError):
            if self._browser is not None and self._browser.responds():
                raise  # the page was refused by a live browser: a new browser would refuse it too
            # The browser or its driver died (crash, killed, out of memory): start a new one, once.
            image = self._start().screenshot(html)
        if image.size != (self.width, self.height):  # rounding of the device scale factor
            image = image.resize((self.width, self.height), Image.Resampling.BILINEAR)
        return np.asarray(image).copy()

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # quits the browser once, whether called here or at garbage collection
            self._finalizer = None
        self._browser = None
