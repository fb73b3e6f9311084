"""Evaluate an agent on an env over a fixed episode manifest (or a seed range): success rate and mean score
with 95% intervals, parse-failure rate and episode lengths, as JSON and as a Markdown table.

An agent is anything with ``act(obs, info) -> str``, optionally ``reset(seed)`` (called before each episode)
and ``describe() -> dict`` (recorded in the results: decoding parameters, checkpoint path and hash, ...), or a
plain callable ``(obs, info) -> str``. An agent that builds a prompt may set ``last_prompt`` (the full prompt
text) and ``last_answer`` (its raw answer) in ``act``: recordings (``record_to=``) store them with each step.
Agents by name (``--agent`` on the command line):

* ``"expert"``: the env's ``expert_action()``;
* ``"random"``: uniform over ``info["available_actions"]``, seeded per episode;
* ``"NAME:ARG"`` (or ``"NAME"``): the factory registered under ``NAME`` in the entry-point group
  ``vlgym.agents``, called as ``factory(ARG, env_id, env_kwargs) -> agent``. ``vlgym_agents`` registers
  ``checkpoint`` this way (``checkpoint:PATH``), so vlgym itself never imports it.

Results are deterministic: the same manifest, agent and vlgym version give byte-identical JSON (the bootstrap is
seeded; no timestamps or timings are stored).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

import vlgym
from vlgym.errors import AgentUnavailableError
from vlgym.manifest import Episode, Manifest

AGENT_ENTRY_POINTS = "vlgym.agents"
BOOTSTRAP_RESAMPLES = 2000


class Agent(Protocol):
    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> str: ...


class ExpertAgent:
    """Plays ``env.unwrapped.expert_action()``."""

    name = "expert"

    def __init__(self, env: gym.Env):
        self.env = env

    def act(self, obs, info):
        return self.env.unwrapped.expert_action()

    def describe(self) -> dict[str, Any]:
        return {"kind": "expert"}


class RandomAgent:
    """Uniform over the available actions; episode ``seed`` fixes its choices."""

    name = "random"

    def __init__(self, env: gym.Env | None = None):
        self.rng = random.Random(0)

    def reset(self, seed: int | None) -> None:
        self.rng = random.Random(f"random-agent-{seed}")

    def act(self, obs, info):
        actions = info.get("available_actions") or [""]
        return self.rng.choice(actions)

    def describe(self) -> dict[str, Any]:
        return {"kind": "random", "choice": "uniform over available_actions, seeded by the episode seed"}


class CallableAgent:
    """Adapts ``f(obs, info) -> str``."""

    def __init__(self, function: Callable[[dict, dict], str], name: str | None = None):
        self.function, self.name = function, name or getattr(function, "__name__", "callable")

    def act(self, obs, info):
        return self.function(obs, info)

    def describe(self) -> dict[str, Any]:
        return {"kind": "callable", "callable": getattr(self.function, "__qualname__", self.name)}


BUILTIN_AGENTS: dict[str, Callable[[gym.Env], Any]] = {"expert": ExpertAgent, "random": RandomAgent}


def agent_plugins() -> dict[str, metadata.EntryPoint]:
    """Agent factories installed under the ``vlgym.agents`` entry-point group, by name."""
    return {ep.name: ep for ep in metadata.entry_points(group=AGENT_ENTRY_POINTS)}


def _as_agent(agent: Any, name: str | None = None):
    if hasattr(agent, "act"):
        return agent
    if callable(agent):
        return CallableAgent(agent, name)
    raise TypeError(f"an agent is a name, an object with act(obs, info), or a callable; got {type(agent)}")


def resolve_agent_spec(spec: str) -> tuple[str, str, metadata.EntryPoint | None]:
    """``(NAME, ARG, plugin entry point or None for a built-in)`` for ``"NAME"`` or ``"NAME:ARG"``, without
    importing the plugin; a ValueError names the known agents."""
    name, _, arg = spec.partition(":")
    if name in BUILTIN_AGENTS:
        if arg:
            raise ValueError(f"agent {name!r} takes no argument, got {spec!r}")
        return name, arg, None
    plugins = agent_plugins()
    if name not in plugins:
        hint = " (it comes with vlgym_agents: pip install 'vlgym[agents]')" if name == "checkpoint" else ""
        raise ValueError(f"unknown agent {spec!r}{hint}; built-in agents: {sorted(BUILTIN_AGENTS)}; "
                         f"installed {AGENT_ENTRY_POINTS} plugins: {sorted(plugins) or 'none'}")
    return name, arg, plugins[name]


def make_agent(agent: str | Agent | Callable, env: gym.Env, env_id: str | None = None,
               env_kwargs: dict[str, Any] | None = None):
    """An agent from a spec (``"expert"``, ``"random"``, ``"NAME:ARG"`` of a plugin), an object or a callable."""
    if not isinstance(agent, str):
        return _as_agent(agent)
    name, arg, plugin = resolve_agent_spec(agent)
    if plugin is None:
        return BUILTIN_AGENTS[name](env)
    factory = plugin.load()
    env_id = env_id if env_id is not None else env.spec.id
    return _as_agent(factory(arg, env_id, dict(env_kwargs or {})), agent)


def describe_agent(agent: Any) -> dict[str, Any]:
    """What the agent says about itself (``describe()``), or an empty dict."""
    describe = getattr(agent, "describe", None)
    return dict(describe()) if callable(describe) else {}


@dataclass
class EpisodeResult:
    """One played episode: the task metric of its last step, and counts over its steps.

    The one episode record of vlgym and vlgym_agents: built empty, then :meth:`add_step` per step and
    :meth:`finish` at the end, by whichever loop plays the episode.
    """

    seed: int
    success: bool = False
    score: float = 0.0
    episode_return: float = 0.0
    length: int = 0
    invalid_actions: int = 0
    parse_failures: int = 0
    options: dict[str, Any] | None = None

    def add_step(self, reward: float, info: dict[str, Any]) -> None:
        """Count one step: its reward, and whether the env rejected the answer or could not read it at all."""
        self.episode_return += float(reward)
        self.length += 1
        self.invalid_actions += not info["action_valid"]
        self.parse_failures += bool(info["parse_failure"])

    def finish(self, info: dict[str, Any]) -> None:
        """Take the task metric (``success``, ``score``) from the last step's info."""
        self.success, self.score = bool(info["success"]), float(info["score"])


