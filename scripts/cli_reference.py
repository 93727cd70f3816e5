#!/usr/bin/env python3
"""Write docs/cli.md from the commands' own --help (``make docs``); tests check it is current."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from directus_gitops.cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def help_text(args: list[str]) -> str:
    """Exactly what ``directus-gitops ARGS --help`` prints, at a fixed width."""
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="directus-gitops", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output.rstrip("\n")


def reference() -> str:
    parts = [
        "# Command-line reference",
        "",
        "Generated from each command's `--help` by `make docs`; a test fails when it is out of date.",
        "",
        "```",
        help_text([]),
        "```",
    ]
    for name in sorted(cli.commands):
        parts += ["", f"## `{name}`", "", "```", help_text([name]), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    DOC.write_text(reference(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(Path.cwd()) if DOC.is_relative_to(Path.cwd()) else DOC}")
    sys.exit(0)
