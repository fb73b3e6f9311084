"""Learning rules: VL-DAC, and the RL4VLM and LOOP baselines, each a :class:`~vlgym_agents.algos.rule.Rule`
(critic or not, advantages, token masks, loss, metrics) registered by name in
:mod:`vlgym_agents.algos.registry`. See docs/baselines.md for the equations side by side and
docs/new_algorithm.md to add a rule.

The names below are loaded on first use, so that importing the registry or the settings (as reading a config
does) imports no torch.
"""

from importlib import import_module

_HOMES = {
    "StepBatch": "batch", "Rule": "rule", "make_rule": "rule", "register_rule": "registry",
    "rule_settings": "registry", "VLDACSettings": "settings", "RL4VLMSettings": "settings",
    "LOOPSettings": "settings", "VLDAC": "vldac", "vldac_loss": "vldac", "normalize_advantages": "vldac",
    "RL4VLM": "rl4vlm", "rl4vlm_loss": "rl4vlm", "action_token_mask": "rl4vlm", "LOOP": "loop",
    "EpisodeGroups": "loop", "leave_one_out": "loop", "loop_loss": "loop",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
