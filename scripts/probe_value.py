"""Does the state VL-DAC's critic reads carry the value? Linear and MLP probes on a warm-started tiny model.

Builds the quickstart's tiny model and warm start (or loads one with ``--model``), plays sampled episodes of
NumberLine with it, and fits probes from final hidden states to each step's observed discounted return and to
the game state (target − current), training on the first half of the episodes and scoring R² on the other half.
States compared:

- ``last prompt token`` (what the value head reads, detached, in VL-DAC);
- ``state text end`` (the token that closes "Current: c." in the prompt);
- ``action decision`` (the answer token right before the action, teacher-forced with the sampled answer);
- ``last prompt token, gradient to backbone``: the whole model fine-tuned on the training returns through the
  value head (RL4VLM's choice), scored on held-out episodes.

It also fits the quickstart's own value head (an MLP with 64 hidden units, Adam at 3e-3, minibatches of 16, 250
or 1,000 steps, as in RL) on the last prompt token, with and without ``value_head_norm``, to the expert's true values
γ^(|target − current| − 1) and to the observed returns: whether the head can read the value from the state.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/probe_value.py --output outputs/probe_value
    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/probe_value.py --output outputs/probe_aux sft.value_aux=1.0
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch

from vlgym_agents.config import Sampling, load_config
from vlgym_agents.policy.tiny import build_tiny_vlm
from vlgym_agents.policy.vlm import ValueHead, VLMPolicy
from vlgym_agents.rollout.evaluate import make_env
from vlgym_agents.runtime import quiet_libraries, setup_torch
from vlgym_agents.sft import warm_start

SEED_START = 700_000  # probe episodes: apart from demonstrations, checks, training and held-out seeds


@torch.no_grad()
def collect(policy: VLMPolicy, config, episodes: int, batch: int = 32) -> list[dict]:
    """Sampled episodes; one row per step: prompt, answer tokens, reward, target − current, episode index."""
    rows: list[dict] = []
    torch.manual_seed(0)
    for first in range(0, episodes, batch):
        envs = [make_env(config.env) for _ in range(min(batch, episodes - first))]
        state = [(i, *env.reset(seed=SEED_START + first + i)) for i, env in enumerate(envs)]
        stream: dict[int, list[dict]] = {i: [] for i in range(len(envs))}
        while state:
            prompts = [policy.prompt(obs, info) for _, obs, info in state]
            out = policy.generate(policy.encode(prompts), config.sampling)
            following = []
            for (i, _, _), prompt, text, tokens, mask in zip(state, prompts, out.texts, out.tokens, out.mask,
                                                             strict=True):
                game = envs[i].unwrapped
                gap = game.target - game.current
                obs, reward, terminated, truncated, info = envs[i].step(text)
                stream[i].append(dict(prompt=prompt, tokens=tokens[mask], reward=float(reward), gap=gap,
                                      episode=first + i))
                if not (terminated or truncated):
                    following.append((i, obs, info))
            state = following
        for steps in stream.values():
            ret = 0.0
            for step in reversed(steps):
                step["ret"] = ret = step["reward"] + config.algo.gamma * ret
            rows += steps
        for env in envs:
            env.close()
    return rows


@torch.no_grad()
def features(policy: VLMPolicy, rows: list[dict]) -> dict[str, np.ndarray]:
    """Final hidden states at the compared positions, one row per step."""
    tokenizer = policy.processor.tokenizer
    action_ids = {tokenizer.convert_tokens_to_ids(t) for t in ("+", "-")}
    out: dict[str, list[np.ndarray]] = {"last prompt token": [], "state text end": [], "action decision": []}
    for row in rows:
        batch = policy.encode([row["prompt"]])
        tokens = row["tokens"].unsqueeze(0)
        inputs = dict(batch)
        length = inputs["input_ids"].shape[1]
        inputs["input_ids"] = torch.cat([inputs["input_ids"], tokens], 1)
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        if "mm_token_type_ids" in inputs:
            inputs["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"], torch.zeros_like(tokens)], 1)
        hidden = policy.model(**inputs, output_hidden_states=True, logits_to_keep=1).hidden_states[-1][0]
        text = row["prompt"].text
        suffix = text[text.rindex("Current: ") + len("Current: ") + 2:]
        state_end = length - 1 - len(tokenizer(suffix, add_special_tokens=False)["input_ids"])
        answer = row["tokens"].tolist()
        action = next((k for k, t in enumerate(answer) if t in action_ids), len(answer) - 1)
        out["last prompt token"].append(hidden[length - 1].numpy())
        out["state text end"].append(hidden[state_end].numpy())
        out["action decision"].append(hidden[length - 1 + action].numpy())
    return {k: np.stack(v) for k, v in out.items()}


def r2(prediction: np.ndarray, target: np.ndarray) -> float:
    return 1.0 - float(np.mean((target - prediction) ** 2) / max(np.var(target), 1e-12))


def ridge(x: np.ndarray, y: np.ndarray, train: np.ndarray, alpha: float = 1.0) -> tuple[float, float]:
    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    z = (x - mean) / std
    a = np.c_[z, np.ones(len(z))]
    w = np.linalg.solve(a[train].T @ a[train] + alpha * np.eye(a.shape[1]), a[train].T @ y[train])
    return r2(a[train] @ w, y[train]), r2(a[~train] @ w, y[~train])


def mlp(x: np.ndarray, y: np.ndarray, train: np.ndarray, steps: int = 1500) -> tuple[float, float]:
    torch.manual_seed(0)
    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    z = torch.tensor((x - mean) / std, dtype=torch.float32)
    t = torch.tensor(y, dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(z.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-3)
    mask = torch.tensor(train)
    for _ in range(steps):
        loss = (net(z[mask]).squeeze(-1) - t[mask]).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        p = net(z).squeeze(-1).numpy()
    return r2(p[train], y[train]), r2(p[~train], y[~train])


def head_fit(x: np.ndarray, y: np.ndarray, train: np.ndarray, *, norm: bool, steps: int = 250) -> tuple[float, float]:
    """The quickstart's own value head (unstandardised input unless ``norm``), Adam at 3e-3 on minibatches of 16
    as in RL, fitted to ``y`` on the training steps."""
    torch.manual_seed(0)
    head = ValueHead(x.shape[1], [64], norm=norm)
    optimizer = torch.optim.Adam(head.parameters(), lr=3e-3)
    features, target = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        subset = torch.as_tensor(rng.choice(np.flatnonzero(train), 16))
        loss = 0.5 * (head(features[subset]) - target[subset]).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    head.eval()
    with torch.no_grad():
        p = head(features).numpy()
    return r2(p[train], y[train]), r2(p[~train], y[~train])


def backbone_probe(policy: VLMPolicy, rows: list[dict], train: np.ndarray, steps: int = 150) -> tuple[float, float]:
    """The value head with its gradient reaching the whole model (RL4VLM), fitted on training returns."""
    model = copy.deepcopy(policy)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    index = np.flatnonzero(train)
    empty = torch.zeros((1, 0), dtype=torch.long)

    def values(subset):
        batch = model.encode([rows[k]["prompt"] for k in subset])
        return model(batch, empty.expand(len(subset), 0), empty.expand(len(subset), 0).bool(), Sampling(),
                     value_gradient_to_backbone=True)[1]

    for _ in range(steps):
        subset = rng.choice(index, 32)
        target = torch.tensor([rows[k]["ret"] for k in subset], dtype=torch.float32)
        loss = (values(subset) - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        p = np.concatenate([values(list(range(k, min(k + 64, len(rows))))).numpy() for k in range(0, len(rows), 64)])
    y = np.array([r["ret"] for r in rows])
    return r2(p[train], y[train]), r2(p[~train], y[~train])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("outputs/probe_value"))
    parser.add_argument("--model", type=Path, help="a warm-started model folder (default: build and warm-start)")
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("overrides", nargs="*", help="quickstart config overrides (key=value)")
    args = parser.parse_args()
    overrides = [f"run.seed={args.seed}", *args.overrides]
    config = load_config("quickstart", [*overrides, "model.path=unused", "model.lora=null"])
    quiet_libraries()
    setup_torch(config.run)
    model_dir = args.model
    if model_dir is None:
        tiny = build_tiny_vlm(args.output / "tiny_model", "qwen2_5_vl", seed=args.seed)
        model_dir, _ = warm_start(config.model_copy(update={"model": config.model.model_copy(
            update={"path": str(tiny)})}), args.output / "warm_start")
    policy = VLMPolicy(config.model.model_copy(update={"path": str(model_dir)}))
    policy.eval()
    rows = collect(policy, config, args.episodes)
    train = np.array([r["episode"] < args.episodes // 2 for r in rows])
    targets = {"return": np.array([r["ret"] for r in rows]), "target - current": np.array([r["gap"] for r in rows],
                                                                                            dtype=float)}
    result: dict = {"steps": len(rows), "train_steps": int(train.sum()),
                    "return_variance": float(np.var(targets["return"])), "probes": {}}
    features_by_position = features(policy, rows)
    for position, x in features_by_position.items():
        # how much the state varies between steps, relative to its size: a head must read that difference
        result.setdefault("spread", {})[position] = float(x.std(0).mean() / np.abs(x).mean())
        for target, y in targets.items():
            for name, probe in (("ridge", ridge), ("mlp", mlp)):
                fit, held = probe(x, y, train)
                result["probes"][f"{position} -> {target} ({name})"] = {"train_r2": fit, "held_out_r2": held}
    last = features_by_position["last prompt token"]
    targets["true value"] = config.algo.gamma ** (np.abs(targets["target - current"]) - 1)  # the expert's V
    for target in ("true value", "return"):
        for norm in (False, True):
            for steps in (250, 1000):
                fit, held = head_fit(last, targets[target], train, norm=norm, steps=steps)
                name = f"value head{' (standardised input)' if norm else ''}, {steps} steps -> {target}"
                result["probes"][name] = {"train_r2": fit, "held_out_r2": held}
    fit, held = backbone_probe(policy, rows, train)
    result["probes"]["last prompt token, gradient to backbone -> return"] = {"train_r2": fit, "held_out_r2": held}
    print(f"{len(rows)} steps ({int(train.sum())} train), return variance {result['return_variance']:.3f}")
    for position, spread in result["spread"].items():
        print(f"{position}: between-step std / mean |state| = {spread:.4f}")
    print(f"{'probe (features standardised)':72s} {'train R2':>9s} {'held-out R2':>11s}")
    for name, scores in result["probes"].items():
        print(f"{name:72s} {scores['train_r2']:9.3f} {scores['held_out_r2']:11.3f}")
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "probe.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