def summarize(episodes: Sequence[EpisodeResult]) -> dict[str, Any]:
    """Success rate (95% Wilson interval), mean score (95% bootstrap interval), return, lengths, and the
    invalid-action and parse-failure rates per step.

    >>> summarize([EpisodeResult(0, success=True, length=2), EpisodeResult(1, length=3)])["success_rate"]
    0.5
    """
    lengths = [e.length for e in episodes]
    steps = sum(lengths)
    success = float(np.mean([e.success for e in episodes])) if episodes else float("nan")
    return {
        "episodes": len(episodes),
        "success_rate": success,
        "success_ci95": list(wilson_interval(sum(e.success for e in episodes), len(episodes))),
        "mean_score": float(np.mean([e.score for e in episodes])) if episodes else float("nan"),
        "score_ci95": list(bootstrap_interval([e.score for e in episodes])),
        "ci_method": {"success": "wilson", "score": f"percentile bootstrap ({BOOTSTRAP_RESAMPLES}, seed 0)"},
        "mean_return": float(np.mean([e.episode_return for e in episodes])) if episodes else None,
        "mean_length": steps / len(lengths) if lengths else None,
        "median_length": float(np.median(lengths)) if lengths else None,
        "min_length": min(lengths, default=None),
        "max_length": max(lengths, default=None),
        "invalid_action_rate": sum(e.invalid_actions for e in episodes) / steps if steps else 0.0,
        "parse_failure_rate": sum(e.parse_failures for e in episodes) / steps if steps else 0.0,
    }


