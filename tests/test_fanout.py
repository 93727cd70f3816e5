"""Fan-out, offline: stopping at the first failure, --keep-going, the summary table (real
servers: test_status_servers.py)."""

from __future__ import annotations

import io
from pathlib import Path

from directus_gitops.base.console import Console
from directus_gitops.base.errors import RefusedError
from directus_gitops.engine import fanout


def _run(keep_going: bool) -> tuple[list[fanout.Row], list[str]]:
    touched: list[str] = []

    def step(name: str, record: fanout.Record) -> int:
        touched.append(name)
        record.changes = "+1 field"
        if name == "staging":
            raise RefusedError("refusing to push: 1 change(s) can lose data")
        record.backup = Path("/backups") / f"{name}.yaml"
        record.result = "applied"
        return 0

    console = Console(io.StringIO(), io.StringIO())
    return fanout.run_each(["staging", "production"], step, console, keep_going=keep_going), touched


def test_a_failure_stops_the_run_unless_asked_to_keep_going() -> None:
    rows, touched = _run(keep_going=False)
    assert touched == ["staging"]
    assert [row.result for row in rows] == [
        "failed: refusing to push: 1 change(s) can lose data",
        "skipped (an earlier environment failed)",
    ]
    assert fanout.exit_code(rows) == 3

    rows, touched = _run(keep_going=True)
    assert touched == ["staging", "production"]
    assert rows[1].result == "applied" and rows[1].backup == "/backups/production.yaml"
    assert fanout.exit_code(rows) == 3  # the failure still decides the exit code
    table = fanout.table(rows).splitlines()
    assert table[0] == "Summary:"
    assert table[1].split() == ["Environment", "Changes", "Result", "Backup"]
    assert table[4].split()[:3] == ["production", "+1", "field"] and table[4].endswith("/backups/production.yaml")


def test_changes_found_is_exit_2_only_without_failures() -> None:
    rows = [fanout.Row("a", "", "planned", "", 2), fanout.Row("b", "", "already matches", "", 0)]
    assert fanout.exit_code(rows) == 2
    assert fanout.exit_code(rows[1:]) == 0
