"""One push at a time per target: the lock on the target itself (lock.py).

The default suite races pushes on one Directus 12.4.1 SQLite server (2 races) and proves
the lock's create atomic there; ``make race`` runs the full proof: 10 races and 16
simultaneous creates on SQLite, PostgreSQL and MariaDB (DIRECTUS_LOCK_RACES,
DIRECTUS_LOCK_DATABASES).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import demo_model
import httpx
import pytest

from directus_gitops.base.errors import RefusedError
from directus_gitops.files import store
from directus_gitops.model.config import Target
from directus_gitops.server import lock
from directus_gitops.server.client import DirectusClient
from tests.conftest import Project
from tests.directus_harness import ServerPool
from tests.test_push_failures import with_extra_collections

if TYPE_CHECKING:
    from directus_server import DirectusServer

VERSION = "12.4.1"
RACES = int(os.environ.get("DIRECTUS_LOCK_RACES", "2"))
DATABASES = os.environ.get("DIRECTUS_LOCK_DATABASES", "sqlite").split()
TOKEN = "lock-token-never-shown"


# --------------------------------------------------------------------------- a fake server


class FakeFolders:
    """Directus's /folders as far as the lock uses it: a create with a taken key is refused."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        key = request.url.path.rpartition("/")[2]
        if request.method == "POST":
            body = json.loads(request.content)
            if body["id"] in self.rows:
                error = {
                    "message": "Value for field 'id' has to be unique.",
                    "extensions": {"code": "RECORD_NOT_UNIQUE"},
                }
                return httpx.Response(400, json={"errors": [error]})
            self.rows[body["id"]] = body["name"]
            return httpx.Response(200, json={"data": body})
        if key in self.rows and request.method == "GET":
            return httpx.Response(200, json={"data": {"id": key, "name": self.rows[key]}})
        if key in self.rows and request.method == "DELETE":
            del self.rows[key]
            return httpx.Response(204)
        return httpx.Response(403, json={"errors": [{"message": "forbidden", "extensions": {"code": "FORBIDDEN"}}]})


@pytest.fixture
def folders() -> FakeFolders:
    return FakeFolders()


def fake_client(folders: FakeFolders) -> DirectusClient:
    return DirectusClient(
        Target("prod", "http://directus.test", "DIRECTUS_PROD_TOKEN", TOKEN, 5), httpx.MockTransport(folders)
    )


def test_a_held_lock_refuses_with_exit_3_naming_holder_and_since(folders: FakeFolders) -> None:
    with fake_client(folders) as first, fake_client(folders) as second:
        mine = lock.acquire(first, "push of main (abc)")
        with pytest.raises(RefusedError) as refused:
            lock.acquire(second, "push of other (def)")
        assert refused.value.exit_code == 3
        assert f"held by {mine.who} since {mine.since} (push of main (abc))" in refused.value.message
        assert "directus-gitops unlock --env prod" in (refused.value.hint or "")
        lock.release(first)
        assert folders.rows == {}
        lock.acquire(second, "push of other (def)")  # free again


