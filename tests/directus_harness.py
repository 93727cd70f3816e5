"""Real Directus servers for the tests.

Register the fixture for every test in ``tests/conftest.py`` with
``pytest_plugins = ["tests.directus_harness"]``, or import what you need from here.

Servers start from template databases, bootstrapped (and seeded with the demo model) once per
version and database per test session, so a new server costs a copy and a start (2-3 s)
instead of a bootstrap too. PostgreSQL and MariaDB run as one private server each per session
(started on first use), holding one database per Directus server. Nothing here skips: a server
that cannot be installed or started fails the test.

Which Directus versions and databases the real-server tests run on ("cells"):
``$DIRECTUS_VERSIONS`` × ``$DIRECTUS_DATABASES`` when either is set (space or comma separated;
the other defaults to 12.4.1 or sqlite), else ``$DIRECTUS_CELLS`` ("12.4.1:postgres ..."),
else 12.4.1 on SQLite.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

# scripts/ is not a package: the server and model helpers are also run as plain scripts.
_SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
if str(_SCRIPTS) not in sys.path:
    sys.path.insert(0, str(_SCRIPTS))

import databases  # noqa: E402
import demo_model  # noqa: E402
import matrix  # noqa: E402
from directus_server import DirectusServer, Template, build_template, cache_root  # noqa: E402

__all__ = [
    "DEFAULT_VERSIONS",
    "ServerPool",
    "cells_under_test",
    "databases",
    "demo_model",
    "directus_pool",
    "matrix",
    "versions_under_test",
]

DEFAULT_VERSIONS = ("12.4.1",)
DEFAULT_DATABASES = ("sqlite",)


def _words(variable: str) -> list[str]:
    return [word for word in re.split(r"[\s,]+", os.environ.get(variable, "")) if word]


def cells_under_test() -> list[tuple[str, str]]:
    """The (Directus version, database) pairs the real-server tests run on."""
    versions, vendors = _words("DIRECTUS_VERSIONS"), _words("DIRECTUS_DATABASES")
    if versions or vendors:
        cells = [(v, d) for v in versions or DEFAULT_VERSIONS for d in vendors or DEFAULT_DATABASES]
    elif cell_words := _words("DIRECTUS_CELLS"):
        cells = []
        for word in cell_words:
            version, _, vendor = word.partition(":")
            cells.append((version, vendor or "sqlite"))
    else:
        cells = [(v, d) for v in DEFAULT_VERSIONS for d in DEFAULT_DATABASES]
    for _, vendor in cells:
        databases.check_vendor(vendor)
    return list(dict.fromkeys(cells))


def versions_under_test() -> list[str]:
    """The Directus versions among the cells, in order."""
    return list(dict.fromkeys(version for version, _ in cells_under_test()))


class ServerPool:
    """Starts servers under ``root`` and stops them all in ``close_all``.

    Each server holds about 250 MB of memory until stopped: a fixture that is done with one
    should ``stop()`` it rather than leave it to ``close_all`` at the end of the session.
    """

    def __init__(self, root: Path, cache: Path | None = None) -> None:
        self.root = Path(root)
        # Resolved now: tests may point HOME (the default cache's parent) elsewhere later.
        self.cache = cache if cache is not None else cache_root()
        self._templates: dict[tuple[str, str, bool], Template] = {}
        self._servers: list[DirectusServer] = []
        self._databases: dict[str, databases.DatabaseServer] = {}
        # scripts/acceptance.py starts servers from several threads: a template is built once,
        # and each server gets its own number and its own copy of the template database
        # (PostgreSQL refuses two copies of one template at once).
        self._lock = threading.RLock()
        self._numbered = 0

    def database_server(self, vendor: str) -> databases.DatabaseServer:
        """The session's private PostgreSQL or MariaDB server, started on first use."""
        with self._lock:
            if vendor not in self._databases:
                self._databases[vendor] = databases.database_server(vendor).start()
            return self._databases[vendor]

    def template(self, version: str, seeded: bool, vendor: str = "sqlite") -> Template:
        """The session's template database for ``version`` on ``vendor``, built on first use."""
        with self._lock:
            key = (version, vendor, seeded)
            if key not in self._templates:
                kind = "seeded" if seeded else "empty"
                folder = self.root / "templates" / f"{version}-{vendor}-{kind}"
                connection = None
                if vendor != "sqlite":
                    name = f"tpl_{version.replace('.', '_').replace('-', '_')}_{kind}".lower()
                    connection = self.database_server(vendor).create_database(name)
                self._templates[key] = build_template(
                    version, folder, seed=demo_model.seed if seeded else None, cache=self.cache, connection=connection
                )
            return self._templates[key]

    def new_server(
        self,
        version: str,
        seeded: bool = False,
        *,
        vendor: str = "sqlite",
        max_payload_size: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> DirectusServer:
        """A running server of its own: empty, or holding the demo model when ``seeded``."""
        with self._lock:
            template = self.template(version, seeded, vendor)
            self._numbered += 1
            number = self._numbered
            workdir = self.root / "servers" / f"{number:03d}-{version}-{vendor}"
            connection = None
            if template.connection is not None:
                connection = self.database_server(vendor).create_database(
                    f"server_{number:03d}", template=template.connection.database
                )
        server = DirectusServer(
            version,
            workdir,
            template=template,
            connection=connection,
            cache=self.cache,
            max_payload_size=max_payload_size,
            env=env,
        )
        with self._lock:
            self._servers.append(server)
        return server.start()

    def execute_sql(self, server: DirectusServer, sql: str) -> None:
        """Run ``sql`` on ``server``'s database, behind Directus's back."""
        if server.connection is None:
            with contextlib.closing(sqlite3.connect(server.database)) as database, database:
                database.execute(sql)
        else:
            self.database_server(server.vendor).execute(server.connection.database, sql)

    def close_all(self) -> None:
        """Stop every server started here (those already stopped are skipped), then the
        database servers."""
        failures: list[Exception] = []
        while self._servers:
            try:
                self._servers.pop().stop()
            except Exception as error:  # stop the others before reporting
                failures.append(error)
        while self._databases:
            try:
                self._databases.popitem()[1].remove()
            except Exception as error:
                failures.append(error)
        if failures:
            raise failures[0]


_POOL = pytest.StashKey[ServerPool]()


@pytest.fixture(scope="session")
def directus_pool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ServerPool:
    """The session's one ServerPool, whichever module registered the fixture."""
    # Kept on the pytest config so that a test module importing this fixture and a conftest
    # registering it share the pool (and its templates) instead of building two.
    stash = request.config.stash
    if _POOL not in stash:
        pool = ServerPool(tmp_path_factory.mktemp("directus"))
        stash[_POOL] = pool
        request.config.add_cleanup(pool.close_all)
    return stash[_POOL]
