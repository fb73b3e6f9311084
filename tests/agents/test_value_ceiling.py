"""scripts/value_ceiling.py: what a state value can explain of NumberLine's return targets, on the real env."""

import doctest
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "value_ceiling.py"


def load():
    spec = importlib.util.spec_from_file_location("value_ceiling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_ceiling_is_one_for_the_expert_and_falls_with_its_accuracy():
    module = load()
    assert doctest.testmod(module).failed == 0
    ceilings = [module.ceiling(p, gamma=0.5, lam=0.5, episodes=600, seed=1) for p in (1.0, 0.95, 0.8)]
    assert ceilings[0] > 0.999
    assert 0.35 < ceilings[1] < 0.75  # a 95%-accurate policy: about half the variance is its sampling
    assert ceilings[2] < ceilings[1] - 0.1


def test_episodes_follow_the_env_rules():
    module = load()
    for steps in module.play(0.5, 50, seed=3):
        for (target, current), reward, terminated, _, (_, following) in steps:
            assert abs(following - current) <= 1
            assert reward == (1.0 if following == target else 0.0 if abs(following - target) < abs(current - target)
                              else -1.0)
            assert terminated == (following == target)
        assert len(steps) <= 10 and (steps[-1][2] or steps[-1][3])
