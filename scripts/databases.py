#!/usr/bin/env python3
"""Private PostgreSQL and MariaDB servers for real Directus servers in tests, demo and matrix.

Each database server is a cluster of its own under a scratch folder, listening on a free
loopback port, started and stopped by its own PID: no system service, no Docker. The server
binaries come from Debian's packages (``postgresql``, ``mariadb-server``), which
``ensure_installed`` installs when they are missing (as root, without starting the
packages' own services).

One database server holds many Directus databases: ``create_database`` gives each Directus
server a fresh one, or a copy of a template database (a bootstrapped or seeded Directus),
which is much faster than bootstrapping again.

Command line (for trying things by hand):
    python scripts/databases.py install postgres mariadb
    python scripts/databases.py install postgis   # PostGIS for the installed PostgreSQL
    python scripts/databases.py run postgres      # start one, print its settings, wait for Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

log = logging.getLogger("databases")

# The databases Directus runs on here. "sqlite" needs no server of its own.
VENDORS = ("sqlite", "postgres", "mariadb")
SERVER_VENDORS = ("postgres", "mariadb")

# Debian packages that bring each server, and a binary that tells whether they are there.
_PACKAGES = {"postgres": ("postgresql",), "mariadb": ("mariadb-server", "mariadb-client")}
_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class DatabaseError(RuntimeError):
    """Installing, starting or using a database server failed."""


def check_vendor(vendor: str) -> str:
    if vendor not in VENDORS:
        raise DatabaseError(f"unknown database {vendor!r}: choose one of {', '.join(VENDORS)}")
    return vendor


# --------------------------------------------------------------------------------------------
# Installing the server binaries


def _postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them per major version)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name), reverse=True
    )
    if candidates:
        return candidates[0].parent
    on_path = shutil.which("postgres")
    return Path(on_path).resolve().parent if on_path else None


def _mariadb_binaries() -> dict[str, str] | None:
    names = {
        "server": ("mariadbd", "mysqld"),
        "install_db": ("mariadb-install-db", "mysql_install_db"),
        "client": ("mariadb", "mysql"),
        "dump": ("mariadb-dump", "mysqldump"),
    }
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
    found: dict[str, str] = {}
    for role, options in names.items():
        for name in options:
            if path := shutil.which(name, path=search):
                found[role] = path
                break
        else:
            return None
    return found


def _installed(vendor: str) -> bool:
    if vendor == "postgres":
        bindir = _postgres_bindir()
        return bindir is not None and (bindir / "initdb").is_file() and shutil.which("psql") is not None
    return _mariadb_binaries() is not None


def ensure_installed(vendor: str) -> None:
    """Install the Debian packages for ``vendor`` unless its binaries are already there."""
    check_vendor(vendor)
    if vendor == "sqlite" or _installed(vendor):
        return
    _apt_install(_PACKAGES[vendor], f"{vendor} is not installed")
    if not _installed(vendor):
        raise DatabaseError(f"installed {' '.join(_PACKAGES[vendor])} but its programs are still missing")


def _postgis_control() -> Path | None:
    bindir = _postgres_bindir()
    if bindir is None:
        return None
    return Path("/usr/share/postgresql") / bindir.parent.name / "extension" / "postgis.control"


def ensure_postgis() -> None:
    """Install PostGIS for the installed PostgreSQL (Debian's ``postgresql-<major>-postgis-3``)
    unless it is there: only for runs that ask for it (``CREATE EXTENSION postgis``)."""
    ensure_installed("postgres")
    control = _postgis_control()
    if control is not None and control.is_file():
        return
    bindir = _postgres_bindir()
    assert bindir is not None
    package = f"postgresql-{bindir.parent.name}-postgis-3"
    _apt_install((package,), "PostGIS is not installed")
    if control is None or not control.is_file():
        raise DatabaseError(f"installed {package} but {control} is still missing")


def _apt_install(packages: tuple[str, ...], missing: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise DatabaseError(f"{missing} and this is not a root Debian machine: install {' '.join(packages)} first")
    log.info("installing %s from Debian's packages", " ".join(packages))
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    # The packages' maintainer scripts would start a system service; policy-rc.d forbids that.
    policy = Path("/usr/sbin/policy-rc.d")
    created_policy = not policy.exists()
    if created_policy:
        policy.write_text("#!/bin/sh\n# directus-gitops: no services started by package installs\nexit 101\n")
        policy.chmod(0o755)
    try:
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        ):
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise DatabaseError(f"{' '.join(command)} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    finally:
        if created_policy:
            policy.unlink()


# --------------------------------------------------------------------------------------------
# Running a private server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Connection:
    """How a Directus server reaches one database (all it needs in its environment)."""

    client: str  # Directus's DB_CLIENT
    host: str
    port: int
    database: str
    user: str
    password: str = dataclasses.field(repr=False)

    def directus_env(self) -> dict[str, str]:
        return {
            "DB_CLIENT": self.client,
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_DATABASE": self.database,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
        }


class Service:
    """A server process of ours: ``start()`` it, or use it as a context manager, which ends it
    with ``close()``. Shared by the database servers and the Directus servers."""

    _process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> Self:
        if self._process is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class DatabaseServer(Service):
    """A private database server: ``start()``, ``create_database()``, ``stop()``.

    Subclasses say how to initialise the data folder, launch the server, run SQL and copy a
    database. The server runs in its own session, so ``stop()`` ends it (and anything it
    spawned) by its PID.
    """

    vendor: ClassVar[str]
    ready_timeout: ClassVar[float] = 60.0

    def __init__(self, root: Path | None = None) -> None:
        ensure_installed(self.vendor)
        # A folder of its own in /tmp, not under the caller's folder: a server that drops root
        # privileges must be able to reach it, and socket paths must stay short.
        self.root = Path(tempfile.mkdtemp(prefix=f"dg-{self.vendor}-", dir=root))
        self.port = 0
        self.user = "directus"
        self.password = secrets.token_urlsafe(16)
        self._process: subprocess.Popen[bytes] | None = None
        self._databases = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(port={self.port}, pid={self.pid})"

    def close(self) -> None:
        self.remove()

    def start(self) -> Self:
        if self._process is not None:
            raise DatabaseError(f"{self!r} is already running")
        started = time.monotonic()
        self._initialise()
        for attempt in range(3):  # a free port can be taken before the server binds it
            self.port = free_port()
            offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            with self.log_file.open("ab") as output:
                self._process = subprocess.Popen(
                    self._server_command(),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    **self._run_as(),
                )
            try:
                self._wait_until_ready()
                break
            except DatabaseError:
                self.stop()
                in_use = b"in use" in self.log_file.read_bytes()[offset:]
                if not in_use or attempt == 2:
                    raise
        try:
            self._after_start()
        except BaseException:
            self.stop()
            raise
        log.info("%s ready on 127.0.0.1:%d in %.1f s", self.vendor, self.port, time.monotonic() - started)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """End the server by its PID (gracefully, then by force) and remove its folder."""
        process, self._process = self._process, None
        if process is not None:
            for sig, wait in ((self._stop_signal, timeout), (signal.SIGKILL, 10.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
                deadline = time.monotonic() + wait
                while process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                if process.poll() is not None:
                    break
            else:
                raise DatabaseError(f"{self.vendor} server {process.pid} survived SIGKILL")
            # Children of the server (PostgreSQL's backends) share its process group.
            deadline = time.monotonic() + 10.0
            while _group_alive(process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def remove(self) -> None:
        """Stop the server and delete its data folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DatabaseError(
                    f"{self.vendor} exited with {self._process.returncode} while starting; "
                    f"end of {self.log_file}:\n{tail(self.log_file)}"
                )
            if self._ready():
                return
            time.sleep(0.1)
        raise DatabaseError(f"{self.vendor} not ready after {self.ready_timeout:.0f} s; see {self.log_file}")

    # -- databases -----------------------------------------------------------------------------

    def create_database(self, name: str | None = None, *, template: str | None = None) -> Connection:
        """A new, empty database (or a copy of ``template``) and how to reach it."""
        if self._process is None:
            raise DatabaseError(f"{self!r} is not running")
        self._databases += 1
        name = name or f"directus_{self._databases:03d}"
        for checked in (name, template):
            if checked is not None and not _NAME_PATTERN.fullmatch(checked):
                raise DatabaseError(f"not a safe database name: {checked!r}")
        if template is None:
            self._create(name)
        else:
            self._copy(template, name)
        return self.connection(name)

    def drop_database(self, name: str) -> None:
        if not _NAME_PATTERN.fullmatch(name):
            raise DatabaseError(f"not a safe database name: {name!r}")
        self._drop(name)

    def execute(self, database: str, sql: str) -> str:
        """Run ``sql`` in ``database`` as the server's superuser; return what it printed."""
        if not _NAME_PATTERN.fullmatch(database):
            raise DatabaseError(f"not a safe database name: {database!r}")
        return self._sql(sql, database)

    def connection(self, database: str) -> Connection:
        return Connection(self._client, "127.0.0.1", self.port, database, self.user, self.password)

    # -- what each server does differently ----------------------------------------------------

    _client: ClassVar[str]
    _stop_signal: ClassVar[signal.Signals] = signal.SIGTERM

    def _run_as(self) -> dict[str, object]:
        return {}

    def _initialise(self) -> None:
        raise NotImplementedError

    def _server_command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _after_start(self) -> None:
        """Create the user Directus connects as."""

    def _create(self, name: str) -> None:
        raise NotImplementedError

    def _copy(self, template: str, name: str) -> None:
        raise NotImplementedError

    def _drop(self, name: str) -> None:
        raise NotImplementedError

    def _sql(self, sql: str, database: str) -> str:
        raise NotImplementedError


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _checked(command: list[str], *, what: str, stdin: int | None = None, **kwargs: object) -> str:
    result = subprocess.run(command, stdin=stdin, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise DatabaseError(f"{what} failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-2000:]}")
    return str(result.stdout)


class PostgresServer(DatabaseServer):
    """A PostgreSQL cluster made by ``initdb`` and run by ``postgres`` directly.

    PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres``
    system user that Debian's package creates. Loopback connections are trusted (the
    cluster is private and listens on 127.0.0.1 only); Directus still sends a password.
    """

    vendor = "postgres"
    _client = "pg"
    _stop_signal = signal.SIGINT  # "fast" shutdown: disconnect clients, no waiting

    def __init__(self, root: Path | None = None) -> None:
        super().__init__(root)
        bindir = _postgres_bindir()
        assert bindir is not None  # ensure_installed checked
        self.bindir = bindir
        self.data = self.root / "data"
        self._os_user = _postgres_os_user()
        if self._os_user is not None:
            os.chown(self.root, self._os_user.pw_uid, self._os_user.pw_gid)

    def _run_as(self) -> dict[str, object]:
        if self._os_user is None:
            return {}
        return {"user": self._os_user.pw_uid, "group": self._os_user.pw_gid, "extra_groups": []}

    def _initialise(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        _checked(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            what="initdb",
            cwd=self.root,
            **self._run_as(),
        )

    def _server_command(self) -> list[str]:
        return [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"port={self.port}",
            "-c",
            f"unix_socket_directories={self.root}",
            "-c",
            "max_connections=200",
            # A scratch cluster: durability buys nothing and costs seconds per test.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]

    def _psql(self, sql: str, database: str = "postgres") -> str:
        return _checked(
            [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-tA",
                "-c",
                sql,
            ],
            what=f"psql {sql!r}",
            cwd=self.root,
        )

    def _sql(self, sql: str, database: str) -> str:
        return self._psql(sql, database)

    def _ready(self) -> bool:
        try:
            self._psql("SELECT 1")
        except DatabaseError:
            return False
        return True

    def _create(self, name: str) -> None:
        self._psql(f'CREATE DATABASE "{name}"')

    def _copy(self, template: str, name: str) -> None:
        # The template's last Directus connections can take a moment to close after the
        # server that used it stopped; PostgreSQL refuses to copy a database in use.
        deadline = time.monotonic() + 10.0
        while True:
            try:
                self._psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except DatabaseError as error:
                if "being accessed by other users" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _drop(self, name: str) -> None:
        self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_os_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise DatabaseError("running as root, but there is no 'postgres' user to run PostgreSQL as") from None


class MariaDBServer(DatabaseServer):
    """A MariaDB server made by ``mariadb-install-db`` and run by ``mariadbd`` directly."""

    vendor = "mariadb"
    _client = "mysql"

    def __init__(self, root: Path | None = None) -> None:
        super().__init__(root)
        binaries = _mariadb_binaries()
        assert binaries is not None  # ensure_installed checked
        self.binaries = binaries
        self.data = self.root / "data"
        self.socket = self.root / "mariadb.sock"

    def _common(self) -> list[str]:
        # --no-defaults: nothing from /etc/mysql (the system service's settings) applies.
        return ["--no-defaults"]

    def _initialise(self) -> None:
        (self.root / "tmp").mkdir(exist_ok=True)
        if (self.data / "mysql").is_dir():
            return
        user = ["--user=root"] if os.geteuid() == 0 else []
        _checked(
            [
                self.binaries["install_db"],
                *self._common(),
                f"--datadir={self.data}",
                *user,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            what="mariadb-install-db",
            cwd=self.root,
        )

    def _server_command(self) -> list[str]:
        user = ["--user=root"] if os.geteuid() == 0 else []
        return [
            self.binaries["server"],
            *self._common(),
            f"--datadir={self.data}",
            f"--socket={self.socket}",
            f"--pid-file={self.root / 'mariadb.pid'}",
            # Temporary tables in a folder of its own: several servers sharing /tmp have failed
            # with "Error on delete of '/tmp/#sql-temptable-…' (Errcode: 2)".
            f"--tmpdir={self.root / 'tmp'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            *user,
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--max-connections=300",
            # A scratch server: skip the flushes that make every DDL statement slow.
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--sync-binlog=0",
        ]

    def _mariadb(self, sql: str, *, database: str | None = None) -> str:
        command = [self.binaries["client"], *self._common(), f"--socket={self.socket}", "-uroot", "-N", "-B"]
        if database:
            command.append(database)
        return _checked([*command, "-e", sql], what=f"mariadb {sql!r}", cwd=self.root)

    def _sql(self, sql: str, database: str) -> str:
        return self._mariadb(sql, database=database)

    def _ready(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            self._mariadb("SELECT 1")
        except DatabaseError:
            return False
        return True

    def _after_start(self) -> None:
        self._mariadb(
            f"CREATE USER IF NOT EXISTS '{self.user}'@'%' IDENTIFIED BY '{self.password}';"
            f" GRANT ALL PRIVILEGES ON *.* TO '{self.user}'@'%' WITH GRANT OPTION;"
        )

    def _create(self, name: str) -> None:
        self._mariadb(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    def _copy(self, template: str, name: str) -> None:
        self._create(name)
        dump = subprocess.Popen(
            [
                self.binaries["dump"],
                *self._common(),
                f"--socket={self.socket}",
                "-uroot",
                "--single-transaction",
                "--routines",
                "--triggers",
                template,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.root,
        )
        assert dump.stdout is not None
        load = subprocess.run(
            [self.binaries["client"], *self._common(), f"--socket={self.socket}", "-uroot", name],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
        )
        dump.stdout.close()
        dump_error = dump.stderr.read().decode(errors="replace") if dump.stderr else ""
        if dump.wait() != 0 or load.returncode != 0:
            raise DatabaseError(f"copying database {template} to {name} failed: {dump_error}{load.stderr}"[-2000:])

    def _drop(self, name: str) -> None:
        self._mariadb(f"DROP DATABASE IF EXISTS `{name}`")


_SERVERS: Mapping[str, Callable[[Path | None], DatabaseServer]] = {
    "postgres": PostgresServer,
    "mariadb": MariaDBServer,
}


def database_server(vendor: str, root: Path | None = None) -> DatabaseServer:
    """A (not yet started) private server for ``vendor`` ("postgres" or "mariadb")."""
    check_vendor(vendor)
    if vendor not in _SERVERS:
        raise DatabaseError(f"{vendor} needs no database server")
    return _SERVERS[vendor](root)


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    install_parser = commands.add_parser("install", help="install the database servers' Debian packages if missing")
    install_parser.add_argument("vendors", nargs="+", choices=(*VENDORS, "postgis"))
    run_parser = commands.add_parser("run", help="start a private server, print its settings, stop on Ctrl-C")
    run_parser.add_argument("vendor", choices=SERVER_VENDORS)
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        if arguments.command == "install":
            for vendor in arguments.vendors:
                if vendor == "postgis":
                    ensure_postgis()
                else:
                    ensure_installed(vendor)
                log.info("%s: ready", vendor)
        else:
            server = database_server(arguments.vendor)
            with server:
                connection = server.create_database("directus")
                for name, value in connection.directus_env().items():
                    print(f"{name}={value}")
                print(f"# pid {server.pid}; Ctrl-C stops it", flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    signal.pause()
            server.remove()
    except DatabaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
