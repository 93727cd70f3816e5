#!/usr/bin/env python3
"""Push real-world snapshot files into fresh Directus servers and see where each one ends.

The files are not part of the project (they belong to their authors): point the script at a
folder of snapshot files (``*.yaml``/``*.json``, as ``directus schema snapshot`` writes them)::

    python scripts/acceptance.py /path/to/snapshots [--jobs 2] [--only own-major own-db 12.4.1]

Each file is pushed (``push --from FILE --yes``, the target's ``accept_releases`` naming the
file's release, as the tool's hint for another release says) into an empty server of:

- **own-major**: the supported release of the file's own major version, on SQLite;
- **own-db**: the same release on the file's own database (MySQL files on MariaDB);
- **12.4.1**: Directus 12.4.1 on SQLite.

then planned again (``plan --from FILE --exit-code``). A case *converges* when the push
exits 0 and the plan is empty; otherwise the table shows the exit code and the tool's one-line
error, and whether the target was left unchanged. It prints a table and writes Markdown.

A push refused for safety (exit 3, target unchanged) whose hint names an opt-in (``--allow-…``),
or refused because Directus would not compare the snapshot unforced (exit 1: a snapshot whose
database cannot be told), whose hint names ``--force``, is then pushed again with it into the same
server, as a user following the hint would, and planned again: those runs are counted apart
("converged after the named opt-in"), never as converged.

``--install-extensions`` takes the refusal's first way out instead, for a push refused because
the model uses extensions the target lacks: each extension id it names is looked up on the npm
registry as ``directus-extension-<id>`` (the name the tool recognises an installed extension by),
the newest release whose ``directus:extension.host`` accepts the target's Directus is unpacked into
the target's extensions folder (``EXTENSIONS_PATH``, one folder per package, as Directus 10.7 and
later load them), the target is restarted and the file pushed again, without an opt-in. Those runs
are counted in their own column ("converged after installing the named extensions from npm");
an id without such a package, or without a release for the target's Directus, is reported with
why, and that run takes the opt-in as before.

``--postgis`` adds the target **own-db-postgis** for PostgreSQL files: the same release on
PostgreSQL with PostGIS (``CREATE EXTENSION postgis`` in the target's database; the Debian package
is installed when missing), the way out for ``geometry`` fields.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tool"))

import directus_server

from directus_gitops.engine import translate
from tests.directus_harness import ServerPool, databases, demo_model

TARGETS = ("own-major", "own-db", "12.4.1", "own-db-postgis")
# An opt-in a refusal's hint names: what a user following it would add.
OPT_IN = re.compile(r"--allow-[a-z-]+")
# The supported release for each major version.
RELEASE_FOR_MAJOR = {9: "9.26.0", 10: "10.13.4", 11: "11.17.4", 12: "12.4.1"}
DATABASE_FOR_VENDOR = {"sqlite": "sqlite", "postgres": "postgres", "mysql": "mariadb"}
# An extension a refusal names as missing on the target (engine/predict.py's words).
MISSING_EXTENSION = re.compile(r"\b(?:interface|display|layout|panel|operation) '([a-z0-9_-]+)'")
# The package name an extension id is published under, and the one GET /extensions shows it by.
PACKAGE_PREFIX = "directus-extension-"
# Directus loads an extension from its own folder under EXTENSIONS_PATH from 10.7 on.
FOLDER_EXTENSIONS_SINCE = (10, 7, 0)


@dataclasses.dataclass
class Extension:
    """One extension id a refusal named, as looked up on the npm registry."""

    name: str
    package: str
    version: str | None = None  # the release installed
    host: str | None = None  # its directus:extension.host
    reason: str = ""  # why none was installed

    def __str__(self) -> str:
        if self.version is None:
            return f"`{self.name}`: {self.reason}"
        return f"`{self.name}`: {self.package}@{self.version} (host `{self.host}`)"


@dataclasses.dataclass
class Case:
    file: str
    target: str
    release: str
    database: str
    push_code: int | None = None
    plan_code: int | None = None
    left: int | None = None
    error: str = ""
    unchanged: bool | None = None
    rules: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    postgis: bool = False
    opt_in: list[str] = dataclasses.field(default_factory=list)  # what the refusal's hint named
    opt_in_push_code: int | None = None
    opt_in_plan_code: int | None = None
    opt_in_error: str = ""
    extensions: list[Extension] = dataclasses.field(default_factory=list)  # looked up (--install-extensions)
    install_push_code: int | None = None
    install_plan_code: int | None = None

    @property
    def outcome(self) -> str:
        return _outcome(self.push_code, self.plan_code, self.unchanged)

    @property
    def after_opt_in(self) -> str:
        """How the push ended with the opt-in the refusal named ("" when it named none)."""
        if not self.opt_in:
            return ""
        return _outcome(self.opt_in_push_code, self.opt_in_plan_code, True)

    @property
    def took_opt_in(self) -> bool:
        """Whether the run was pushed again with the opt-in (not when the extensions were installed instead)."""
        return bool(self.opt_in) and self.after_install in ("", "not installable")

    @property
    def after_install(self) -> str:
        """How the push ended after installing the named extensions ("" when none was looked up)."""
        if not self.extensions:
            return ""
        if any(extension.version is None for extension in self.extensions):
            return "not installable"
        return _outcome(self.install_push_code, self.install_plan_code, True)

    @property
    def where(self) -> str:
        return f"{self.release} {self.database}" + (" + PostGIS" if self.postgis else "")


def _outcome(push_code: int | None, plan_code: int | None, unchanged: bool | None) -> str:
    if push_code == 0 and plan_code == 0:
        return "converged"
    if push_code == 3:
        return "refused" + ("" if unchanged else " (target changed!)")
    return {1: "error", 4: "residue", 5: "partial"}.get(push_code or -1, f"exit {push_code}")


def load(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return data["data"] if isinstance(data, dict) and set(data) == {"data"} else data


def own_release(snapshot: dict[str, Any]) -> str:
    """The supported release of the major the file's ``directus`` names; for a major Directus
    never had (13.x, 14.x: an internal package version some 10.x servers record), 10.x."""
    claimed = translate.release(snapshot.get("directus")) or (12, 0, 0)
    if claimed[0] > max(RELEASE_FOR_MAJOR):
        return RELEASE_FOR_MAJOR[10]
    return RELEASE_FOR_MAJOR.get(claimed[0], RELEASE_FOR_MAJOR[max(RELEASE_FOR_MAJOR)])


def cases_for(path: Path, only: list[str]) -> list[Case]:
    snapshot = load(path)
    release = own_release(snapshot)
    database = DATABASE_FOR_VENDOR.get(str(snapshot.get("vendor")), "sqlite")
    wanted = {
        "own-major": (release, "sqlite"),
        "own-db": (release, database),
        "12.4.1": ("12.4.1", "sqlite"),
        "own-db-postgis": (release, database),
    }
    cases = [Case(path.name, name, *wanted[name], postgis=name == "own-db-postgis") for name in only]
    return [case for case in cases if not case.postgis or case.database == "postgres"]


def missing_extension_names(error: str) -> list[str]:
    """The extension ids a refusal names as missing, in its order."""
    return list(dict.fromkeys(MISSING_EXTENSION.findall(error))) if "extension(s)" in error else []


def npm_releases(package: str) -> list[tuple[str, str | None]]:
    """Each published release of ``package`` with its ``directus:extension.host``, oldest first;
    none when the registry has no such package."""
    command = [directus_server._npm(), "view", f"{package}@*", "version", "directus:extension.host", "--json"]
    result = subprocess.run(command, env=directus_server._npm_env(), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        if "E404" in result.stdout + result.stderr:
            return []
        raise RuntimeError(f"npm view {package} failed: {(result.stderr or result.stdout).strip()[:300]}")
    answer = json.loads(result.stdout)
    # npm answers one object for one release, a list for several.
    records = answer if isinstance(answer, list) else [answer]
    return [(str(r["version"]), r.get("directus:extension.host")) for r in records if isinstance(r, dict)]


def host_accepts(host: str | None, release: str, installation: directus_server.Installation) -> bool:
    """Whether an extension's host range accepts ``release``, by the semver package Directus itself uses."""
    if not host:
        return False
    script = "process.stdout.write(String(require(process.argv[1]).satisfies(process.argv[2], process.argv[3])))"
    semver = installation.root / "node_modules" / "semver"
    command = [str(installation.node), "-e", script, str(semver), release, host]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout == "true"