def test_waiting_is_bounded_and_takes_the_lock_once_it_is_free(folders: FakeFolders) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        if now[0] >= 5:  # the holder finishes after 5 s
            folders.rows.clear()

    with fake_client(folders) as holder, fake_client(folders) as waiter:
        lock.acquire(holder, "first")
        told: list[str] = []
        lock.acquire(waiter, "second", wait=30, info=told.append, clock=lambda: now[0], sleep=sleep)
        assert 5 <= now[0] < 30 and len(told) == 1 and "waiting up to 30 s" in told[0]
        folders.rows.clear()
        lock.acquire(holder, "first")
        now[0] = 0.0
        with pytest.raises(RefusedError):
            lock.acquire(waiter, "second", wait=3, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
        assert now[0] == pytest.approx(3)


@pytest.mark.parametrize("wait", [0.0, 20.0])
def test_a_lock_refused_but_never_readable_backs_off_and_ends_within_the_wait(
    folders: FakeFolders, wait: float
) -> None:
    """Measured: a server answering RECORD_NOT_UNIQUE to the create and 403 to the read made
    a push send about 420 requests in 20 s and never stop."""

    def odd(request: httpx.Request) -> httpx.Response:
        folders.requests.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            error = {"message": "unique", "extensions": {"code": "RECORD_NOT_UNIQUE"}}
            return httpx.Response(400, json={"errors": [error]})
        return httpx.Response(403, json={"errors": [{"message": "forbidden", "extensions": {"code": "FORBIDDEN"}}]})

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    client = DirectusClient(
        Target("prod", "http://directus.test", "DIRECTUS_PROD_TOKEN", TOKEN, 5), httpx.MockTransport(odd)
    )
    with client, pytest.raises(RefusedError) as refused:
        lock.acquire(client, "push", wait=wait, clock=lambda: now[0], sleep=sleep)
    assert "its holder cannot be read" in refused.value.message
    assert now[0] <= wait + 2 * lock.POLL_SECONDS  # ends within the wait (the last pause aside)
    assert len(folders.requests) <= 2 * (lock.UNSEEN_RETRIES + 1 + wait)  # a few tries a second at most
    assert slept == sorted(slept) and max(slept) <= lock.POLL_SECONDS  # each pause longer, none long


def test_the_lock_is_released_on_every_way_out(folders: FakeFolders) -> None:
    with fake_client(folders) as client:
        for error in (RuntimeError("boom"), KeyboardInterrupt()):
            with pytest.raises(type(error)), lock.held(client, "push"):
                assert len(folders.rows) == 1
                raise error
            assert folders.rows == {}


def test_a_name_that_is_not_ours_is_still_shown() -> None:
    assert lock.parse_name("something else").who == "something else"
    holder = lock.Holder("ci@runner pid 7, GitHub run 42", "2026-01-02T03:04:05+00:00", "push of HEAD (0123456789)")
    assert lock.parse_name(lock.record_name(holder)) == holder


# --------------------------------------------------------------------------- real servers


def _atomic_creates(url: str, token: str, count: int = 16) -> list[bool]:
    """``count`` clients create the lock's row at the same moment."""
    barrier = threading.Barrier(count)
    results: list[bool] = []

    def create() -> None:
        with DirectusClient(Target("prod", url, "DIRECTUS_PROD_TOKEN", token, 60)) as client:
            barrier.wait()
            results.append(client.create_lock_record(lock.LOCK_ID, f"racer {threading.get_ident()}"))

    threads = [threading.Thread(target=create) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture(scope="module", params=DATABASES)
def server(request: pytest.FixtureRequest, directus_pool: ServerPool) -> Iterator[DirectusServer]:
    """One seeded server per database for the whole module: the tests below run in order on it."""
    with directus_pool.new_server(VERSION, seeded=True, vendor=request.param) as started:
        yield started


def test_creating_the_lock_row_is_atomic_and_leaves_no_trace_in_the_schema(server: DirectusServer) -> None:
    before = demo_model.snapshot(server.url, server.token)
    results = _atomic_creates(server.url, server.token)
    assert sorted(results) == [False] * 15 + [True], "exactly one of 16 simultaneous creates wins"
    with DirectusClient(Target("prod", server.url, "DIRECTUS_PROD_TOKEN", server.token, 60)) as client:
        holder = lock.current(client)
        assert holder is not None and holder.who.startswith("racer ")
        assert demo_model.snapshot(server.url, server.token) == before, "the lock is data, never schema"
        lock.release(client)
        assert lock.current(client) is None
        assert client.create_lock_record(lock.LOCK_ID, "again")  # free once released
        lock.release(client)


def _push(project: Project, ref: str) -> subprocess.Popen[str]:
    """A push in a process of its own, as a CI job would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "directus_gitops", "push", "--env", "prod", "--ref", ref, "--yes"],
        cwd=project.root,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_racing_pushes_apply_exactly_one(project: Project, server: DirectusServer) -> None:
    project.configure(prod=server.url)
    project.token("prod", server.token)
    assert project.run("pull", "--env", "prod").code == 0
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "Base")
    project.git("tag", "base")
    base = store.load_path(project.schema).snapshot
    for branch, extra in (("a", 1), ("b", 2)):  # two different commits: one or two more collections
        project.git("checkout", "--quiet", "-b", branch, "base")
        store.write_tree(project.schema, store.render(with_extra_collections(base, extra)))
        project.git("add", "schema")
        project.git("commit", "--quiet", "-m", f"Commit {branch}")
    project.git("checkout", "--quiet", "base")

    for race in range(RACES):
        reset = project.run("push", "--env", "prod", "--ref", "base", "--yes", "--allow-data-loss")
        assert reset.code == 0, reset.output
        racers = {ref: _push(project, ref) for ref in ("a", "b")}
        done = {ref: process.communicate(timeout=600) for ref, process in racers.items()}
        codes = {ref: process.returncode for ref, process in racers.items()}
        assert sorted(codes.values()) == [0, 3], f"race {race}: {codes} {done}"
        winner = next(ref for ref, code in codes.items() if code == 0)
        loser = next(ref for ref, code in codes.items() if code == 3)
        refusal = done[loser][1]
        assert "'prod' is locked by another push: held by " in refusal and " since 20" in refusal, refusal
        assert f"push of {winner} (" in refusal, "the refusal names what the holder pushes"
        assert "Applying" not in refusal and server.token not in refusal
        # The target is exactly the winner's commit, and no lock is left behind.
        assert project.run("plan", "--env", "prod", "--ref", winner, "--exit-code").code == 0, f"race {race}"
        with DirectusClient(Target("prod", server.url, "DIRECTUS_PROD_TOKEN", server.token, 60)) as client:
            assert lock.current(client) is None, f"race {race}: a lock was left behind"


def test_a_lock_left_by_a_killed_run_blocks_pushes_until_unlocked(project: Project, server: DirectusServer) -> None:
    project.configure(prod=server.url)
    project.token("prod", server.token)
    assert project.run("pull", "--env", "prod").code == 0
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "As the server is")
    snapshot = store.load_path(project.schema).snapshot
    tags = next(entry for entry in snapshot["collections"] if entry["collection"] == "tags")
    tags["meta"]["note"] = "Changed while a lock was left behind"
    store.write_tree(project.schema, store.render(snapshot))
    project.git("commit", "--quiet", "-am", "A new note")
    with DirectusClient(Target("prod", server.url, "DIRECTUS_PROD_TOKEN", server.token, 60)) as client:
        killed = lock.acquire(client, "push of main (0123456789)")  # and never released

    refused = project.run("push", "--env", "prod", "--yes", "--lock-timeout", "3")
    assert refused.code == 3, refused.output
    assert f"held by {killed.who} since {killed.since} (push of main (0123456789))" in refused.err
    assert "waiting up to 3 s" in refused.err
    assert "unlock --env prod" in refused.err
    assert project.run("push", "--env", "prod", "--dry-run").code == 0, "a dry run needs no lock"

    no_tty = project.run("unlock", "--env", "prod")
    assert no_tty.code == 3 and killed.since in no_tty.err, no_tty.output
    broken = project.run("unlock", "--env", "prod", "--yes")
    assert broken.code == 0, broken.output
    assert f"Broke the lock on 'prod' (held by {killed.who} since {killed.since}" in broken.err
    assert project.run("unlock", "--env", "prod", "--yes").err.strip() == "'prod' is not locked: nothing to do."

    pushed = project.run("push", "--env", "prod", "--yes")
    assert pushed.code == 0, pushed.output
    assert project.run("plan", "--env", "prod", "--exit-code").code == 0
    with DirectusClient(Target("prod", server.url, "DIRECTUS_PROD_TOKEN", server.token, 60)) as client:
        assert lock.current(client) is None


def test_a_holder_name_from_the_server_reaches_the_terminal_without_control_characters(
    folders: FakeFolders, capsys: pytest.CaptureFixture[str]
) -> None:
    from directus_gitops.base.console import Console

    folders.rows[lock.LOCK_ID] = "directus-gitops push lock | held by \x1b[2J\x07me\nerror: forged line | since now"
    with fake_client(folders) as client, pytest.raises(RefusedError) as refused:
        lock.acquire(client, "push")
    Console().error(refused.value.message)
    shown = capsys.readouterr().err
    assert "\x1b" not in shown and "\x07" not in shown
    assert shown.count("\n") == 1 and shown.count("error:") == 2  # ours, and the forged one inside the line
    assert "\\x1b[2J\\x07me\\nerror: forged line" in shown
