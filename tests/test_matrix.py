"""The version × database matrix: its loop on real servers, and the README table it generates.

The cells run here are ``$DIRECTUS_MATRIX_CELLS`` (``make test`` sets the CI part: 12.4.1 on
SQLite, PostgreSQL and MariaDB, 10.13.4 on SQLite and a 9.26.0 smoke cell), else the cells of
the rest of the suite. ``make matrix`` runs every version × database.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.directus_harness import cells_under_test, databases, matrix


def _matrix_cells() -> list[tuple[str, str]]:
    words = os.environ.get("DIRECTUS_MATRIX_CELLS", "").split()
    if not words:
        return cells_under_test()
    cells = []
    for word in words:
        version, _, vendor = word.partition(":")
        cells.append((version, databases.check_vendor(vendor or "sqlite")))
    return list(dict.fromkeys(cells))


@pytest.fixture(scope="module")
def matrix_databases() -> Iterator[matrix.Databases]:
    dbs = matrix.Databases()
    yield dbs
    dbs.close()


@pytest.mark.directus
@pytest.mark.parametrize(("version", "database"), _matrix_cells(), ids=[f"{v}-{d}" for v, d in _matrix_cells()])
def test_the_loop_holds_on_a_cell(
    version: str, database: str, tmp_path: Path, matrix_databases: matrix.Databases
) -> None:
    cell = matrix.run_cell(version, database, tmp_path / "cell", matrix_databases)

    failures = {name: step.detail for name, step in cell.steps.items() if not step.ok}
    transcript = tmp_path / "cell" / "transcript.txt"
    assert not failures, f"{cell.name}: {failures}\n\n{transcript.read_text() if transcript.exists() else ''}"
    assert cell.steps["change"].detail == "plan matched: +1 ~1 -1; converged"


def test_the_readme_table_is_the_one_last_recorded() -> None:
    record = json.loads(matrix.RECORD.read_text())
    readme = matrix.README.read_text()
    assert matrix.readme_block(record) in readme, "run `python scripts/matrix.py --record` to regenerate it"


def test_the_record_covers_every_supported_cell() -> None:
    record = json.loads(matrix.RECORD.read_text())
    cells = {(cell["version"], cell["database"]) for cell in record["cells"]}
    assert cells == {(v, d) for v in matrix.VERSIONS for d in matrix.DATABASES}
    for cell in record["cells"]:
        stopped = False
        for name, step in cell["steps"].items():
            # A cell that is not green says why, with the error it met; nothing after that runs.
            if step["ok"] is None:
                assert stopped, (cell["version"], cell["database"], name)
            elif not step["ok"]:
                assert step["detail"], (cell["version"], cell["database"], name)
                stopped = True


def test_a_failed_step_is_shown_with_its_error() -> None:
    record = {
        "date": "2026-01-01",
        "command": "python scripts/matrix.py",
        "tool_version": "0",
        "cells": [
            {
                "version": "1.0.0",
                "database": "sqlite",
                "steps": {
                    name: {"ok": name != "push", "detail": "boom: 500" if name == "push" else ""}
                    for name in matrix.STEPS
                },
            }
        ],
    }
    table = matrix.render_markdown(record)
    assert "| 1.0.0 | sqlite | ✅ | ❌ [1] | ✅ | ✅ | ✅ |" in table
    assert "- [1] 1.0.0 on sqlite, push: boom: 500" in table
