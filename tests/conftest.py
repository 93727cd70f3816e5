"""Shared fixtures: real Directus servers, scratch git projects, and running the CLI."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

from directus_gitops.cli import main as cli_main
from tests.directus_harness import ServerPool, cells_under_test, directus_pool

if TYPE_CHECKING:
    from directus_server import DirectusServer

__all__ = ["directus_pool"]  # the fixture, registered for every test module

# The property tests draw the same examples on every run (derived from each test), so a run of the
# suite, CI's above all, passes or fails by the code alone. `make test-properties` draws new ones
# (HYPOTHESIS_PROFILE=explore); a case it finds goes into the test as an @example.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "directus_cell" in metafunc.fixturenames:
        cells = cells_under_test()
        metafunc.parametrize("directus_cell", cells, ids=[f"{v}-{d}" for v, d in cells], scope="session")


@pytest.fixture(scope="session")
def directus_version(directus_cell: tuple[str, str]) -> str:
    """The Directus version of this test's cell."""
    return directus_cell[0]


@pytest.fixture(scope="session")
def directus_database(directus_cell: tuple[str, str]) -> str:
    """The database of this test's cell: sqlite, postgres or mariadb."""
    return directus_cell[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything that starts a server is a real-server test, so `-m "not directus"` leaves it out.
    for item in items:
        if "directus_pool" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.directus)


@pytest.fixture(autouse=True)
def _pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Deterministic commits, and no influence from the machine's git configuration."""
    # HOME stays: the Directus cache lives under it.
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path_factory.mktemp("git") / "config"))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.invalid")
        monkeypatch.setenv(f"GIT_{role}_DATE", "2026-01-01T00:00:00+00:00")
    for name in ("DIRECTUS_URL", "DIRECTUS_TOKEN", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@dataclass
class Project:
    """A scratch git repository using directus-gitops, and a way to run the CLI in it."""

    root: Path
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    @property
    def schema(self) -> Path:
        return self.root / "schema"

    def configure(self, **environments: str) -> None:
        lines = ["environments:"] + [f"  {name}: {{url: '{url}'}}" for name, url in environments.items()]
        (self.root / "directus-gitops.yaml").write_text("\n".join(lines) + "\n")
        self.git("add", "directus-gitops.yaml", ".gitignore")
        self.git("commit", "--quiet", "-m", "Configure directus-gitops")

    def token(self, env: str, token: str) -> None:
        self.monkeypatch.setenv(f"DIRECTUS_{env.upper()}_TOKEN", token)

    def run(self, *args: str) -> Result:
        self.capsys.readouterr()
        self.monkeypatch.chdir(self.root)
        try:
            cli_main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    root = tmp_path / "project"
    root.mkdir()
    result = Project(root, capsys, monkeypatch)
    result.git("init", "--quiet", "--initial-branch=main")
    (root / ".gitignore").write_text(".directus-gitops/\n")
    yield result


@pytest.fixture
def seeded(directus_pool: ServerPool, directus_version: str, directus_database: str) -> Iterator[DirectusServer]:
    """A server of its own holding the demo model, stopped after the test."""
    with directus_pool.new_server(directus_version, seeded=True, vendor=directus_database) as server:
        yield server


@pytest.fixture
def empty(directus_pool: ServerPool, directus_version: str, directus_database: str) -> Iterator[DirectusServer]:
    """A freshly bootstrapped server with no collections, stopped after the test."""
    with directus_pool.new_server(directus_version, seeded=False, vendor=directus_database) as server:
        yield server


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    sock.close()


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that records every request (and fails it): proof that none was sent."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            requests.append(f"{self.command} {self.path}")
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PATCH = do_DELETE = _any

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url, requests


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A local HTTP server answering with ``handler``, for the length of the block: its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
