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
"""

from vlgym.envs.webshop.env import WebShopEnv

__all__ = ["WebShopEnv"]