@dataclass
class EvalResult:
    env_id: str
    agent: str
    episodes: list[EpisodeResult]
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    agent_info: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None
    """``{"split", "sha256", "episodes_in_split"}`` when the episodes came from a manifest."""
    stopped: str | None = None
    """Why the run stopped before its last episode (:class:`~vlgym.errors.AgentUnavailableError`), or None."""

    @property
    def success_rate(self) -> float:
        return float(np.mean([e.success for e in self.episodes])) if self.episodes else float("nan")

    @property
    def success_ci(self) -> tuple[float, float]:
        return wilson_interval(sum(e.success for e in self.episodes), len(self.episodes))

    @property
    def mean_score(self) -> float:
        return float(np.mean([e.score for e in self.episodes])) if self.episodes else float("nan")

    @property
    def score_ci(self) -> tuple[float, float]:
        return bootstrap_interval([e.score for e in self.episodes])

    def summary(self) -> dict[str, Any]:
        return {"env_id": self.env_id, "agent": self.agent, "agent_info": self.agent_info,
                "manifest": self.manifest, **summarize(self.episodes)}

    def to_dict(self) -> dict[str, Any]:
        stopped = {"stopped": self.stopped} if self.stopped else {}
        return {**self.summary(), **stopped, "env_kwargs": self.env_kwargs, "vlgym_version": vlgym.__version__,
                "per_episode": [asdict(e) for e in self.episodes]}


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0 and 1, where a bootstrap of the
    mean collapses to a point)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def difference_interval(successes_a: int, n_a: int, successes_b: int, n_b: int,
                        z: float = 1.96) -> tuple[float, float]:
    """Newcombe's hybrid score interval for the difference of two proportions, ``b − a``, from their Wilson
    intervals (independent samples; for the same seeds played twice it is conservative).

    >>> [round(x, 3) for x in difference_interval(50, 100, 70, 100)]
    [0.064, 0.326]
    """
    if n_a == 0 or n_b == 0:
        return (float("nan"), float("nan"))
    p_a, p_b = successes_a / n_a, successes_b / n_b
    (low_a, high_a), (low_b, high_b) = wilson_interval(successes_a, n_a, z), wilson_interval(successes_b, n_b, z)
    below = math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2)
    above = math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2)
    return (p_b - p_a - below, p_b - p_a + above)


def bootstrap_interval(values: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (seeded, so reruns give the same numbers)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return (float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)))


def run_episode(env: gym.Env, agent, seed: int, *, options: dict[str, Any] | None = None,
                on_step: Callable | None = None) -> EpisodeResult:
    """Play one episode from ``reset(seed=seed, options=options)`` to its end."""
    agent = _as_agent(agent)
    if hasattr(agent, "reset"):
        agent.reset(seed)
    obs, info = env.reset(seed=seed, options=options)
    result = EpisodeResult(seed, options=options)
    done = False
    while not done:
        action = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        if on_step is not None:
            on_step(obs, reward, terminated, truncated, info)
        result.add_step(reward, info)
        done = terminated or truncated
    result.finish(info)
    return result


def episode_plan(env: str | Manifest, *, split: str = "eval", episodes: int | None = None, seed: int = 0,
                 seeds: Sequence[int] | None = None, env_kwargs: dict[str, Any] | None = None):
    """``(env_id, env_kwargs, episodes, manifest record)`` for :func:`evaluate`'s arguments."""
    if episodes is not None and episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if isinstance(env, Manifest):
        if seeds is not None:
            raise ValueError("pass either a manifest or seeds, not both")
        planned = list(env.split(split))
        record = {"split": split, "sha256": env.sha256, "episodes_in_split": len(planned)}
        return env.env_id, {**env.env_kwargs, **(env_kwargs or {})}, planned[:episodes], record
    seeds = list(seeds) if seeds is not None else list(range(seed, seed + (episodes or 100)))
    if not seeds:
        raise ValueError("no episodes to evaluate")
    return env, dict(env_kwargs or {}), [Episode(s) for s in seeds], None


