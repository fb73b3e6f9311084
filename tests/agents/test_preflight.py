"""``vlgym-train`` start-up: a wrong model, processor, path or memory budget is one line with the fix, exit code 2.

The cases run ``vlgym-train`` in this process the way the console script does (``train_main``), from ``tmp_path``,
on tiny models built offline and variants of them saved there. Two run the console command in a subprocess
(``python -m vlgym_agents.cli``) as a user does: a Hub cache that is read when the process starts, and the exit code
and traceback that ``--debug`` leaves.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import tiny_run_config

from vlgym_agents.preflight import out_of_memory_message

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def train(train_main, monkeypatch, tmp_path):
    """``train(*args, offline=True)``: ``vlgym-train ARGS`` in this process, from tmp_path; a CompletedProcess."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VLGYM_DEBUG", raising=False)

    def run(*args: str, offline: bool = True) -> subprocess.CompletedProcess:
        if offline:
            monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        else:
            monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        code, out, err = train_main(*args)
        return subprocess.CompletedProcess(args, code, out, err)

    return run


def train_cli(*args: str, cwd: Path, env: dict | None = None):
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "VLGYM_DEBUG": "", "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "vlgym_agents.cli", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)


def assert_user_error(result, *fragments: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, output[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def config_file(tiny_qwen, tmp_path):
    """``config_file(**model)``: a tiny training config (YAML) whose ``model`` block is updated with ``model``."""

    def write(**model) -> Path:
        config = tiny_run_config(tiny_qwen, tmp_path / "run")
        config["model"].update(model)
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(json.loads(json.dumps(config))))
        return path

    return write


def test_a_missing_model_folder_says_so_instead_of_a_hub_traceback(train):
    result = train("rl", "quickstart", "model.path=/nonexistent")
    assert_user_error(result, "no model folder at /nonexistent (and no Hub access here)")
    online = train("rl", "quickstart", "model.path=/nonexistent", offline=False)
    assert_user_error(online, "no model folder at /nonexistent (and not a Hugging Face Hub model id either)")


def test_a_hub_id_that_is_not_cached_offline(tmp_path):  # the console command: HF_HOME is read at start-up
    result = train_cli("rl", "numberline", cwd=tmp_path, env={"HF_HOME": str(tmp_path / "hf")})
    assert_user_error(result, "no model folder at Qwen/Qwen2-VL-7B-Instruct (and no Hub access here")


def test_a_folder_that_is_not_a_model(config_file, train, tmp_path):
    (tmp_path / "empty").mkdir()
    result = train("rl", str(config_file(path=str(tmp_path / "empty"))))
    assert_user_error(result, "no config.json")


def test_a_text_only_model_has_no_image_text_class(config_file, train, tmp_path):
    from transformers import Qwen2Config

    Qwen2Config(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                num_key_value_heads=1, vocab_size=64, architectures=["Qwen2ForCausalLM"]).save_pretrained(
        tmp_path / "text_only")
    result = train("rl", str(config_file(path=str(tmp_path / "text_only"))))
    assert_user_error(result, "'qwen2' model (Qwen2ForCausalLM)", "no image-text class", "Qwen2-VL")


def test_a_processor_without_chat_template(config_file, train, tiny_qwen, tmp_path):
    model = shutil.copytree(tiny_qwen, tmp_path / "no_template")
    for name in ("chat_template.jinja", "chat_template.json"):
        (model / name).unlink(missing_ok=True)
    for name in ("processor_config.json", "tokenizer_config.json"):
        if (model / name).exists():
            settings = json.loads((model / name).read_text())
            settings.pop("chat_template", None)
            (model / name).write_text(json.dumps(settings))
    result = train("rl", str(config_file(path=str(model))))
    assert_user_error(result, "has no chat template", "chat_template.jinja")


def test_resume_without_a_checkpoint(config_file, train):
    result = train("rl", str(config_file()), "--resume")
    assert_user_error(result, "--resume: no checkpoint under", "drop --resume")


def test_a_missing_config_file(train):
    assert_user_error(train("rl", "no/such/config.yaml"), "neither a file nor a packaged config")


def test_an_unwritable_output_folder(config_file, train):
    result = train("rl", str(config_file()), "run.output_dir=/proc/vlgym-run")
    assert_user_error(result, "/proc/vlgym-run")


def test_out_of_memory_while_loading_names_the_settings_that_shrink_it(config_file, train, tmp_path):
    # A value head of 10^13 units cannot be allocated: a real allocator failure while the policy is built.
    result = train("rl", str(config_file(value_head_hidden=[10**13])))
    assert_user_error(result, "out of memory on the CPU", "algo.minibatch_size", "bfloat16", "LoRA")
    # the console command: --debug leaves the traceback and exit code 1
    debug = train_cli("rl", str(config_file(value_head_hidden=[10**13])), "--debug", cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "can't allocate memory" in debug.stderr


def test_out_of_memory_message_only_for_memory_errors():
    import torch

    with pytest.raises(RuntimeError) as caught:
        torch.empty(1 << 50, dtype=torch.uint8)
    assert "out of memory on the CPU" in out_of_memory_message(caught.value)
    assert "out of memory on the GPU" in out_of_memory_message(torch.OutOfMemoryError("CUDA out of memory."))
    assert out_of_memory_message(RuntimeError("shape mismatch")) is None


def test_sft_checks_the_model_before_loading_it(train, tmp_path):
    result = train("sft", "quickstart", "model.path=/nonexistent", "--output", str(tmp_path / "sft"))
    assert_user_error(result, "no model folder at /nonexistent (and no Hub access here)")


@pytest.mark.parametrize(("arguments", "fragment"), [
    (["tiny", "model", "--arch", "gpt2"], "'gpt2' is not one of 'qwen2_5_vl', 'idefics3'"),
    (["tiny", "/proc/tiny"], "/proc/tiny"),
])
def test_tiny_with_a_bad_architecture_or_folder(arguments, fragment, train):
    assert_user_error(train(*arguments), fragment)
