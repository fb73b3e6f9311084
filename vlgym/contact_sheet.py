"""A contact sheet: one labelled tile per env, its first frame for a seed (``vlgym eval --contact-sheet``)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw

from vlgym.core import drawing


def write_contact_sheet(env_ids: list[str], path: Path, *, seed: int = 0, env_kwargs: dict | None = None,
                        tile: int = 256) -> None:
    """One labelled tile per env: its first frame for ``seed``."""
    label_height = 24
    sheet = Image.new("RGB", (tile * len(env_ids), tile + label_height), "white")
    draw = ImageDraw.Draw(sheet)
    for i, env_id in enumerate(env_ids):
        env = gym.make(env_id, **(env_kwargs or {}))
        obs, _ = env.reset(seed=seed)
        env.close()
        image = Image.fromarray(np.asarray(obs["image"]))
        image.thumbnail((tile, tile))
        sheet.paste(image, (i * tile + (tile - image.width) // 2, label_height + (tile - image.height) // 2))
        drawing.text(draw, (i * tile + tile // 2, 4), env_id.removeprefix("vlgym/"), 14, "black", anchor="ma")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
