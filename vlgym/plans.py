"""What a command runs: env ids chosen by name or family, and the plans of an evaluation (ids or manifests).

Bad choices raise ``ValueError`` with a message for the user; the CLI shows it as a bad parameter.
"""

from __future__ import annotations

import vlgym
from vlgym.manifest import Manifest, default_manifest, load_manifest


def env_ids(envs: list[str] | None = None, family: str | None = None) -> list[str]:
    """``envs`` when given (every one a registered id), else every id of ``family`` (or every id).

    >>> env_ids(family="cards")[:2]
    ['vlgym/GymCards-NumberLine-v0', 'vlgym/GymCards-EZPoints-v0']
    """
    if not envs:
        return list(vlgym.list_envs(family))
    unknown = [e for e in envs if e not in vlgym.list_envs()]
    if unknown:
        raise ValueError(f"unknown env id(s): {', '.join(unknown)}; see `vlgym list`")
    return list(envs)


def eval_plans(envs: list[str] | None, family: str | None, manifest: str | None,
               split: str) -> list[str | Manifest]:
    """What ``vlgym eval`` runs: an env id per env, or with ``manifest`` (a path, or ``"default"``: the one vlgym
    ships for each env) a :class:`~vlgym.manifest.Manifest` per env whose ``split`` exists."""
    if manifest is None:
        return env_ids(envs, family)
    if manifest == "default":
        plans = [default_manifest(env_id) for env_id in env_ids(envs, family)]
    else:
        plans = [load_manifest(manifest)]
        if family or (envs and envs != [plans[0].env_id]):
            raise ValueError(f"{manifest} is a manifest for {plans[0].env_id}: drop --env/--family")
    for plan in plans:
        plan.split(split)
    return plans
