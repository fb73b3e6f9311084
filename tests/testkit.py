"""Helpers shared by tests that run over every registered id, and a free port (importable: pytest's pythonpath has
tests/)."""

from __future__ import annotations

import socket

import gymnasium as gym

import vlgym
from vlgym.core.registration import env_family

#: Per-family gym.make arguments that keep the suite fast without changing what is tested.
FAST_KWARGS = {"miniworld": {"image_size": (60, 80)},
               "webshop": {"renderer": "fast", "num_products": 200, "image_size": (192, 256)},
               # Examine-in-light tasks are played in bedrooms and living rooms, whose games load in a fraction of
               # a kitchen's time; tests/envs/alfworld covers every task type.
               "alfworld": {"task_types": ["look_at_obj_in_light"]}}

IDS = sorted(vlgym.list_envs())


def free_port() -> int:
    """A port on 127.0.0.1 that is free now, for a server that must be started on a given port (the suite runs
    in parallel: never a fixed port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

#: Model output meant to break parsers and envs: huge, nested, code, odd numbers, control characters, lone
#: surrogates, right-to-left marks.
HOSTILE = [
    "",
    " ",
    "\n\n\t",
    "x" * 1_000_000,
    "{" * 1_000_000,
    "{" * 3000,
    "[" * 3000,
    "}" * 3000 + "{" * 3000,
    '{"action": ' * 500,
    '{"a":' * 199 + "1" + "}" * 199,
    "{" + "a" * 19_990 + "}",
    "```" * 3000,
    "```json\n" + "{" * 190 + "\n```",
    "__import__('os').system('true')",
    '{"action": __import__("os").getcwd()}',
    "{'action': eval('1+1')}",
    "99999999999999999999",
    "-1",
    "1e999",
    '{"action": 99999999999999999999}',
    '{"action": ' + "9" * 5000 + "}",
    '{"action": null}',
    '{"action": [1, 2]}',
    '{"action": {"a": 1}}',
    '{"action": true}',
    '{"action": NaN}',
    '{"action": ""}',
    "\x00\x01\x02\x1b[31m\x7f\x9f",
    "\ud800\udc00\udfff",
    "🂡 ♠♥♦♣ 漢字 مرحبا",
    "\u202e\u200b\ufeff",
    "action: ",
    "action:" * 1000,
    "'" * 5000,
    '"' * 5000,
]


#: Goal-less or survival tasks whose episodes run to the step limit (1,000 steps, ~5 s each): a shorter limit takes
#: the same code path, truncation included.
SHORT_LIMIT = {env_id: {"max_episode_steps": 150}
               for env_id in ("vlgym/MiniWorld-CollectHealth-v0", "vlgym/MiniWorld-RoomObjects-v0")}


def fast_kwargs(env_id: str) -> dict:
    return {**FAST_KWARGS.get(env_family(env_id), {}), **SHORT_LIMIT.get(env_id, {})}


def make(env_id: str, **kwargs) -> gym.Env:
    """``gym.make`` with the family's fast defaults (explicit kwargs win)."""
    return gym.make(env_id, **{**fast_kwargs(env_id), **kwargs})


def has_expert(env_id: str) -> bool:
    if env_family(env_id) == "miniworld":
        from vlgym.envs.miniworld.planner import UNSUPPORTED_TASKS

        return gym.spec(env_id).kwargs["task"] not in UNSUPPORTED_TASKS
    return True


def policy_action(env: gym.Env) -> str:
    """The expert's action, or (for goal-less tasks without an expert) a deterministic cycle of actions."""
    base = env.unwrapped
    if has_expert(base.spec.id if base.spec else ""):
        return base.expert_action()
    vocabulary = base.action_vocabulary
    return vocabulary[base.elapsed_steps % len(vocabulary)]
