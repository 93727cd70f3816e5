"""Fan-out, offline: stopping at the first failure, --keep-going, the summary table, several
environments at once (--parallel) without mixing their output, and the one JSON document
(real servers: test_status_servers.py, test_many_environments.py)."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from directus_gitops.base.console import Console
from directus_gitops.base.errors import PartialApplyError, RefusedError
from directus_gitops.engine import fanout
from tests import samples
from tests.conftest import Project, serving
from tests.test_diff import write
from tests.test_output_schema import validate


def _run(keep_going: bool) -> tuple[list[fanout.Row], list[str]]:
    touched: list[str] = []

    def step(name: str, record: fanout.Record, console: Console) -> int:
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


class Fake:
    """A step that prints several lines on both streams, slowly, and records how many ran at once.

    ``delays`` (seconds, per environment) decide the order in which they end; ``fail`` maps an
    environment to the error it raises."""

    def __init__(self, delays: dict[str, float], fail: dict[str, Exception] | None = None) -> None:
        self.delays = delays
        self.fail = fail or {}
        self.started: list[str] = []
        self.ended: list[str] = []
        self.most = 0
        self._now = 0
        self._lock = threading.Lock()

    def __call__(self, name: str, record: fanout.Record, console: Console) -> int:
        with self._lock:
            self.started.append(name)
            self._now += 1
            self.most = max(self.most, self._now)
        try:
            console.info(f"{name}: reading")
            for part in range(3):
                console.result(f"{name} plan line {part}")
                time.sleep(self.delays[name] / 3)
                console.info(f"{name}: step {part}")
            if name in self.fail:
                raise self.fail[name]
            record.changes, record.result = f"+{len(name)} field", "planned"
            return 2 if name.endswith("*") else 0
        finally:
            with self._lock:
                self._now -= 1
                self.ended.append(name)


def _console() -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(out, err), out, err


def test_environments_run_at_once_and_print_whole_in_the_order_given() -> None:
    names = [f"env{i}" for i in range(6)]
    # The later an environment, the sooner it ends: the printing order must not follow the ending.
    step = Fake({name: 0.05 * (len(names) - i) for i, name in enumerate(names)})
    console, out, err = _console()
    rows = fanout.run_each(names, step, console, keep_going=False, parallel=3)

    assert step.most == 3, "three environments at a time"
    assert step.ended[0] != "env0"
    assert [row.env for row in rows] == names and fanout.exit_code(rows) == 0
    assert out.getvalue() == "".join(f"{name} plan line {part}\n" for name in names for part in range(3))
    lines = err.getvalue().splitlines()
    for name in names:  # each environment's messages together, in the order it wrote them
        start = lines.index(f"── {name} ──")
        assert lines[start + 1 : start + 5] == [f"{name}: reading", *(f"{name}: step {part}" for part in range(3))]
    blocks = [line for line in lines if line.startswith("── ")]
    assert blocks == [f"── {name} ──" for name in names]
    # Progress, outside the blocks: each start and each end.
    assert lines[0] == "Running on 6 environments, up to 3 at a time."
    assert sum(line.startswith("started: env") for line in lines) == 6
    done = [line for line in lines if line.startswith("done: ")]
    # (Two that end together may be noticed in either order: the count says the order.)
    assert sorted(line.split(":")[1].strip() for line in done) == names
    assert [line.rsplit("(", 1)[1] for line in done][-1] == "6 of 6 done, 0 running)"


def test_parallel_stops_starting_environments_after_a_failure_and_keeps_the_order_of_exit_codes() -> None:
    names = ["a", "b", "c", "d", "e"]
    # b fails first while a still runs; a fails later with another code: a's code is the run's,
    # being first in the order given. c, d, e never start.
    step = Fake(
        {"a": 0.3, "b": 0.03, "c": 0.01, "d": 0.01, "e": 0.01},
        fail={"a": PartialApplyError("half applied"), "b": RefusedError("refusing to push")},
    )
    console, out, err = _console()
    rows = fanout.run_each(names, step, console, keep_going=False, parallel=2)
    assert sorted(step.started) == ["a", "b"]
    assert [row.result for row in rows] == [
        "failed: half applied",
        "failed: refusing to push",
        *[fanout.SKIPPED] * 3,
    ]
    assert fanout.exit_code(rows) == 5
    assert "not starting the 3 environment(s) left after a failure" in err.getvalue()
    assert out.getvalue().splitlines() == [f"{name} plan line {part}" for name in "ab" for part in range(3)]
    assert "error: b: refusing to push" in err.getvalue()

    # Keep going: every environment runs; the first failure in the order given still decides.
    step = Fake({name: 0.01 for name in names}, fail={"d": RefusedError("refused"), "b": PartialApplyError("half")})
    rows = fanout.run_each(names, step, _console()[0], keep_going=True, parallel=2)
    assert sorted(step.started) == names
    assert [row.exit_code for row in rows] == [0, 5, 0, 3, 0] and fanout.exit_code(rows) == 5


def test_changes_found_in_parallel_is_exit_2() -> None:
    step = Fake({"a": 0.02, "b*": 0.01})
    rows = fanout.run_each(["a", "b*"], step, _console()[0], keep_going=False, parallel=2)
    assert [row.exit_code for row in rows] == [0, 2] and fanout.exit_code(rows) == 2


@pytest.mark.parametrize("parallel", [1, 4])
def test_kept_documents_make_one_json_document(parallel: int) -> None:
    def step(name: str, record: fanout.Record, console: Console) -> int:
        console.info(f"{name}: messages stay on stderr")
        if name == "broken":
            raise RefusedError("no token")
        console.result(json.dumps({"format_version": "1", "env": name}))
        record.changes, record.result = "+1 field", "planned"
        return 0

    console, out, err = _console()
    names = ["one", "broken", "two"]
    rows = fanout.run_each(names, step, console, keep_going=True, parallel=parallel, capture=True)
    assert out.getvalue() == "", "kept apart, not printed"
    assert "one: messages stay on stderr" in err.getvalue()
    document = json.loads(fanout.as_json(rows))
    assert document["format_version"] == "1" and document["exit_code"] == 3
    assert [(env["env"], env["exit_code"], env["result"]) for env in document["environments"]] == [
        ("one", 0, "planned"),
        ("broken", 3, "failed: no token"),
        ("two", 0, "planned"),
    ]
    assert [env["plan"] for env in document["environments"]] == [
        {"format_version": "1", "env": "one"},
        None,
        {"format_version": "1", "env": "two"},
    ]
    assert document["environments"][0]["changes"] == "+1 field" and document["environments"][1]["changes"] is None


def test_an_interrupted_parallel_run_lets_the_running_environments_end(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["a", "b", "c"]
    step = Fake({"a": 0.2, "b": 0.2, "c": 0.01})
    console, out, err = _console()
    real_wait = fanout.wait
    calls = 0

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(fanout, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fanout.run_each(names, step, console, keep_going=False, parallel=2)
    assert sorted(step.ended) == ["a", "b"], "both ran to their end; c never started"
    assert "waiting for a, b to end" in err.getvalue()
    assert "a plan line 2" in out.getvalue() and "b plan line 2" in out.getvalue()


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def refusing_server() -> Iterator[tuple[str, list[str]]]:
    """Impersonates a Directus that rejects the token (an error a real server gives only to a
    wrong token, here for every environment at once)."""
    requests: list[str] = []
    body = json.dumps(
        {"errors": [{"message": "Invalid user credentials.", "extensions": {"code": "INVALID_CREDENTIALS"}}]}
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            time.sleep(0.05)  # long enough for several environments to overlap
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url, requests


def test_plan_over_several_failing_environments_prints_one_json_document(
    project: Project, refusing_server: tuple[str, list[str]]
) -> None:
    url, requests = refusing_server
    names = [f"tenant{i}" for i in range(1, 7)]
    project.configure(**{name: url for name in names})
    for name in names:
        project.token(name, f"token-{name}")
    write(project, samples.base(), "Model")

    args = ["plan", "--format", "json", "--parallel", "3", *(f"--env={name}" for name in names)]
    kept_going = project.run(*args, "--keep-going")
    assert kept_going.code == 1, kept_going.output
    document = json.loads(kept_going.out)  # one document, not one per environment
    validate(document, "environments")
    validate(document)
    assert [env["env"] for env in document["environments"]] == names
    assert all(env["exit_code"] == 1 and env["plan"] is None for env in document["environments"])
    assert "the token was rejected (401)" in document["environments"][0]["result"]
    assert len(requests) >= len(names)

    stopped = project.run(*args)
    assert stopped.code == 1
    results = [env["result"] for env in json.loads(stopped.out)["environments"]]
    assert all(result.startswith("failed: ") for result in results[:3]), "three started at once"
    assert results[3:] == [fanout.SKIPPED] * 3, "none started after the first failure"
    assert "Summary:" in stopped.err and "Summary:" not in stopped.out


def test_push_in_parallel_needs_yes(project: Project) -> None:
    project.configure(a="http://127.0.0.1:9", b="http://127.0.0.1:9")
    result = project.run("push", "--env", "a", "--env", "b", "--parallel", "2")
    assert result.code == 1 and "--yes" in result.err
    assert project.run("push", "--env", "a", "--parallel", "0").code == 1
