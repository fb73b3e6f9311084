"""Every command in the README runs, and so does every block of ``docs/*.md`` marked ``<!-- runnable -->``.

The convention (CONTRIBUTING.md, "Commands in the docs"):

- README: every ```python block, and every line of every ```bash / ```sh / plain ``` block, is run, except the two
  set-up commands (CI runs ``scripts/test.sh`` itself, and ``scripts/quickstart.sh`` is the same trainer as
  ``vlgym-train quickstart``) and the few commands in :data:`NOT_RUN`, each with its reason. Use ```text for output.
- docs: a block runs when the line before its fence is ``<!-- runnable -->``.
- A document's blocks run in order, in one fresh temporary folder (so a command may read what an earlier one
  wrote, and nothing lands in the repository), with stdin empty (``vlgym play`` shows the first frame and ends)
  and ``HF_HUB_OFFLINE=1``. Keep commands short: sizes that finish in seconds, say ``--seconds 1``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- runnable -->"
SHELL = ("", "bash", "sh", "shell")
SETUP = ("bash scripts/quickstart.sh", "bash scripts/test.sh")
#: README commands this test cannot run (prefix -> why). Keep it short: prefer a command that runs.
NOT_RUN = {
    "vlgym-train rl numberline": "trains Qwen2-VL-7B-Instruct: a Hub download and GPU hours",
    "accelerate launch": "needs 8 GPUs",
    "vlgym eval --env vlgym/GymCards-NumberLine-v0 --agent checkpoint:outputs/nl": "needs the run of the line above",
    "vlgym serve": "serves until stopped; tests/remote/test_serve_command.py starts the command and talks to it",
    "vlgym view": "serves until stopped; tests/record/test_recording_viewer.py drives the page in a real browser",
}
TIMEOUT_S = 600


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    marked: bool  # the line before the fence is MARKER


def code_blocks(markdown: str) -> list[Block]:
    lines = markdown.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r"^```\s*([\w+-]*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        before = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        blocks.append(Block(i + 1, fence.group(1).lower(), "\n".join(lines[i + 1:end]), before == MARKER))
        i = end + 1
    return blocks


def _strip_comment(line: str) -> str:
    """``line`` without a trailing shell comment (a ``#`` after whitespace, outside quotes)."""
    quote = None
    for k, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip()
    return line.rstrip()


def shell_commands(text: str) -> list[str]:
    """One command per line; ``\\`` continues a line; comments and blank lines dropped."""
    commands, pending = [], ""
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        command = " ".join((pending + line).split())
        pending = ""
        if command:
            commands.append(command)
    return commands


@dataclass
class Step:
    kind: str  # "python" or "shell"
    code: str
    where: str


def runnable_steps(path: Path, *, every_block: bool) -> list[Step]:
    steps = []
    for block in code_blocks(path.read_text()):
        if not (every_block or block.marked):
            continue
        where = f"{path.relative_to(ROOT)}:{block.line}"
        if block.language == "python":
            steps.append(Step("python", block.text, where))
        elif block.language in SHELL:
            steps += [Step("shell", command, where) for command in shell_commands(block.text)
                      if command not in SETUP and not command.startswith(tuple(NOT_RUN))]
    return steps


DOCUMENTS = {"README.md": runnable_steps(ROOT / "README.md", every_block=True)}
for doc in sorted((ROOT / "docs").glob("*.md")):
    if steps := runnable_steps(doc, every_block=False):
        DOCUMENTS[str(doc.relative_to(ROOT))] = steps


def run_step(step: Step, cwd: Path) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "VLGYM_DEBUG": "1",
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [sys.executable, "-c", step.code] if step.kind == "python" else ["bash", "-c", step.code]
    return subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=TIMEOUT_S)


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_every_command_of_the_document_runs(document, tmp_path):
    failures = []
    for step in DOCUMENTS[document]:
        try:
            result = run_step(step, tmp_path)
        except subprocess.TimeoutExpired:
            failures.append(f"{step.where}: {step.code!r} ran over {TIMEOUT_S} s")
            continue
        if result.returncode != 0:
            failures.append(f"{step.where}: {step.code!r} exited {result.returncode}:\n{result.stderr[-2000:]}")
    assert not failures, "\n\n".join(failures)


def test_the_readme_has_commands_and_every_exception_still_names_one():
    readme = ROOT / "README.md"
    kinds = {step.kind for step in DOCUMENTS["README.md"]}
    assert kinds == {"python", "shell"}
    commands = [c for b in code_blocks(readme.read_text()) if b.language in SHELL for c in shell_commands(b.text)]
    for prefix in NOT_RUN:  # a stale entry would hide nothing but still claim an exception
        assert any(c.startswith(prefix) for c in commands), f"NOT_RUN entry {prefix!r} matches no README command"


def test_blocks_markers_continuations_and_comments_are_read_as_documented():
    markdown = "\n".join([
        "text", "```bash", "vlgym list   # ids", "vlgym eval --env a \\", "    --agent expert  # two lines",
        "# only a comment", "vlgym play 'a # b'", "```", MARKER, "", "```python", "print(1)", "```",
        "```text", "output", "```"])
    plain, python, text = code_blocks(markdown)
    assert (plain.language, plain.marked, python.language, python.marked, text.language) == (
        "bash", False, "python", True, "text")
    assert shell_commands(plain.text) == ["vlgym list", "vlgym eval --env a --agent expert", "vlgym play 'a # b'"]
    assert python.text == "print(1)" and python.line == 11
