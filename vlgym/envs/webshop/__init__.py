"""WebShop: find and buy the product an instruction describes, in an offline shop seen through a browser.

>>> import gymnasium as gym
>>> import vlgym
>>> env = gym.make("vlgym/WebShop-v0", renderer="fast", num_products=100, image_size=(192, 256))
>>> obs, info = env.reset(seed=0)
>>> info["page"], info["available_actions"][0].startswith("search[")
('search', True)
>>> obs, reward, terminated, truncated, info = env.step("search[red shoes]")  # any query may be typed
>>> info["action_valid"], info["page"]
(True, 'results')
>>> env.close()

Its modules import the webshop extra at the top, so the extra is checked here, when ``gym.make`` loads the package.
"""

from vlgym.extras import require_extra

require_extra("webshop")

from vlgym.envs.webshop.env import WebShopEnv  # noqa: E402

__all__ = ["WebShopEnv"]
