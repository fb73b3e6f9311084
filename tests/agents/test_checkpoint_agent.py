"""A trainer checkpoint loads through the one policy loader (``VLMPolicy.load``) as the trainer and ``vlgym eval``
use it, and plays through vlgym.eval's episode loop."""

import torch

from vlgym.eval import evaluate
from vlgym_agents.policy.agent import load_checkpoint_agent
from vlgym_agents.train import Trainer


def test_a_checkpoint_plays_as_a_vlgym_eval_agent_with_the_trained_weights(tiny_config):
    config = tiny_config("run.total_env_steps=8")
    trainer = Trainer(config)
    trainer.train()
    agent = load_checkpoint_agent(str(config.run.output_dir), config.env.id, dict(config.env.kwargs))
    trained = {k: v for k, v in trainer.unwrapped.state_dict().items() if "lora" in k or "value_head" in k}
    loaded = agent.policy.state_dict()
    assert trained and all(torch.equal(loaded[k], v) for k, v in trained.items())
    result = evaluate(config.env.id, agent, seeds=[7, 8], env_kwargs=dict(config.env.kwargs))
    assert [e.seed for e in result.episodes] == [7, 8] and all(e.length >= 1 for e in result.episodes)
    assert result.summary()["agent_info"]["checkpoint"].endswith("update-000001")
