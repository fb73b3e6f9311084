"""vlgym envs driven by TRL's own GRPOTrainer through ``environment_factory`` (CPU, a tiny offline model)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import trl
from datasets import Dataset
from remote.remote_kit import running_server
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
from trl import GRPOConfig, GRPOTrainer

from vlgym.adapters.trl import TRLEnvironment, trl_environment_factory

#: The answer the scripted model gives: one call of the env's tool, in Qwen2.5's tool-call format.
TOOL_CALL = '<tool_call>\n{"name": "take_action", "arguments": {"action": "jump"}}\n</tool_call><|im_end|>'


class Recorded(TRLEnvironment):
    """The adapter, under a name of its own: TRL logs the env's reward as ``rewards/<class name>``."""

    made: list[Recorded] = []  # noqa: RUF012

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Recorded.made.append(self)


def tiny_causal_lm(tiny_qwen):
    """A tiny Qwen2 causal LM (random weights) with the tiny VLM's tokenizer and TRL's Qwen2.5 chat template."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen)
    tokenizer.chat_template = (Path(trl.__file__).parent / "chat_templates" / "qwen2_5.jinja").read_text()
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return Qwen2ForCausalLM(config), tokenizer


@pytest.mark.parametrize("remote", [False, True])
def test_grpo_trainer_plays_vlgym_envs_through_environment_factory(tiny_qwen, tmp_path, monkeypatch, remote):
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    model, tokenizer = tiny_causal_lm(tiny_qwen)
    call = tokenizer(TOOL_CALL, add_special_tokens=False)["input_ids"]

    def scripted_generate(input_ids=None, **kwargs):  # the model always calls the tool once
        return torch.cat([input_ids, torch.tensor([call] * input_ids.shape[0])], dim=1)

    model.generate = scripted_generate
    Recorded.made = []
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": "Play."}], "seed": 10 + i} for i in range(4)])
    args = GRPOConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, num_generations=2,
                      max_completion_length=256, max_tool_calling_iterations=1, use_cpu=True, report_to=[],
                      logging_steps=1, save_strategy="no")
    with running_server() as server:
        kwargs = {"remote": server.url} if remote else {}
        factory = lambda: Recorded("vlgym/GymCards-NumberLine-v0", images=False, state_in_text=True,  # noqa: E731
                                   invalid_action_penalty=0.25, **kwargs)
        trainer = GRPOTrainer(model=model, processing_class=tokenizer, args=args, train_dataset=dataset,
                              environment_factory=factory)
        trainer.train()
        if remote:
            assert len(server.sessions.open) == len(Recorded.made)
    logs = trainer.state.log_history[0]
    assert logs["tools/call_frequency"] == 1.0 and logs["tools/failure_frequency"] == 0.0
    # every rollout reset its env with its row's seed and stepped it once with the invalid "jump": reward -0.25
    assert logs["rewards/Recorded/mean"] == -0.25
    rewards = [env.get_reward() for env in Recorded.made]  # the two rollouts' envs, and unused pool envs at 0
    assert rewards.count(-0.25) == 2 and set(rewards) <= {-0.25, 0.0}


def test_adapter_speaks_trls_tool_schema():
    from transformers.utils import get_json_schema

    env = trl_environment_factory("vlgym/GymCards-Points24-v0")()
    schema = get_json_schema(env.take_action)["function"]
    assert schema["name"] == "take_action" and schema["parameters"]["required"] == ["action"]
    first = env.reset(seed=3)
    assert first[0]["type"] == "image" and first[1]["text"].startswith("Task:")
    after = env.take_action(env._env.unwrapped.expert_action())
    assert after[0]["image"].size == first[0]["image"].size and env.get_reward() >= 0.0
