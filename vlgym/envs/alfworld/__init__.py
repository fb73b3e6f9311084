"""ALFWorld: household tasks on ALFWorld's own TextWorld/PDDL engine, with generated or official games.

Importing this package loads neither textworld nor alfworld; an env does so on its first reset.
"""

from vlgym.envs.alfworld.env import ALFWorldEnv

__all__ = ["ALFWorldEnv"]
