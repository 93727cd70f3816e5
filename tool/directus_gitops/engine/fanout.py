"""One ``plan`` or ``push`` over several environments, ending with one summary table.

Environments start in the order given, up to ``parallel`` at a time (one by default: each
after the one before has ended). The first failure stops the run (the environments not yet
started are not touched) unless ``keep_going``; either way every environment gets a row.

Environments that run at the same time never mix their output: each one's goes into a tape
of its own, printed whole (stdout and stderr in the order it was written) once it and every
environment before it have ended, so the output reads as a run one after the other would.
Only the calling thread writes to the real streams.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from directus_gitops.base.console import Console, display
from directus_gitops.base.errors import ExitCode, GitOpsError
from directus_gitops.base.formats import JSON_FORMAT_VERSION


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
    document: str | None = None  # what the run printed on stdout, when asked to keep it apart


SKIPPED = "skipped (an earlier environment failed)"

Step = Callable[[str, Record, Console], int]
"""Runs the command on one environment, printing through the console it is given."""


def run_each(
    names: Sequence[str], step: Step, console: Console, *, keep_going: bool, parallel: int = 1, capture: bool = False
) -> list[Row]:
    """Run ``step`` on each environment; with ``capture``, what each prints on stdout is kept in
    its row (``Row.document``) instead of printed, so that stdout can hold one document."""
    if parallel <= 1 or len(names) <= 1:
        return _one_after_another(names, step, console, keep_going=keep_going, capture=capture)
    return _at_once(names, step, console, keep_going=keep_going, parallel=parallel, capture=capture)


def _failed(code: int) -> bool:
    return code not in (ExitCode.OK, ExitCode.CHANGES)


def _attempt(name: str, step: Step, console: Console) -> Row:
    record = Record()
    console.info(f"── {name} ──")
    try:
        code = step(name, record, console)
    except GitOpsError as exc:
        console.error(f"{name}: {exc.message}")
        if exc.hint:
            console.info(f"hint: {exc.hint}")
        result, code = f"failed: {exc.message}", int(exc.exit_code)
    else:
        result = record.result or "ok"
    backup = display(record.backup) if record.backup else ""
    return Row(name, record.changes or "", result, backup, code)


def _one_after_another(
    names: Sequence[str], step: Step, console: Console, *, keep_going: bool, capture: bool
) -> list[Row]:
    rows: list[Row] = []
    stopped = False
    for name in names:
        if stopped:
            rows.append(Row(name, "", SKIPPED, "", ExitCode.OK))
            continue
        out = io.StringIO() if capture else None
        worker = Console(out, console.stderr, quiet=console.quiet) if out is not None else console
        row = _attempt(name, step, worker)
        if out is not None:
            row = _with_document(row, out.getvalue())
        rows.append(row)
        stopped = _failed(row.exit_code) and not keep_going
    return rows


class _Track(io.StringIO):
    """One of a tape's two streams: what is written is kept, in order with the other's."""

    def __init__(self, chunks: list[tuple[bool, str]], *, is_out: bool, tty: bool) -> None:
        super().__init__()
        self._chunks = chunks
        self._is_out = is_out
        self._tty = tty

    def write(self, text: str) -> int:
        self._chunks.append((self._is_out, text))
        return len(text)

    def isatty(self) -> bool:
        return self._tty


class _Taped(Console):
    """A console for an environment that runs beside others: everything goes on its tape."""

    def __init__(self, console: Console) -> None:
        self.chunks: list[tuple[bool, str]] = []
        # stdout passes for a terminal when the real one is one, so that a text plan keeps its
        # colours; stderr never does: a live progress line has no place on a tape.
        stdout = _Track(self.chunks, is_out=True, tty=console.color)
        super().__init__(stdout, _Track(self.chunks, is_out=False, tty=False), quiet=console.quiet)

    def progress(self, what: str) -> AbstractContextManager[None]:
        return nullcontext()  # the run's own lines say which environments are still running

    @property
    def interactive(self) -> bool:
        return False  # nobody can tell which of the environments a prompt would be for

    def played(self, console: Console, *, capture: bool) -> str:
        """Write the tape to ``console``'s streams; returns stdout's part when ``capture``."""
        kept: list[str] = []
        for is_out, text in self.chunks:
            if is_out and capture:
                kept.append(text)
            else:
                stream = console.stdout if is_out else console.stderr
                stream.write(text)
        console.stdout.flush()
        console.stderr.flush()
        return "".join(kept)


def _at_once(
    names: Sequence[str], step: Step, console: Console, *, keep_going: bool, parallel: int, capture: bool
) -> list[Row]:
    rows: list[Row | None] = [None] * len(names)
    tapes: dict[int, _Taped] = {}
    waiting = list(range(len(names)))  # indexes not started yet, in order
    running: dict[Future[Row], int] = {}
    printed = 0
    stopped = False
    console.info(f"Running on {len(names)} environments, up to {parallel} at a time.")
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="env")
    try:
        while waiting or running:
            while waiting and not stopped and len(running) < parallel:
                index = waiting.pop(0)
                tapes[index] = _Taped(console)
                running[pool.submit(_attempt, names[index], step, tapes[index])] = index
                console.info(f"started: {names[index]} ({_counts(rows, running)})")
            if stopped and waiting:
                console.info(f"not starting the {len(waiting)} environment(s) left after a failure (see --keep-going)")
                for index in waiting:
                    rows[index] = Row(names[index], "", SKIPPED, "", ExitCode.OK)
                waiting = []
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=running.__getitem__):
                index = running.pop(future)
                row = rows[index] = future.result()
                console.info(f"done: {names[index]}: {row.result} ({_counts(rows, running)})")
                stopped = stopped or (_failed(row.exit_code) and not keep_going)
            printed = _print_ready(rows, tapes, printed, console, capture=capture)
    except BaseException:  # Ctrl-C, or a bug in one environment's run
        pool.shutdown(wait=False, cancel_futures=True)
        if running:
            # A push under way holds its server's lock and may be half-applied: let it end.
            console.info(f"waiting for {', '.join(names[i] for i in running.values())} to end (Ctrl-C again: now)")
            wait(running)
        for index in sorted(tapes):  # what those that started said (stdout's documents, if kept apart, dropped)
            tapes[index].played(console, capture=capture)
        raise
    pool.shutdown()
    _print_ready(rows, tapes, printed, console, capture=capture)
    return [row for row in rows if row is not None]


def _counts(rows: Sequence[Row | None], running: dict[Future[Row], int]) -> str:
    done = sum(1 for row in rows if row is not None)
    return f"{done} of {len(rows)} done, {len(running)} running"


def _print_ready(
    rows: list[Row | None], tapes: dict[int, _Taped], printed: int, console: Console, *, capture: bool
) -> int:
    """Print each ended environment whose turn has come (every one before it printed); returns
    how many are printed now."""
    while printed < len(rows):
        row = rows[printed]
        if row is None:
            break
        tape = tapes.pop(printed, None)
        if tape is not None:
            document = tape.played(console, capture=capture)
            if capture:
                rows[printed] = _with_document(row, document)
        printed += 1
    return printed


def _with_document(row: Row, document: str) -> Row:
    return Row(row.env, row.changes, row.result, row.backup, row.exit_code, document)


def exit_code(rows: Sequence[Row]) -> int:
    """The first failure's exit code; else 2 when any environment reported changes; else 0."""
    for row in rows:
        if _failed(row.exit_code):
            return row.exit_code
    return ExitCode.CHANGES if any(row.exit_code == ExitCode.CHANGES for row in rows) else ExitCode.OK


def table(rows: Sequence[Row]) -> str:
    head = ("Environment", "Changes", "Result", "Backup")
    cells = [head, *((row.env, row.changes or "-", row.result, row.backup or "-") for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(["Summary:", *lines]) + "\n"


def as_json(rows: Sequence[Row]) -> str:
    """One document for the whole run: each environment's row with the plan document it printed
    (``null`` when it printed none: it failed before its plan, or was skipped)."""
    environments: list[dict[str, Any]] = []
    for row in rows:
        printed = (row.document or "").strip()
        environments.append(
            {
                "env": row.env,
                "exit_code": row.exit_code,
                "result": row.result,
                "changes": row.changes or None,
                "backup": row.backup or None,
                "plan": json.loads(printed) if printed else None,
            }
        )
    document = {"format_version": JSON_FORMAT_VERSION, "exit_code": exit_code(rows), "environments": environments}
    return json.dumps(document, indent=2, ensure_ascii=False)
