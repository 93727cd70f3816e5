"""What a server answers is read as strictly as the files: a snapshot ``check`` would refuse,
a JSON key given twice or JSON nested past what the tool reads is refused by ``pull`` (which
then writes and remembers nothing), ``status`` and ``plan``, as one line naming the server.

A small HTTP server stands in for Directus: no real server answers like this. The client's
own handling of every endpoint is in tests/test_client.py.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from directus_gitops.files import pullcache, store
from tests.conftest import Project, Result
from tests.test_pull_cache import FakeDirectus


@pytest.fixture
def directus() -> Iterator[FakeDirectus]:
    with FakeDirectus.running() as fake:
        yield fake


@pytest.fixture
def crash_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a crash would leave its log (the CLI's last resort for a bug)."""
    folder = tmp_path / "crash-logs"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --------------------------------------------------------------------------- the answers


def _field(snapshot: dict[str, Any]) -> dict[str, Any]:
    return next(entry for entry in snapshot["fields"] if entry["field"] != "id")


def bogus_type(snapshot: dict[str, Any]) -> bytes:
    field = _field(snapshot)
    field["type"] = "bogus_type"
    field["schema"]["is_nullable"] = "yes"
    return json.dumps({"data": snapshot}).encode()


def version_999(snapshot: dict[str, Any]) -> bytes:
    snapshot["version"] = 999
    return json.dumps({"data": snapshot}).encode()


def duplicate_key(snapshot: dict[str, Any]) -> bytes:
    text = json.dumps({"data": snapshot})
    assert '"type": "integer"' in text
    return text.replace('"type": "integer"', '"type": "integer", "type": "string"', 1).encode()


def nested_200000_deep(snapshot: dict[str, Any]) -> bytes:
    depth = 200_000
    return b'{"data": {"version": 1, "collections": ' + b"[" * depth + b"]" * depth + b"}}"


def options_150_deep(snapshot: dict[str, Any]) -> bytes:
    # Deep enough for the tool's recursive code, not for the JSON decoder: only the limit stops it.
    value: Any = "bottom"
    for _ in range(150):
        value = {"nested": value}
    _field(snapshot)["meta"]["options"] = value
    return json.dumps({"data": snapshot}).encode()


ANSWERS: dict[str, tuple[Callable[[dict[str, Any]], bytes], list[str]]] = {
    "bogus type": (
        bogus_type,
        [
            "answered with a snapshot `check` refuses: ",
            "type 'bogus_type' is not a Directus field type",
            "schema.is_nullable must be true or false, not 'yes'",
        ],
    ),
    "version 999": (version_999, ["snapshot version 999 is not one Directus accepts"]),
    "duplicate key": (duplicate_key, ["answered with invalid JSON: duplicate key 'type'"]),
    "200,000 deep": (nested_200000_deep, ["answered with JSON nested more than 100 levels deep"]),
    "150 deep": (options_150_deep, ["answered with JSON nested more than 100 levels deep"]),
}


def assert_refused(result: Result, directus: FakeDirectus, expected: list[str], crash_logs: Path) -> None:
    assert result.code == 1, result.output
    assert "Traceback" not in result.output and "unexpected" not in result.output
    assert list(crash_logs.iterdir()) == []
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    assert errors[0].startswith(f"error: GET /schema/snapshot: {directus.url} answered with"), result.err
    for fragment in expected:
        assert fragment in errors[0], result.err


def everything(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under the project and in git's directory for directus-gitops."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == ".git" and relative.parts[:2] != (".git", "directus-gitops"):
            continue
        found[relative.as_posix()] = path.read_bytes() if path.is_file() else None
    return found


# --------------------------------------------------------------------------- pull


@pytest.mark.parametrize("before", ["no schema folder", "a previous pull"])
@pytest.mark.parametrize("answer", list(ANSWERS))
def test_pull_refuses_the_answer_and_changes_nothing(
    project: Project, directus: FakeDirectus, crash_logs: Path, answer: str, before: str
) -> None:
    project.configure(dev=directus.url)
    project.token("dev", "t")
    if before == "a previous pull":
        assert project.run("pull").code == 0
        assert pullcache.load(project.schema) is not None
    else:
        assert not project.schema.exists()
    files = everything(project.root)
    damage, expected = ANSWERS[answer]
    directus.body = damage(copy.deepcopy(directus.snapshot))

    assert_refused(project.run("pull"), directus, expected, crash_logs)
    assert everything(project.root) == files  # no file, half-written or not, and no record

    # The record still stands for the last answer written: the same answer again is known.
    directus.body = None
    again = project.run("pull")
    assert again.code == 0, again.output
    assert ("nothing changed" in again.err) == (before == "a previous pull"), again.err


@pytest.mark.parametrize("answer", ["bogus type", "version 999"])
def test_pull_refuses_what_check_refuses_in_the_files(
    project: Project, directus: FakeDirectus, crash_logs: Path, tmp_path: Path, answer: str
) -> None:
    damage, _ = ANSWERS[answer]
    damaged = json.loads(damage(copy.deepcopy(directus.snapshot)))["data"]
    written = tmp_path / "written"
    store.write_tree(written, store.render(damaged))  # what pull used to write
    checked = project.run("check", str(written))
    assert checked.code == 1
    found = [line.split(": ", 1)[1] for line in checked.err.splitlines() if line.startswith(f"{written}/")]
    assert found, checked.err

    project.configure(dev=directus.url)
    project.token("dev", "t")
    directus.body = damage(copy.deepcopy(directus.snapshot))
    assert_refused(project.run("pull"), directus, found, crash_logs)


# --------------------------------------------------------------------------- status and plan


@pytest.fixture
def committed(project: Project, directus: FakeDirectus) -> Project:
    project.configure(dev=directus.url)
    project.token("dev", "t")
    assert project.run("pull", "--commit").code == 0
    return project


@pytest.mark.parametrize("answer", ["bogus type", "duplicate key", "200,000 deep"])
def test_status_reports_the_answer_as_the_environments_error(
    committed: Project, directus: FakeDirectus, crash_logs: Path, answer: str
) -> None:
    damage, expected = ANSWERS[answer]
    directus.body = damage(copy.deepcopy(directus.snapshot))
    result = committed.run("status")
    assert result.code == 1, result.output
    assert "Traceback" not in result.output and "unexpected" not in result.output
    assert list(crash_logs.iterdir()) == []
    row = next(line for line in result.out.splitlines() if line.strip().startswith("dev"))
    assert f"error: GET /schema/snapshot: {directus.url} answered with" in row, result.out
    for fragment in expected:
        assert fragment in row, result.out


@pytest.mark.parametrize("answer", ["bogus type", "version 999", "duplicate key", "200,000 deep"])
def test_plan_refuses_a_target_whose_answer_check_would_refuse(
    committed: Project, directus: FakeDirectus, crash_logs: Path, answer: str
) -> None:
    directus.data["/server/info"] = {"version": "12.0.0"}  # another release: the target is read in full
    damage, expected = ANSWERS[answer]
    directus.body = damage(copy.deepcopy(directus.snapshot))
    assert_refused(committed.run("plan"), directus, expected, crash_logs)
