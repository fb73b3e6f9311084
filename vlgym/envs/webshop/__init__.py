"""WebShop: find and buy the product an instruction describes, in an offline shop seen through a browser."""

from vlgym.envs.webshop.env import WebShopEnv

__all__ = ["WebShopEnv"]
