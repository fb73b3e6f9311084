"""Make docs/viewer.png: `vlgym view` comparing two agents side by side on the same MiniWorld seed.

    python scripts/viewer_screenshot.py [--out docs/viewer.png]

The agents answer in the prompt's JSON format ({"thoughts": ..., "action": ...}) and expose their prompt
(``last_prompt``), as a VLM agent would: on the left uniform random actions, on the right the env's expert.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
from pathlib import Path

import gymnasium as gym
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

import vlgym  # noqa: F401 (registers the ids)
from vlgym.envs.webshop.browser import start_chromium, stop_chromium
from vlgym.eval import run_episode
from vlgym.prompts import prompt_text
from vlgym.record import agent_notes, write_run
from vlgym.record.viewer import make_server
from vlgym.wrappers import RecordEpisode

ENV, SEEDS = "vlgym/MiniWorld-OneRoom-v0", range(6)


class FormattedAgent:
    """Random or expert actions written as a model's JSON answer, with the prompt a VLM would get."""

    def __init__(self, kind: str, env):
        self.kind, self.env, self.rng = kind, env, random.Random(0)
        self.last_prompt = self.last_answer = None

    def reset(self, seed):
        self.rng = random.Random(seed)

    def act(self, obs, info):
        self.last_prompt = prompt_text(obs, info)
        if self.kind == "expert":
            action, thoughts = self.env.unwrapped.expert_action(), "The box is ahead of me: head for it."
        else:
            action, thoughts = self.rng.choice(info["available_actions"]), "I am not sure where the box is."
        self.last_answer = json.dumps({"thoughts": thoughts, "action": action})
        return self.last_answer


def record(root: Path) -> None:
    for kind in ("random", "expert"):
        env = gym.make(ENV)
        agent = FormattedAgent(kind, env)
        write_run(root / kind, kind="eval", env_id=ENV, agent=f"{kind} (JSON answers)")
        recorder = RecordEpisode(env, root / kind, gif=False, notes=agent_notes(agent))
        for seed in SEEDS:
            run_episode(recorder, agent, seed)
        recorder.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/viewer.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        record(root)
        server = make_server([root / "random", root / "expert"])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        profile = tempfile.mkdtemp(prefix="vlgym-viewer-shot-")
        driver = start_chromium(profile)
        try:
            driver.set_window_size(1500, 1050)
            driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
            WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            rows = driver.find_elements(By.CSS_SELECTOR, "#episodes tbody tr")
            rows[1].click()
            WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "pane-compare"))
            for _ in range(6):
                driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
            WebDriverWait(driver, 10).until(lambda d: d.execute_script(
                "return document.getElementById('position').textContent").startswith("step 7 "))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.out))
        finally:
            stop_chromium(driver, profile)
            server.shutdown()
            server.server_close()
    print(f"screenshot: {args.out}")


if __name__ == "__main__":
    main()