def evaluate(env: str | Manifest, agent: str | Agent | Callable, *, split: str = "eval",
             episodes: int | None = None, seed: int = 0, seeds: Sequence[int] | None = None,
             env_kwargs: dict[str, Any] | None = None, progress: Callable[[int], None] | None = None,
             record_to: str | Path | None = None, record_episodes: int | None = None) -> EvalResult:
    """Run ``agent`` over a manifest's ``split`` (its first ``episodes`` if given), or on an env id over
    ``seeds`` (default ``seed .. seed + episodes - 1``, 100 episodes).

    With a manifest, ``env_kwargs`` override the manifest's own (the result records the ones used).
    ``record_to``: record the episodes (the first ``record_episodes``, default all) as a run in that folder
    (docs/recording.md).

    >>> result = evaluate("vlgym/GymCards-NumberLine-v0", "expert", episodes=5)
    >>> result.summary()["success_rate"], result.summary()["parse_failure_rate"]
    (1.0, 0.0)
    """
    env_id, kwargs, planned, record = episode_plan(env, split=split, episodes=episodes, seed=seed, seeds=seeds,
                                                   env_kwargs=env_kwargs)
    game = played = gym.make(env_id, **kwargs)
    try:
        player = make_agent(agent, game, env_id, kwargs)
        name = agent if isinstance(agent, str) else getattr(player, "name", type(player).__name__)
        if record_to is not None:
            played = record_run(game, record_to, player, name, env_id, kwargs, record, record_episodes)
        results = []
        for episode in planned:
            try:
                results.append(run_episode(played, player, episode.seed, options=episode.options))
            except AgentUnavailableError as error:  # keep what was played: the caller writes it
                error.partial = EvalResult(env_id, name, results, kwargs, describe_agent(player), record, str(error))
                raise
            if progress is not None:
                progress(1)
    finally:
        played.close()
    return EvalResult(env_id, name, results, kwargs, describe_agent(player), record)


def record_run(env: gym.Env, folder: str | Path, agent: Any, name: str, env_id: str, env_kwargs: dict[str, Any],
               manifest: dict[str, Any] | None, episodes: int | None) -> gym.Env:
    """``env`` wrapped to record its first ``episodes`` (all if None) into ``folder``, with the run's record."""
    from vlgym.record import agent_notes, write_run
    from vlgym.wrappers import RecordEpisode

    write_run(folder, kind="eval", env_id=env_id, env_kwargs=env_kwargs, agent=name, agent_info=describe_agent(agent),
              manifest=manifest, vlgym_version=vlgym.__version__)
    return RecordEpisode(env, folder, gif=False, max_episodes=episodes, notes=agent_notes(agent), env_id=env_id,
                         env_kwargs=env_kwargs)


def _interval(value: float, ci: Sequence[float]) -> str:
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def markdown_table(results: Sequence[EvalResult]) -> str:
    """A Markdown table of the results: one row per (env, agent)."""
    lines = ["| env | agent | episodes | success [95% CI] | score [95% CI] | parse failures | invalid actions "
             "| mean length |", "|---|---|---|---|---|---:|---:|---:|"]
    for result in results:
        s = result.summary()
        first, last = (result.episodes[0].seed, result.episodes[-1].seed) if result.episodes else (None, None)
        where = (f"{s['episodes']} ({s['manifest']['split']}, manifest {s['manifest']['sha256'][:12]})"
                 if s["manifest"] else f"{s['episodes']} (seeds {first}..{last})")
        lines.append(f"| {result.env_id.removeprefix('vlgym/')} | {result.agent} | {where} "
                     f"| {_interval(s['success_rate'], s['success_ci95'])} "
                     f"| {_interval(s['mean_score'], s['score_ci95'])} "
                     f"| {s['parse_failure_rate']:.3f} | {s['invalid_action_rate']:.3f} | {s['mean_length']:.1f} |")
    return "\n".join(lines) + "\n"
