"""Our output only: library noise is silenced, and training progress reaches output that is not a terminal."""

import logging
import subprocess
import sys

from vlgym_agents.train import Trainer

NOISY = """
import sys
from vlgym_agents.runtime import quiet_libraries
quiet_libraries()
from vlgym_agents.config import PolicyConfig, Sampling
from vlgym_agents.policy.vlm import VLMPolicy
policy = VLMPolicy(PolicyConfig(path=sys.argv[1], value_head_hidden=[8]))  # LoRA wrapping: the FutureWarning
prompt = policy.prompt({"image": __import__("numpy").zeros((8, 8, 3), "uint8"), "text": "hi"}, {})
policy.generate(policy.encode([prompt]), Sampling(do_sample=False, max_new_tokens=2))
policy.save(sys.argv[2])
print("done")
"""


def test_loading_generating_and_saving_print_no_library_noise(tiny_qwen, tmp_path):
    out = subprocess.run([sys.executable, "-c", NOISY, str(tiny_qwen), str(tmp_path / "saved")], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"
    for noise in ("Loading weights", "Writing model shards", "is_gradient_checkpointing", "generation flags"):
        assert noise not in out.stderr, out.stderr


def test_progress_goes_to_the_log_when_output_is_not_a_terminal(tiny_config, caplog):
    config = tiny_config("run.total_env_steps=16")
    with caplog.at_level(logging.INFO, logger="vlgym_agents.train"):
        Trainer(config).train()
    lines = [r.getMessage() for r in caplog.records if "env steps" in r.getMessage()]
    assert len(lines) == 2
    assert lines[0].startswith("vldac update 1/2: 8/16 env steps, success ") and lines[0].endswith(" left")
    assert lines[1].startswith("vldac update 2/2: 16/16 env steps")