def choose_release(
    releases: list[tuple[str, str | None]], accepts: Callable[[str | None], bool]
) -> tuple[str, str | None] | None:
    """The newest release whose host range ``accepts`` the target's Directus."""
    return next(((version, host) for version, host in reversed(releases) if accepts(host)), None)


def find_extensions(names: list[str], release: str) -> list[Extension]:
    """Each named extension's package on npm and its newest release for Directus ``release``."""
    installation = directus_server.install(release)
    found = []
    for name in names:
        extension = Extension(name, PACKAGE_PREFIX + name)
        releases = npm_releases(extension.package)
        chosen = choose_release(releases, lambda host: host_accepts(host, release, installation))
        if not releases:
            extension.reason = f"no public package {extension.package} on npm"
        elif chosen is None:
            hosts = ", ".join(sorted({f"`{host}`" for _, host in releases if host})) or "none"
            extension.reason = f"{extension.package} has no release for Directus {release} (hosts: {hosts})"
        else:
            extension.version, extension.host = chosen
        found.append(extension)
    return found


def install_extensions(extensions: list[Extension], folder: Path, scratch: Path) -> None:
    """Unpack each package into its own folder under ``folder`` (the target's EXTENSIONS_PATH), as
    Directus 10.7 and later load them: the published package, already built."""
    packs = scratch / "npm-packs"
    packs.mkdir(parents=True, exist_ok=True)
    for package, version in dict.fromkeys((e.package, e.version) for e in extensions if e.version):
        command = [directus_server._npm(), "pack", f"{package}@{version}", "--pack-destination", str(packs), "--json"]
        result = subprocess.run(
            command, env=directus_server._npm_env(), capture_output=True, text=True, check=True, timeout=300
        )
        tarball = packs / json.loads(result.stdout)[0]["filename"]
        destination = folder / package
        shutil.rmtree(destination, ignore_errors=True)
        destination.mkdir(parents=True)
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith("package/")]
            for member in members:
                member.name = member.name.removeprefix("package/")
            archive.extractall(destination, members=members, filter="data")


