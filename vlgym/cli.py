"""The ``vlgym`` command: list, play, doctor, bench, eval, manifest, view, export, record, serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import gymnasium as gym
import numpy as np
import typer
from PIL import Image
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

import vlgym
from vlgym.cli_errors import run_cli
from vlgym.extras import usability_summary
from vlgym.plans import env_ids, eval_plans

app = typer.Typer(help="vlgym: vision-language agent environments.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
# Tables stay readable when the output is a file or a CI log (rich falls back to 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 160)

EnvOption = Annotated[list[str] | None, typer.Option("--env", "-e", help="Env id (repeatable); default: all.")]
KwargOption = Annotated[list[str] | None, typer.Option("--kwarg", "-k", help="gym.make keyword, KEY=JSON_VALUE.")]


def _kwargs(pairs: list[str] | None) -> dict:
    """``KEY=VALUE`` pairs; VALUE is read as JSON when it parses (numbers, true, lists), else as a string."""
    result = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}")
        try:
            result[key] = json.loads(value)
        except json.JSONDecodeError:
            result[key] = value
    return result


def _env_ids(envs: list[str] | None, family: str | None = None) -> list[str]:
    try:
        return env_ids(envs, family)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@app.command("list")
def list_command(family: Annotated[str | None, typer.Option(help="Only this family (e.g. cards).")] = None):
    """List every env id with a one-line description."""
    table = Table("id", "description")
    for env_id, description in vlgym.list_envs(family).items():
        table.add_row(env_id, description)
    console.print(table)
    console.print(usability_summary(), markup=False)


@app.command()
def play(
    env_id: Annotated[str, typer.Argument(help="Env id, e.g. vlgym/GymCards-NumberLine-v0.")],
    seed: Annotated[int, typer.Option(help="Episode seed.")] = 0,
    frame: Annotated[Path, typer.Option(help="Where the current image is written (PNG).")] = Path("vlgym_frame.png"),
    kwarg: KwargOption = None,
):
    """Play an env in the terminal: the image goes to a PNG, you type actions.

    Type an action (or a whole model-style answer), 'hint' for the expert's move, 'quit' to stop.
    """
    env = gym.make(_env_ids([env_id])[0], **_kwargs(kwarg))
    obs, info = env.reset(seed=seed)
    total, done = 0.0, False
    while True:
        Image.fromarray(obs["image"]).save(frame)
        console.print(f"\n[bold]Task:[/] {info['instruction']}")
        console.print(f"[bold]Image:[/] {frame.resolve()}")
        if obs["text"]:
            console.print(f"[bold]State:[/] {obs['text']}")
        if info["feedback"]:
            console.print(f"[bold]Feedback:[/] {info['feedback']}")
        if done:
            console.print(f"Episode over: return {total:g}, success {info['success']}, score {info['score']:g}")
            break
        actions = info["available_actions"]
        if env.unwrapped.action_index:  # this env's prompts number the actions; the numbers work here too
            actions = [f"{i}: {a}" for i, a in enumerate(actions)]
        console.print(f"[bold]Actions:[/] {escape(', '.join(actions))}")
        line = sys.stdin.readline()
        if not line or line.strip().lower() in ("quit", "exit"):
            break
        if line.strip().lower() == "hint":
            console.print(f"Expert suggests: {env.unwrapped.expert_action()!r}")
            continue
        obs, reward, terminated, truncated, info = env.step(line.rstrip("\n"))
        total += reward
        done = terminated or truncated
        console.print(f"reward {reward:g}" + ("" if info["action_valid"] else f" (invalid: {info['parse_reason']})"))
    env.close()


@app.command()
def doctor(out_dir: Annotated[Path, typer.Option(help="Where one frame per family is written.")] = Path("doctor")):
    """Check which simulator families and rendering backends work on this machine."""
    from vlgym.doctor import run_checks

    table = Table("family", "status", "detail", "frame")
    checks = run_checks(out_dir)
    for check in checks:
        status = "[green]ok[/]" if check.ok else "[red]missing[/]"
        table.add_row(check.family, status, escape(check.detail), escape(check.frame or ""))
    console.print(table)


@app.command()
def bench(
    env: EnvOption = None,
    seconds: Annotated[float, typer.Option(min=0.1, help="Seconds of stepping per env.")] = 3.0,
    family: Annotated[str | None, typer.Option(help="All ids of this family.")] = None,
    raw: Annotated[bool, typer.Option(help="Also step the raw simulator behind each id (where there is one).")] = False,
    workers: Annotated[int, typer.Option(min=0, help="Also measure N envs in an AsyncVectorEnv (0: skip).")] = 0,
    kwarg: KwargOption = None,
    output: Annotated[Path | None, typer.Option(help="Write the results as JSON.")] = None,
):
    """Steps per second (random valid actions, resets included) and reset time per env."""
    from vlgym.bench import RAW_STEPPERS, bench_against_raw, bench_env, bench_vector
    from vlgym.core.registration import env_family

    table = Table("id", "image", "measured", "steps/s", "reset (ms)", "adapter overhead (median)")
    results = []
    for env_id in _env_ids(env, family):
        kwargs = _kwargs(kwarg)
        if raw and env_family(env_id) in RAW_STEPPERS:
            ours, base = bench_against_raw(env_id, seconds=seconds, env_kwargs=kwargs)
            rows = [(ours, f"{ours.overhead_pct:+.1f}%"), (base, "")]
        else:
            rows = [(bench_env(env_id, seconds=seconds, env_kwargs=kwargs), "")]
        if workers:
            rows.append((bench_vector(env_id, workers, seconds=seconds, env_kwargs=kwargs), ""))
        for result, overhead in rows:
            results.append(result.to_dict())
            table.add_row(env_id, "x".join(map(str, result.image_shape[:2])), result.label,
                          f"{result.steps_per_s:,.0f}", f"{result.reset_ms:.2f}", overhead)
    console.print(table)
    if output:
        output.write_text(json.dumps(results, indent=2))


def _eval_plans(env: list[str] | None, family: str | None, manifest: str | None, split: str):
    try:
        return eval_plans(env, family, manifest, split)
    except (ValueError, OSError) as error:  # ManifestError is a ValueError
        raise typer.BadParameter(str(error)) from None


def _check_agents(agents: list[str]) -> None:
    """Unknown agent names fail before any episode runs."""
    from vlgym.eval import resolve_agent_spec

    for spec in agents:
        try:
            resolve_agent_spec(spec)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None


@app.command("eval")
def eval_command(
    env: EnvOption = None,
    agent: Annotated[list[str] | None, typer.Option(
        "--agent", "-a", help="expert, random, or NAME:ARG of an installed vlgym.agents plugin, e.g. "
        "checkpoint:PATH or openai:MODEL@URL (a served model; repeatable).")] = None,
    manifest: Annotated[str | None, typer.Option(
        help="Episode manifest (JSON) to run, or 'default': the one vlgym ships for each --env.")] = None,
    split: Annotated[str, typer.Option(help="Split of the manifest.")] = "eval",
    episodes: Annotated[int | None, typer.Option(
        min=1, help="Episodes per (agent, env); default 100, or with a manifest the whole split (N: its first N).",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Without a manifest: first episode seed (seed, seed+1, ...).")] = 0,
    family: Annotated[str | None, typer.Option(help="All ids of this family.")] = None,
    kwarg: KwargOption = None,
    output: Annotated[Path | None, typer.Option(help="Write per-episode and aggregate results as JSON.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write the results table as Markdown.")] = None,
    contact_sheet: Annotated[Path | None, typer.Option(help="Write a PNG of each env's first frame.")] = None,
    record: Annotated[Path | None, typer.Option(
        help="Record the episodes: one run folder per (env, agent) under this folder (see `vlgym view`).")] = None,
    record_episodes: Annotated[int | None, typer.Option(
        help="Record only the first K episodes of each (env, agent).", min=1, show_default=False)] = None,
):
    """Success rate and mean score (95% intervals), parse failures and episode length of agents on envs.

    The same manifest and agent give byte-identical JSON on every run.
    """
    import time

    from vlgym.errors import AgentUnavailableError
    from vlgym.eval import evaluate, markdown_table
    from vlgym.manifest import Manifest
    from vlgym.record.writer import run_folder_name

    plans, agents = _eval_plans(env, family, manifest, split), agent or ["expert", "random"]
    _check_agents(agents)
    env_kwargs = _kwargs(kwarg)

    def planned_episodes(plan) -> int:
        total = len(plan.split(split)) if isinstance(plan, Manifest) else 100
        return min(total, episodes) if episodes else total

    results, stopped = [], None
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("evaluating", total=len(agents) * sum(planned_episodes(p) for p in plans))
        for plan in plans:
            for name in agents:
                env_id = plan.env_id if isinstance(plan, Manifest) else plan
                if stopped is not None:
                    break
                try:
                    results.append(evaluate(plan, name, split=split, episodes=episodes, seed=seed,
                                            env_kwargs=env_kwargs, progress=lambda n: progress.advance(task, n),
                                            record_to=record and record / run_folder_name(env_id, name),
                                            record_episodes=record_episodes))
                except NotImplementedError as error:  # e.g. no expert for a task without a goal
                    console.print(f"[yellow]skipped[/] {env_id} with {name}: {escape(str(error))}")
                    progress.advance(task, planned_episodes(plan))
                except FileNotFoundError as error:  # e.g. checkpoint:PATH with nothing at PATH
                    raise typer.BadParameter(str(error), param_hint="--agent") from None
                except AgentUnavailableError as error:  # e.g. the model server died: write what was played
                    results.append(error.partial)
                    stopped = error
    table = Table("env", "agent", "episodes", "success", "95% CI", "score", "95% CI", "return", "parse fail",
                  "invalid", "length")
    for result in results:
        s = result.summary()
        table.add_row(result.env_id.removeprefix("vlgym/"), escape(result.agent), str(s["episodes"]),
                      f"{s['success_rate']:.3f}", "[{:.3f}, {:.3f}]".format(*s["success_ci95"]),
                      f"{s['mean_score']:.3f}", "[{:.3f}, {:.3f}]".format(*s["score_ci95"]), f"{s['mean_return']:.2f}",
                      f"{s['parse_failure_rate']:.3f}", f"{s['invalid_action_rate']:.3f}", f"{s['mean_length']:.1f}")
    console.print(table)
    console.print(f"{sum(len(r.episodes) for r in results)} episodes in {time.perf_counter() - started:.1f} s")
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")
        console.print(f"results: {output}")
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(markdown_table(results))
        console.print(f"table: {markdown}")
    if contact_sheet:
        from vlgym.contact_sheet import write_contact_sheet

        ids = [p.env_id if isinstance(p, Manifest) else p for p in plans]
        write_contact_sheet(ids, contact_sheet, seed=seed, env_kwargs=env_kwargs)
        console.print(f"contact sheet: {contact_sheet}")
    if record:
        console.print(f"episodes: {record} (look at them: vlgym view {record})")
    if stopped is not None:
        raise stopped


@app.command("view")
def view_command(
    folders: Annotated[list[Path], typer.Argument(help="Recorded runs (a run folder or any folder above runs); "
                                                      "a second folder is shown side by side on the same seeds.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 0,
):
    """Browse recorded episodes in a local web page: frames, prompts, answers, parse results, rewards."""
    from vlgym.record.viewer import serve

    if len(folders) > 2:
        raise typer.BadParameter("at most two folders (they are compared side by side)")
    try:
        serve(folders, port=port, announce=lambda url: console.print(f"viewer: {url}  (Ctrl-C stops it)"))
    except FileNotFoundError as error:
        raise typer.BadParameter(str(error)) from None


@app.command("export")
def export_command(
    folder: Annotated[Path, typer.Argument(help="Recorded runs (a run folder or any folder above runs).")],
    to: Annotated[Path, typer.Option("--to", help="Dataset folder to write (Parquet, Hugging Face datasets).")],
):
    """Write recorded episodes as a Hugging Face dataset: one row per step (datasets.load_dataset reads it)."""
    from vlgym.record.dataset import export_dataset

    try:
        rows = export_dataset(folder, to)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    console.print(f"{rows} steps written to {to}")


@app.command("record")
def record_command(
    env: Annotated[str, typer.Option("--env", "-e", help="Env id.")],
    to: Annotated[Path, typer.Option("--to", help="Dataset folder to write (Parquet, Hugging Face datasets).")],
    agent: Annotated[str, typer.Option("--agent", "-a", help="expert, random, or NAME:ARG of a plugin.")] = "expert",
    episodes: Annotated[int, typer.Option(help="Episodes to play.", min=1)] = 10,
    seed: Annotated[int, typer.Option(help="First episode seed (seed, seed+1, ...).")] = 0,
    kwarg: KwargOption = None,
    keep: Annotated[Path | None, typer.Option(help="Also keep the recorded episodes here (for `vlgym view`).")] = None,
):
    """Play an agent (by default the expert) and write its steps as a dataset: demonstrations in one command."""
    from vlgym.record.dataset import record_dataset

    _check_agents([agent])
    rows = record_dataset(_env_ids([env])[0], agent, to, episodes=episodes, seed=seed, env_kwargs=_kwargs(kwarg),
                          keep=keep)
    console.print(f"{rows} steps of {episodes} episodes written to {to}")


@app.command("manifest")
def manifest_command(
    env_id: Annotated[str, typer.Argument(help="Env id, e.g. vlgym/GymCards-NumberLine-v0.")],
    output: Annotated[Path, typer.Option(help="Where the manifest (JSON) is written.")],
    split: Annotated[list[str] | None, typer.Option(
        help="NAME=COUNT (repeatable), in order: consecutive seeds per split; default eval=500 val=100.",
        show_default=False)] = None,
    first_seed: Annotated[int, typer.Option(help="Seed of the first split's first episode.")] = 1_000_000,
    description: Annotated[str, typer.Option(help="Free text stored in the manifest.")] = "",
    kwarg: KwargOption = None,
):
    """Write an episode manifest: disjoint, consecutive seed ranges per split (the same arguments, the same file)."""
    from vlgym.manifest import ManifestError, make_manifest, save_manifest

    env_id = _env_ids([env_id])[0]
    sizes = {}
    for item in split or []:
        name, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise typer.BadParameter(f"expected NAME=COUNT, got {item!r}")
        sizes[name] = int(count)
    try:
        made = make_manifest(env_id, sizes or None, first_seed=first_seed, env_kwargs=_kwargs(kwarg),
                             description=description)
    except ManifestError as error:
        raise typer.BadParameter(str(error)) from None
    save_manifest(made, output)
    for name, entries in made.splits.items():
        console.print(f"{name}: {len(entries)} episodes, seeds {entries[0].seed}-{entries[-1].seed}")
    console.print(f"{output} (sha256 {made.sha256})")


alfworld_app = typer.Typer(help="ALFWorld games: write generated ones to disk, measure the expert.",
                           no_args_is_help=True)
app.add_typer(alfworld_app, name="alfworld")
TaskTypeOption = Annotated[list[str] | None,
                           typer.Option("--task-type", "-t", help="Task type (repeatable); default: all.")]


@alfworld_app.command("generate")
def alfworld_generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the games into (ALFWorld's layout).")],
    count: Annotated[int, typer.Option(help="Number of games.")] = 60,
    split: Annotated[str, typer.Option(help="train, valid_seen or valid_unseen.")] = "train",
    task_type: TaskTypeOption = None,
    seed: Annotated[int, typer.Option(help="First game seed; games use seed, seed+1, ...")] = 0,
    task_mix: Annotated[str, typer.Option(help="alfworld (ALFWorld's share of each type) or uniform.")] = "alfworld",
    held_out_pairs: Annotated[bool, typer.Option(help="Keep a fifth of the object/receptacle pairs for "
                                                      "valid_unseen.")] = False,
):
    """Generate games, check each in the engine, and write them as ALFWorld's AlfredTWEnv reads them."""
    from vlgym.envs.alfworld.tools import write_games

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("generating", total=count)
        paths = write_games(out, count, split=split, task_types=task_type, seed=seed, task_mix=task_mix,
                            held_out_pairs=held_out_pairs, progress=lambda _: progress.advance(task))
    console.print(f"{len(paths)} games written under {out}")


