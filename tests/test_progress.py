"""Progress on slow work: on stderr only, live on a terminal, a line every few seconds in a log."""

from __future__ import annotations

import io
import time

import pytest

from directus_gitops.base import progress
from directus_gitops.base.console import Console
from tests import samples
from tests.conftest import Project
from tests.test_diff import write


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "INTERVAL", 0.05)
    monkeypatch.setattr(progress, "LIVE_PERIOD", 0.02)


def test_a_log_gets_a_line_every_interval_while_the_work_runs(fast: None) -> None:
    err, out = io.StringIO(), io.StringIO()
    with Console(out, err).progress("Waiting for 'prod' to compute the diff"):
        time.sleep(0.4)
    lines = err.getvalue().splitlines()
    assert len(lines) >= 4, lines
    assert all(line.startswith("Waiting for 'prod' to compute the diff") for line in lines)
    assert lines[0].endswith("… 0 s") and lines[-1].endswith(": done after 0 s")
    assert "\r" not in err.getvalue() and out.getvalue() == ""


def test_work_that_ends_sooner_prints_nothing_in_a_log() -> None:
    err = io.StringIO()
    with Console(io.StringIO(), err).progress("Reading the schema of 'dev'"):
        pass
    assert err.getvalue() == ""


def test_a_terminal_gets_one_live_line_wiped_at_the_end(fast: None) -> None:
    err = Terminal()
    with Console(io.StringIO(), err).progress("Applying 1 to add to 'prod'"):
        time.sleep(0.2)
    text = err.getvalue()
    assert text.count("\r\x1b[K") >= 3 and "\n" not in text
    assert "Applying 1 to add to 'prod' … 0 s" in text
    assert text.endswith("\r\x1b[K")


def test_quiet_shows_no_progress(fast: None) -> None:
    err = io.StringIO()
    with Console(io.StringIO(), err, quiet=True).progress("Reading"):
        time.sleep(0.15)
    assert err.getvalue() == ""


def test_elapsed_time_reads_well() -> None:
    assert [progress.elapsed(s) for s in (0.4, 49.9, 69, 3601)] == ["0 s", "49 s", "1 min 09 s", "60 min 01 s"]


def test_plan_reports_progress_while_it_waits_and_never_on_stdout(
    project: Project, silent_server: str, fast: None
) -> None:
    # A server that never answers: plan waits (until its timeout), saying so on stderr.
    (project.root / "directus-gitops.yaml").write_text(
        f"environments:\n  staging: {{url: '{silent_server}', timeout: 0.6}}\n"
    )
    project.token("staging", "t")
    write(project, samples.base())
    result = project.run("plan", "--env", "staging", "--format", "json", "--from", str(project.schema))
    assert result.code == 1 and "timed out" in result.err
    waiting = [line for line in result.err.splitlines() if line.startswith("Asking 'staging' for its release … ")]
    assert len(waiting) >= 3, result.err
    assert result.out == ""


@pytest.mark.parametrize(("value", "colour"), [("", True), ("1", False)])
def test_no_color_counts_only_when_it_has_a_value(monkeypatch: pytest.MonkeyPatch, value: str, colour: bool) -> None:
    monkeypatch.setenv("NO_COLOR", value)
    assert Console(Terminal(), io.StringIO()).color is colour
    monkeypatch.delenv("NO_COLOR")
    assert Console(Terminal(), io.StringIO()).color is True