def run_case(case: Case, path: Path, pool: ServerPool, scratch: Path, install_from_npm: bool = False) -> Case:
    started = time.monotonic()
    project = scratch / f"{path.stem}-{case.target}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    try:
        with pool.new_server(case.release, vendor=case.database) as server:
            if case.postgis:
                # In the target's own database, before anything reads the schema (PostGIS's own
                # table spatial_ref_sys is one Directus leaves out by default: DB_EXCLUDE_TABLES).
                pool.execute_sql(server, "CREATE EXTENSION IF NOT EXISTS postgis")

            claimed = json.dumps(str(load(path).get("directus")))

            def configure() -> None:  # again after a restart, which picks another port
                (project / "directus-gitops.yaml").write_text(
                    f"environments:\n  t: {{url: '{server.url}', accept_releases: [{claimed}]}}\n"
                )

            configure()
            env = {**os.environ, "DIRECTUS_T_TOKEN": server.token, "NO_COLOR": "1"}
            # The code of the checkout this script is in, whatever the caller's PYTHONPATH said
            # (a relative one would not hold in the project folder the tool runs in).
            env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tool"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            before = demo_model.snapshot(server.url, server.token)

            def tool(*arguments: str) -> subprocess.CompletedProcess[str]:
                command = [sys.executable, "-m", "directus_gitops", *arguments]
                return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)

            pushed = tool("push", "--from", str(path), "--env", "t", "--yes", "--no-backup")
            (project / "push.log").write_text(pushed.stdout + pushed.stderr)
            case.push_code = pushed.returncode
            errors = [line for line in pushed.stderr.splitlines() if line.startswith("error:")]
            case.error = errors[-1][7:] if errors else ""
            hints = [line for line in pushed.stderr.splitlines() if line.startswith("hint:")]
            unforced = case.push_code == 1 and "would refuse this snapshot" in case.error
            if case.push_code == 3 or unforced:
                case.unchanged = demo_model.snapshot(server.url, server.token) == before
            planned = tool("plan", "--from", str(path), "--env", "t", "--exit-code", "--format", "json")
            (project / "plan.log").write_text(planned.stdout + planned.stderr)
            case.plan_code = planned.returncode
            if planned.stdout.strip():
                document = json.loads(planned.stdout)
                case.left = len(document["changes"])
                case.rules = [rule["rule"] for rule in document["translation"]]
            case.opt_in = list(dict.fromkeys(OPT_IN.findall("\n".join(hints)))) if case.push_code == 3 else []
            if unforced and any("--force" in hint for hint in hints):
                case.opt_in = ["--force"]
            names = missing_extension_names(case.error) if install_from_npm and case.unchanged else []
            if names and (translate.release(case.release) or (0, 0, 0)) < FOLDER_EXTENSIONS_SINCE:
                reason = f"Directus {case.release} loads extensions otherwise; not done by this script"
                case.extensions = [Extension(name, PACKAGE_PREFIX + name, reason=reason) for name in names]
            elif names:
                case.extensions = find_extensions(names, case.release)
            if case.extensions and case.after_install != "not installable":
                install_extensions(case.extensions, server.workdir / "extensions", scratch)
                server.stop()
                server.start()
                configure()
                pushed = tool("push", "--from", str(path), "--env", "t", "--yes", "--no-backup")
                (project / "push-installed.log").write_text(pushed.stdout + pushed.stderr)
                case.install_push_code = pushed.returncode
                planned = tool("plan", "--from", str(path), "--env", "t", "--exit-code")
                (project / "plan-installed.log").write_text(planned.stdout + planned.stderr)
                case.install_plan_code = planned.returncode
            elif case.opt_in and case.unchanged:
                pushed = tool("push", "--from", str(path), "--env", "t", "--yes", "--no-backup", *case.opt_in)
                (project / "push-opt-in.log").write_text(pushed.stdout + pushed.stderr)
                case.opt_in_push_code = pushed.returncode
                errors = [line for line in pushed.stderr.splitlines() if line.startswith("error:")]
                case.opt_in_error = errors[-1][7:] if errors else ""
                forced = ["--force"] if "--force" in case.opt_in else []
                planned = tool("plan", "--from", str(path), "--env", "t", "--exit-code", *forced)
                (project / "plan-opt-in.log").write_text(planned.stdout + planned.stderr)
                case.opt_in_plan_code = planned.returncode
    except Exception as error:  # a server that does not start is a result too
        case.error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    case.seconds = time.monotonic() - started
    return case