@alfworld_app.command("expert")
def alfworld_expert(
    per_type: Annotated[int, typer.Option(help="Games per task type.")] = 100,
    split: Annotated[str, typer.Option(help="train, valid_seen or valid_unseen.")] = "train",
    seed: Annotated[int, typer.Option(help="First reset seed.")] = 0,
    kwarg: KwargOption = None,
):
    """The expert's success rate on generated games, per task type."""
    from vlgym.envs.alfworld.tools import expert_success

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("playing", total=6 * per_type)
        results, seconds = expert_success(per_type, split=split, seed=seed, env_kwargs=_kwargs(kwarg),
                                          progress=lambda: progress.advance(task))
    table = Table("task type", "games", "success", "mean steps", "lost (reset seeds)")
    for r in results:
        table.add_row(r.task_type, str(r.episodes), f"{r.success_rate:.3f}", f"{np.mean(r.steps):.1f}",
                      ", ".join(map(str, r.failures[:10])))
    games, wins = sum(r.episodes for r in results), sum(r.successes for r in results)
    table.add_row("all", str(games), f"{wins / max(1, games):.3f}", "", "")
    console.print(table)
    console.print(f"{seconds:.0f} s")


webshop_app = typer.Typer(help="WebShop tools.", no_args_is_help=True)
app.add_typer(webshop_app, name="webshop")


