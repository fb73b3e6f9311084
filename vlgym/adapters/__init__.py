"""Thin adapters that let other trainers drive vlgym envs (local, remote or Ray) through their own protocols.

* :mod:`vlgym.adapters.trl`: TRL's ``environment_factory`` environments (``GRPOTrainer``).
* :mod:`vlgym.adapters.verl`: a verl-agent-style environment manager over a vlgym vector env.

Neither imports the other library: each speaks its protocol (method names, arguments, return shapes).
"""