def table(cases: list[Case]) -> str:
    lines = [
        "| file | target | outcome | left | error | after the named opt-in | after installing the named extensions "
        "from npm |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        error = case.error.replace("|", "\\|")[:160]
        opt_in = f"{case.after_opt_in} (`{' '.join(case.opt_in)}`)" if case.took_opt_in else ""
        installed = f"{case.after_install} ({'; '.join(map(str, case.extensions))})" if case.extensions else ""
        installed = installed.replace("|", "\\|")  # host ranges hold `||`
        where = f"{case.target} ({case.where})"
        lines.append(f"| {case.file} | {where} | {case.outcome} | {case.left} | {error} | {opt_in} | {installed} |")
    lines.append("")
    for name in dict.fromkeys(case.target for case in cases):
        mine = [case for case in cases if case.target == name]
        converged = sum(case.outcome == "converged" for case in mine)
        line = f"- {name}: {converged} of {len(mine)} converged"
        opted = [
            case for case in mine if case.opt_in and case.after_opt_in and case.after_install in ("", "not installable")
        ]
        if opted:
            after = sum(case.after_opt_in == "converged" for case in opted)
            named = ", ".join(sorted({flag for case in opted for flag in case.opt_in}))
            line += f"; {after} of the {len(opted)} refused with an opt-in ({named}) converged after it"
        looked_up = [case for case in mine if case.extensions]
        if looked_up:
            installed = [case for case in looked_up if case.after_install != "not installable"]
            after = sum(case.after_install == "converged" for case in installed)
            line += (
                f"; of the {len(looked_up)} refused for extensions, {len(installed)} had every one on npm for the "
                f"target's release and {after} converged after installing them"
            )
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--only", nargs="+", choices=TARGETS, default=list(TARGETS[:3]))
    parser.add_argument("--postgis", action="store_true", help="also own-db-postgis: PostgreSQL files with PostGIS")
    parser.add_argument(
        "--install-extensions",
        action="store_true",
        help="for a push refused for missing extensions: install them from npm into the target, restart it, push again",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--match", nargs="+", metavar="TEXT", help="only files whose name contains one of these")
    parser.add_argument("--out", type=Path, help="Markdown report (default FOLDER/../acceptance.md)")
    arguments = parser.parse_args(argv)
    if arguments.postgis and "own-db-postgis" not in arguments.only:
        arguments.only.append("own-db-postgis")
    if "own-db-postgis" in arguments.only:
        databases.ensure_postgis()
    files = sorted(p for p in arguments.folder.iterdir() if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    files = [p for p in files if p.name != "index.json"]
    if arguments.match:
        files = [p for p in files if any(text in p.name for text in arguments.match)]
    scratch = Path(tempfile.mkdtemp(prefix="dg-acceptance-"))
    pool = ServerPool(scratch / "pool")
    cases = [(case, path) for path in files for case in cases_for(path, arguments.only)]
    print(f"{len(cases)} cases from {len(files)} files; scratch in {scratch}", flush=True)
    try:
        # Templates first, one at a time: bootstrapping takes both cores.
        for release, database in dict.fromkeys((case.release, case.database) for case, _ in cases):
            pool.template(release, False, database)
        with concurrent.futures.ThreadPoolExecutor(max(1, arguments.jobs)) as executor:
            futures = [
                executor.submit(run_case, case, path, pool, scratch, arguments.install_extensions)
                for case, path in cases
            ]
            for future in concurrent.futures.as_completed(futures):
                case = future.result()
                opt_in = f" [{' '.join(case.opt_in)}: {case.after_opt_in}]" if case.opt_in else ""
                if case.extensions:
                    opt_in = f" [from npm: {case.after_install}]" + (opt_in if case.took_opt_in else "")
                print(f"{case.file:<50} {case.target:<10} {case.outcome:<12} {case.error[:100]}{opt_in}", flush=True)
    finally:
        pool.close_all()
    report = table([case for case, _ in cases])
    out = arguments.out or arguments.folder.parent / "acceptance.md"
    out.write_text(report)
    print()
    print(report)
    print(f"written to {out}; logs under {scratch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
