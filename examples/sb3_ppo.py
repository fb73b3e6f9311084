"""Train Stable-Baselines3's PPO (CNN policy) on a vlgym env through ``DiscreteActions``, then evaluate it.

A reference for reusing vlgym environments with classic RL: the env takes text actions and returns
``{"image", "text"}``; ``vlgym.wrappers.DiscreteActions`` turns that into ``Discrete(n)`` actions and image
observations, which any Gymnasium-compatible library trains on. The trained policy is then evaluated like any
other agent, by ``vlgym.eval.evaluate`` on the env's held-out manifest (seeds from 1,000,000; training uses
seeds from ``--seed``), and compared with the random agent on the same episodes.

    python examples/sb3_ppo.py --env vlgym/GymCards-NumberLine-v0 --timesteps 20000
    python examples/sb3_ppo.py --env vlgym/MiniWorld-OneRoom-v0 --timesteps 200000 --save outputs/oneroom.zip

Needs ``pip install stable-baselines3`` (in vlgym's ``dev`` extra); see docs/classic_rl.md for measured results.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import vlgym  # noqa: F401  (registers the ids)
from vlgym.eval import evaluate, markdown_table
from vlgym.manifest import make_manifest
from vlgym.wrappers import DiscreteActions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="vlgym/GymCards-NumberLine-v0", help="vlgym env id")
    parser.add_argument("--timesteps", type=int, default=20_000, help="environment steps to train for")
    parser.add_argument("--seed", type=int, default=0, help="seed of PPO and of the training episodes")
    parser.add_argument("--image-size", type=int, nargs="+", default=[64],
                        help="observation size: S or H W (SB3's default CNN needs at least 36x36)")
    parser.add_argument("--n-envs", type=int, default=4, help="envs stepped together (in this process)")
    parser.add_argument("--n-steps", type=int, default=256, help="PPO rollout length per env")
    parser.add_argument("--eval-episodes", type=int, default=200, help="episodes of the held-out split to evaluate")
    parser.add_argument("--save", type=Path, help="where to save the trained model (.zip)")
    parser.add_argument("--output", type=Path, help="where to write the evaluation results (JSON)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(1)  # small CNN, small batches: more threads only contend with the env
    image_size = args.image_size[0] if len(args.image_size) == 1 else list(args.image_size)
    env_kwargs = {"image_size": image_size}

    def make_env():
        return DiscreteActions(gym.make(args.env, **env_kwargs))

    vec_env = make_vec_env(make_env, n_envs=args.n_envs, seed=args.seed)
    model = PPO("CnnPolicy", vec_env, n_steps=args.n_steps, batch_size=64, learning_rate=3e-4, ent_coef=0.01,
                seed=args.seed, verbose=0)
    started = time.perf_counter()
    model.learn(args.timesteps)
    train_seconds = time.perf_counter() - started
    vec_env.close()
    if args.save:
        model.save(args.save)

    # The trained policy as a vlgym agent: image in, the chosen action's text out.
    vocabulary = make_env().vocabulary

    def ppo_agent(obs, info):
        action, _ = model.predict(obs["image"], deterministic=True)
        return vocabulary[int(action)]

    manifest = make_manifest(args.env)  # held-out seeds from 1,000,000: what vlgym/manifests/ ships
    results = [evaluate(manifest, agent, split="eval", episodes=args.eval_episodes, env_kwargs=env_kwargs)
               for agent in (ppo_agent, "random")]
    results[0].agent = "sb3-ppo"
    print(markdown_table(results), end="")
    report = {"env_id": args.env, "timesteps": args.timesteps, "seed": args.seed, "image_size": image_size,
              "train_seconds": round(train_seconds, 1), "results": [r.to_dict() for r in results]}
    print(json.dumps({k: v for k, v in report.items() if k != "results"}))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
