"""Every command the README and docs/ show runs as written: each distinct command's ``--help`` exits 0, every
console script of pyproject.toml is documented, and no page shows a form the package no longer has.

The commands are read from the pages' fenced code blocks, so a renamed script, a moved bench or a stale
``python -m alphagan_jax...`` line in the docs fails here rather than in a user's shell.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import script

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# The documented forms: console scripts, the two root scripts, the benches as modules.
COMMAND = re.compile(
    r"(?:^|[;&|(]\s*|\s)"
    r"(alphagan-(?!jax\b)[a-z0-9]+|python3? (?:train|evaluate)\.py|python3? -m bench\.[a-z_]+)(?=\s|$)"
)


def shell_blocks(text: str) -> list[str]:
    """The fenced code blocks of a Markdown page that hold shell lines (```bash, ```sh, ```console, ```)."""
    blocks, lines, lang = [], [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if lang is None:
                lang = line[3:].strip()
            else:
                if lang in ("", "bash", "sh", "console"):
                    blocks.append("\n".join(lines))
                lines, lang = [], None
        elif lang is not None:
            lines.append(line)
    return blocks


# Forms the package had before its commands moved to alphagan_jax/cli and bench became a package.
STALE = re.compile(r"python3? -m alphagan_jax[\w.]*|python3? bench/\w+\.py|alphagan_jax\.tools\b")


def documented() -> dict[str, list[str]]:
    """Each command's words as it is started (e.g. ['python', '-m', 'bench.quality']) -> pages showing it."""
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for block in shell_blocks(page.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                if line.lstrip().startswith("#"):
                    continue
                for match in COMMAND.finditer(line):
                    found.setdefault(match.group(1), []).append(page.relative_to(REPO).as_posix())
    return found


def console_scripts() -> set[str]:
    return set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"])


def test_pages_show_commands_and_only_current_forms():
    commands = documented()
    assert "python train.py" in commands and "python evaluate.py" in commands and "alphagan-predict" in commands
    stale = [
        f"{page.relative_to(REPO)}: {m.group(0)}"
        for page in PAGES
        for m in re.finditer(
            r"python3? -m alphagan_jax[\w.]*|python3? bench/\w+\.py|alphagan_jax\.tools\b", page.read_text()
        )
    ]
    assert not stale, "old command forms in the docs:\n  " + "\n  ".join(stale)


def test_every_console_script_is_documented():
    shown = {c for c in documented() if c.startswith("alphagan-")}
    scripts = console_scripts()
    assert scripts - shown == set(), f"console scripts no page shows: {sorted(scripts - shown)}"
    assert shown - scripts == set(), f"pages show scripts pyproject.toml does not define: {sorted(shown - scripts)}"


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(documented()))
def test_documented_command_help_runs(command: str):
    words = command.split()
    if words[0].startswith("alphagan-"):
        argv = [script(words[0])]
    else:  # python train.py / python -m bench.X, with this environment's interpreter, from the repo root
        argv = [sys.executable, *words[1:]]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([*argv, "--help"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    # absl (train.py) ends its --help with exit status 1, as it always has; argparse with 0.
    expected = 1 if command.endswith("train.py") else 0
    assert done.returncode == expected, f"{command} --help exited {done.returncode}:\n{done.stderr[-2000:]}"
    shown = done.stdout + done.stderr
    assert "usage" in shown.lower() or "--workdir" in shown, f"{command} --help printed no usage:\n{shown[-1000:]}"
