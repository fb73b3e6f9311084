"""The table of vlgym ids: every family registers its ids here, by string entry points.

Importing this module loads no simulator and no family's env module but MiniWorld's light task table
(``gym.make`` imports each entry point), so ``import vlgym`` stays cheap and needs no extra. Each id's time
limit is the env class's ``default_max_episode_steps``. ``family`` names the pip extra an id needs
(``vlgym[miniworld]``, ...; the card games need none).
"""

from vlgym.core.registration import register
from vlgym.envs.miniworld.tasks import TASKS

CARDS = "vlgym.envs.cards"
register("vlgym/GymCards-NumberLine-v0", f"{CARDS}.numberline:NumberLineEnv", family="cards",
         description="Move a number to a target on a number line with '+' and '-'.")
register("vlgym/GymCards-EZPoints-v0", f"{CARDS}.points:EZPointsEnv", family="cards",
         description="Make 12 from two cards with '+' and '*', one token per step.")
register("vlgym/GymCards-Points24-v0", f"{CARDS}.points:Points24Env", family="cards",
         description="Make 24 from four cards with + - * / and brackets, one token per step.")
register("vlgym/GymCards-Blackjack-v0", f"{CARDS}.blackjack:BlackjackEnv", family="cards",
         description="Hit or stand against the dealer (gymnasium's Blackjack rules).")
for task in TASKS.values():
    register(f"vlgym/MiniWorld-{task.name}-v0", "vlgym.envs.miniworld.env:MiniWorldTaskEnv", family="miniworld",
             description=task.description, task=task.name)
register("vlgym/WebShop-v0", "vlgym.envs.webshop.env:WebShopEnv", family="webshop",
         description="Find and buy the product an instruction describes, in a web shop seen through a browser.")
register("vlgym/ALFWorld-v0", "vlgym.envs.alfworld.env:ALFWorldEnv", family="alfworld",
         description="ALFWorld household tasks on its TextWorld/PDDL engine, with a drawn map of the room.")
