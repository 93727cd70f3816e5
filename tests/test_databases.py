"""Private PostgreSQL and MariaDB servers: started by the project, stopped by their PID."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.directus_harness import databases

pytestmark = pytest.mark.directus  # real database servers, like the real-server tests


def _processes_in_group(pgid: int) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pgid=,pid=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if line.split() and line.split()[0] == str(pgid)]


@pytest.mark.parametrize("vendor", databases.SERVER_VENDORS)
def test_a_private_server_starts_copies_and_leaves_nothing_behind(vendor: str) -> None:
    server = databases.database_server(vendor)
    with server:
        pid = server.pid
        assert pid is not None
        first = server.create_database()
        server.execute(first.database, "CREATE TABLE probe (id INTEGER PRIMARY KEY)")
        server.execute(first.database, "INSERT INTO probe (id) VALUES (42)")
        copy = server.create_database(template=first.database)
        assert copy.database != first.database
        assert server.execute(copy.database, "SELECT id FROM probe").split() == ["42"]
        assert copy.directus_env()["DB_PORT"] == str(server.port)
        assert copy.directus_env()["DB_CLIENT"] == {"postgres": "pg", "mariadb": "mysql"}[vendor]
        assert _processes_in_group(pid), "the server runs in a process group of its own"
        root = server.root

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _processes_in_group(pid) == []
    assert not root.exists()


def test_unsafe_database_names_are_refused() -> None:
    server = databases.database_server("postgres")
    with server, pytest.raises(databases.DatabaseError, match="not a safe database name"):
        server.create_database("x; DROP DATABASE postgres")


def test_an_unknown_database_is_named() -> None:
    with pytest.raises(databases.DatabaseError, match="unknown database 'oracle'"):
        databases.check_vendor("oracle")
