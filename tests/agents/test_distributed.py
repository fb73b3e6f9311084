"""Two CPU processes under ``accelerate launch``: DDP averages the ranks' gradients, ranks play disjoint seeds,
and a two-process Trainer run ends with the same weights on both ranks (see ddp_check.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from testkit import free_port

HERE = Path(__file__).resolve().parent


def test_two_processes_agree_on_gradients_and_split_the_seeds(tiny_qwen, tmp_path):
    # --multi_gpu picks accelerate's torchrun launcher; the script's Accelerator(cpu=True) makes it DDP over gloo
    # on CPU (accelerate's --cpu with several processes needs MPI).
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(free_port()), str(HERE / "ddp_check.py"), str(tiny_qwen), str(tmp_path)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp_path),  # torchrun's folder
           "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parents[1]), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["world"] == 2
    first, second = result["parameters_agree"]
    assert first == second  # prepare() broadcast rank 0's initialisation
    assert result["local_gradients_differ"]  # the ranks' data really differ...
    assert result["synced_gradients_agree"] and result["synced_is_mean_of_local"]  # ...and DDP averaged them
    assert result["gradient_norm"] > 0
    rank0, rank1 = result["seeds"]
    assert rank0 == [50, 52, 54, 56] and rank1 == [51, 53, 55, 57]  # seed_start + k * world + rank
    assert result["updates"] == [2, 2] and result["env_steps"] == [32, 32]
    assert result["skipped_updates"] == [1, 1]  # rank 1's NaN made both ranks skip (and nothing hung)
    assert result["trained_weights_agree"] and result["trained_weights_moved"]
    assert result["rng_resumed"] == [True, True] and len(set(result["rng_digests"])) == 2
    assert result["async_updates"] == [3, 3] and result["async_weights_agree"]  # rollout.mode async, staleness 1
