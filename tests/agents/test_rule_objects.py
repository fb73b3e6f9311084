"""Rules carry their own parts; the trainer and the config module name none; a config reads without torch."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vlgym_agents.config import load_config

PACKAGE = Path(__file__).resolve().parents[2] / "vlgym_agents"
BUILT_IN = re.compile(r"\b(vldac|rl4vlm|loop)\b", re.IGNORECASE)


def test_reading_a_config_imports_neither_torch_nor_the_collector():
    code = ("import sys\nfrom vlgym_agents.config import load_config, dump_config\n"
            "dump_config(load_config('numberline', ['algo.name=loop', 'algo.loop.group_size=2']))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'accelerate')"
            " or m.startswith(('vlgym_agents.rollout', 'vlgym_agents.policy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("module", ["train.py", "config.py"])
def test_trainer_and_config_name_no_algorithm(module):
    """Identifiers, imported modules and string constants other than docstrings name no built-in rule."""
    tree = ast.parse((PACKAGE / module).read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    words = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
        elif isinstance(node, ast.ImportFrom):
            words += [node.module or "", *(alias.name for alias in node.names)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.append(node.value)
    assert [w for w in words if BUILT_IN.search(w.replace(".", " ").replace("_", " "))] == []


def test_each_rule_says_its_parts():
    from vlgym_agents.algos.rule import make_rule

    base = ["model.path=x", "env.id=vlgym/GymCards-NumberLine-v0", "env.num_envs=4"]
    vldac, rl4vlm, loop = (make_rule(load_config(None, [*base, f"algo.name={name}"]).algo)
                           for name in ("vldac", "rl4vlm", "loop"))
    assert (vldac.uses_critic, vldac.value_gradient_to_backbone, vldac.group_size, vldac.warmup_updates) == \
        (True, False, 1, 2)
    assert (rl4vlm.uses_critic, rl4vlm.value_gradient_to_backbone, rl4vlm.group_size) == (True, True, 1)
    assert (loop.uses_critic, loop.group_size, loop.warmup_updates) == (False, 4, 0)
    assert vldac.token_masks(None, []) is None and loop.token_masks(None, []) is None
    assert loop.metrics() == {"pending_steps": 0, "dropped_steps": 0} and vldac.metrics() == {}
