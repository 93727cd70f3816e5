"""One ``plan`` or ``push`` over several environments, ending with one summary table.

Environments run in the order given. The first failure stops the run (the environments after
it are not touched) unless ``keep_going``; either way every environment gets a row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from directus_gitops.base.console import Console, display
from directus_gitops.base.errors import ExitCode, GitOpsError


@dataclass
class Record:
    """What one environment's run filled in as it went (a failure keeps what it got to)."""

    changes: str | None = None  # the plan's summary, once there is a plan
    backup: Path | None = None
    result: str | None = None  # how it ended, when it did not fail


@dataclass(frozen=True)
class Row:
    env: str
    changes: str
    result: str
    backup: str
    exit_code: int


Step = Callable[[str, Record], int]


def run_each(names: Sequence[str], step: Step, console: Console, *, keep_going: bool) -> list[Row]:
    rows: list[Row] = []
    stopped = False
    for name in names:
        if stopped:
            rows.append(Row(name, "", "skipped (an earlier environment failed)", "", ExitCode.OK))
            continue
        record = Record()
        console.info(f"── {name} ──")
        try:
            code = step(name, record)
        except GitOpsError as exc:
            console.error(f"{name}: {exc.message}")
            if exc.hint:
                console.info(f"hint: {exc.hint}")
            result, code = f"failed: {exc.message}", int(exc.exit_code)
        else:
            result = record.result or "ok"
        backup = display(record.backup) if record.backup else ""
        rows.append(Row(name, record.changes or "", result, backup, code))
        if code not in (ExitCode.OK, ExitCode.CHANGES) and not keep_going:
            stopped = True
    return rows


def exit_code(rows: Sequence[Row]) -> int:
    """The first failure's exit code; else 2 when any environment reported changes; else 0."""
    for row in rows:
        if row.exit_code not in (ExitCode.OK, ExitCode.CHANGES):
            return row.exit_code
    return ExitCode.CHANGES if any(row.exit_code == ExitCode.CHANGES for row in rows) else ExitCode.OK


def table(rows: Sequence[Row]) -> str:
    head = ("Environment", "Changes", "Result", "Backup")
    cells = [head, *((row.env, row.changes or "-", row.result, row.backup or "-") for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(["Summary:", *lines]) + "\n"
