"""``vlgym-train``: build tiny models, warm-start, train with VL-DAC, and run the CPU quickstart.

Configs are YAML files or the names of the packaged ones (``vlgym-train configs`` lists them); anything
after the config is a ``key=value`` override (``algo.vldac.kl_beta=0.1 env.num_envs=4``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vlgym.cli_errors import run_cli
from vlgym.errors import UserError
from vlgym_agents.config import PACKAGED, config_path, packaged_configs
from vlgym_agents.policy.tiny import Arch
from vlgym_agents.preflight import out_of_memory_message

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()

ConfigArg = Annotated[str, typer.Argument(help="A YAML file, or the name of a packaged config.")]
OverridesArg = Annotated[list[str] | None, typer.Argument(help="key=value overrides, e.g. optim.lr=1e-4")]
__all__ = ["PACKAGED", "app", "main", "packaged_configs"]


def _load(config: str, overrides: list[str] | None):
    import yaml
    from omegaconf.errors import OmegaConfBaseException
    from pydantic import ValidationError

    from vlgym_agents.config import load_config

    try:
        return load_config(config, overrides or [])
    except (ValidationError, ValueError, yaml.YAMLError, OmegaConfBaseException) as error:  # YAML: "k=[1,2"
        raise UserError(f"invalid configuration: {error}") from error


def _setup_output() -> None:
    """Our log lines at INFO, library noise off (see :func:`vlgym_agents.runtime.quiet_libraries`)."""
    from vlgym_agents.runtime import quiet_libraries

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_libraries()


@app.command("configs")
def configs_command():
    """List the packaged configs."""
    for name in packaged_configs():
        console.print(f"{name:<14} {config_path(name)}")


@app.command("tiny")
def tiny_command(path: Path, arch: Annotated[Arch, typer.Option(
        help="qwen2_5_vl, idefics3, or qwen2_5_vl_vllm (head size 64: loads in vLLM on CPU)")] = "qwen2_5_vl",
                 seed: int = 0):
    """Build a randomly initialised tiny VLM (model + processor) offline."""
    from vlgym_agents.policy.tiny import build_tiny_vlm

    _setup_output()
    console.print(f"tiny {arch} written to {build_tiny_vlm(path, arch, seed=seed)}")


@app.command("rl")
def rl_command(config: ConfigArg, overrides: OverridesArg = None,
               resume: Annotated[bool, typer.Option(help="Continue from the latest checkpoint.")] = False,
               allow_config_change: Annotated[bool, typer.Option(
                   help="With --resume: go on although the config differs from the checkpoint's.")] = False):
    """Train with VL-DAC, or another registered rule (algo.name=rl4vlm|loop); `accelerate launch` for several GPUs."""
    from vlgym_agents.train import Trainer

    _setup_output()
    trainer = Trainer(_load(config, overrides), resume=resume, allow_config_change=allow_config_change)
    console.print_json(json.dumps(trainer.train()))


@app.command("sft")
def sft_command(config: ConfigArg, overrides: OverridesArg = None,
                output: Annotated[Path, typer.Option(help="Where the warm-started model goes.")] = Path("outputs/sft")):
    """Warm-start on expert demonstrations; writes a model folder RL can start from."""
    from vlgym_agents.sft import warm_start

    _setup_output()
    model_dir, _ = warm_start(_load(config, overrides), output, report=lambda c: console.print(c))
    console.print(f"warm-started model: {model_dir}")


@app.command("quickstart")
def quickstart_command(
    output: Annotated[Path, typer.Option(help="Report, model, logs.")] = Path("outputs/quickstart"),
    seeds: Annotated[int, typer.Option(min=1, help="run seeds 0..N-1, each in OUTPUT/seed_<k>, and compare them "
                                                   "in OUTPUT/seeds.md")] = 1,
    overrides: OverridesArg = None,
):
    """Tiny VLM -> warm start on NumberLine -> VL-DAC on CPU -> before/after evaluation and a report."""
    from vlgym_agents.quickstart import run_quickstart, run_quickstart_seeds

    _setup_output()
    report = (run_quickstart(output, overrides or [], console=console) if seeds == 1
              else run_quickstart_seeds(output, overrides or [], seeds, console=console))
    console.print(f"report: {report}")


def main() -> None:
    """The ``vlgym-train`` console script.

    >>> from typer.testing import CliRunner
    >>> CliRunner().invoke(app, ["configs"]).output.split()[:3:2]
    ['alfworld', 'blackjack']
    """
    run_cli(app, "vlgym-train", translators=[out_of_memory_message])


if __name__ == "__main__":
    main()
