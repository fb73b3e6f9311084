"""WebShop: find and buy the product an instruction describes, in an offline shop seen through a browser.

Its modules import the webshop extra at the top, so the extra is checked here, when ``gym.make`` loads the package.
"""

from vlgym.extras import require_extra

require_extra("webshop")

from vlgym.envs.webshop.env import WebShopEnv  # noqa: E402

__all__ = ["WebShopEnv"]
