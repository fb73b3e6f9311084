"""Does the state VL-DAC's critic reads keep the value through RL? A warm start against an RL checkpoint.

For every NumberLine state (target, current) with ``max_position`` 5, both models read the quickstart's prompt;
for each model it prints how much the last prompt token's final hidden states differ between states, how well
the warm start's fixed readout (``sft.StateReadout``'s direction) and the model's value head follow the
expert's value γ^(|target − current| − 1), and the leave-one-out R² of a ridge probe from the standardised
states to that value. The warm start's own value head is untrained (RL builds it), so only its readout counts.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/state_drift.py \\
        outputs/quickstart_seeds/seed_1/warm_start/model outputs/quickstart_seeds/seed_1/rl/checkpoints/update-000032
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from vlgym_agents.config import load_config
from vlgym_agents.policy.vlm import VLMPolicy
from vlgym_agents.rollout.evaluate import make_env
from vlgym_agents.runtime import quiet_libraries
from vlgym_agents.sft import StateReadout


def every_state(config) -> dict[tuple[int, int], tuple]:
    """One (observation, info) per (target, current), from seeded episodes with expert and blind moves."""
    env, states = make_env(config.env), {}
    for seed in range(400):
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            game = env.unwrapped
            states.setdefault((game.target, game.current), (obs, info))
            move = game.expert_action() if seed % 2 else ("+" if seed % 3 else "-")
            obs, _, terminated, truncated, info = env.step(move)
            done = terminated or truncated
    env.close()
    return dict(sorted(states.items()))


def loo_ridge_r2(features: np.ndarray, target: np.ndarray, alpha: float = 10.0) -> float:
    x = (features - features.mean(0)) / (features.std(0) + 1e-8)
    predictions = []
    for i in range(len(target)):
        keep = np.arange(len(target)) != i
        mean = target[keep].mean()
        w = np.linalg.solve(x[keep].T @ x[keep] + alpha * np.eye(x.shape[1]), x[keep].T @ (target[keep] - mean))
        predictions.append(x[i] @ w + mean)
    residual = np.array(predictions) - target
    return float(1 - (residual ** 2).sum() / ((target - target.mean()) ** 2).sum())


@torch.no_grad()
def describe(name: str, policy: VLMPolicy, states: dict, value: np.ndarray) -> None:
    out = policy.model(**policy.encode([policy.prompt(*s) for s in states.values()]), logits_to_keep=1,
                       output_hidden_states=True, use_cache=False)
    hidden = out.hidden_states[-1][:, -1].float()
    direction = StateReadout(hidden.shape[1], [0.0]).direction
    h, head = hidden.numpy(), policy.value_head(hidden).numpy()
    print(f"{name}: spread {(h.std(0) / np.abs(h).mean(0)).mean():.3f}, "
          f"readout corr {np.corrcoef(h @ direction.numpy(), value)[0, 1]:.2f}, "
          f"value head corr {np.corrcoef(head, value)[0, 1]:.2f}, ridge LOO R² {loo_ridge_r2(h, value):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warm_start", help="the warm start's model folder")
    parser.add_argument("checkpoint", help="an RL checkpoint folder of the quickstart")
    args = parser.parse_args()
    quiet_libraries()
    config = load_config("quickstart", [f"model.path={args.warm_start}"])
    states = every_state(config)
    value = np.array([config.algo.gamma ** (abs(t - c) - 1) for t, c in states])
    print(f"{len(states)} states")
    describe("warm start", VLMPolicy(config.model.model_copy(update={"lora": None})), states, value)
    trained = load_config(f"{args.checkpoint}/config.yaml")
    describe("after RL", VLMPolicy.load(trained.model, args.checkpoint), states, value)


if __name__ == "__main__":
    main()