@webshop_app.command("serve")
def webshop_serve(
    seed: Annotated[int, typer.Option(help="Episode seed (picks the goal); /new moves to the next seed.")] = 0,
    goal_index: Annotated[int | None, typer.Option(help="Goal index within the split (overrides the seed).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind; other than 127.0.0.1 exposes the shop.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 3000,
    kwarg: KwargOption = None,
):
    """Serve the WebShop env as a local web application that a person can use in a browser."""
    from vlgym.envs.webshop.server import serve

    serve(host, port, seed=seed, goal_index=goal_index, **_kwargs(kwarg))


@webshop_app.command("search-bench")
def webshop_search_bench(
    num_products: Annotated[int, typer.Option(help="Synthetic catalogue size.")] = 100_000,
    queries: Annotated[int, typer.Option(help="Goal instructions to search for.")] = 300,
):
    """Time the catalogue build (or cached load), the index, and BM25 queries of goal instructions."""
    import time

    from vlgym.envs.webshop.env import shop_data
    from vlgym.envs.webshop.search import query_latency_ms

    start = time.perf_counter()
    catalog, engine = shop_data("synthetic", num_products, 0, None, "synthetic")
    ready = time.perf_counter() - start
    latency = query_latency_ms(engine, [g.search_text for g in catalog.goals[:queries]])
    console.print(f"{len(catalog.products):,} products, {len(catalog.goals):,} goals: ready in {ready:.1f} s "
                  "(built, or read from the cache)")
    console.print(f"query ms over {min(queries, len(catalog.goals))} goals: median {latency['median']:.2f}, "
                  f"p95 {latency['p95']:.2f}, max {latency['max']:.2f}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface; anything but loopback needs VLGYM_TOKEN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    max_sessions: Annotated[int, typer.Option(help="Most envs held at once.")] = 64,
    idle_timeout: Annotated[float, typer.Option(help="Seconds after which an unused session is closed.")] = 600.0,
):
    """Serve every vlgym id over HTTP, for gym.make(id, remote=URL) and OpenEnv-style clients (docs/remote.md)."""
    from vlgym.remote.server import Limits, serve

    try:
        serve(host, port, limits=Limits(max_sessions=max_sessions, idle_timeout=idle_timeout))
    except ValueError as error:  # e.g. no token for a public interface
        raise typer.BadParameter(str(error)) from None


def main() -> None:
    run_cli(app, "vlgym")


if __name__ == "__main__":
    main()
