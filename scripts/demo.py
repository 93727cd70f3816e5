#!/usr/bin/env python3
"""The main job, end to end, on two local Directus servers (``make demo``).

1. start a *source* and a *target* SQLite Directus (installed into the cache when needed);
2. create the demo data model on the source through the REST API;
3. ``directus-gitops pull --env source --commit`` into a scratch git repository;
4. ``directus-gitops push --env target --yes``: the committed snapshot goes to the target;
5. ``directus-gitops plan --env target --exit-code``: nothing is left to do.

Everything lives under ``.demo/`` in the repository; both servers are stopped at the end.
``DIRECTUS_VERSION`` picks the Directus version (default 12.4.1), ``DIRECTUS_DATABASE`` the
database (sqlite, postgres or mariadb; default sqlite): PostgreSQL and MariaDB run as a
private server of the demo's own, installed from Debian's packages when missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import check_vendor, database_server
from demo_model import seed
from directus_server import DirectusServer, install

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
TOOL = Path(sys.executable).with_name("directus-gitops")


def step(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def run(*command: str, cwd: Path, env: dict[str, str], check: bool = True) -> int:
    shown = " ".join(["directus-gitops", *command[1:]] if command[0] == str(TOOL) else command)
    print(f"$ {shown}", flush=True)
    result = subprocess.run(command, cwd=cwd, env=env, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"demo failed: `{shown}` exited {result.returncode}")
    return result.returncode


def main() -> int:
    version = os.environ.get("DIRECTUS_VERSION", "12.4.1")
    vendor = check_vendor(os.environ.get("DIRECTUS_DATABASE", "sqlite"))
    if DEMO.exists():
        shutil.rmtree(DEMO)
    project = DEMO / "project"
    project.mkdir(parents=True)

    step(f"Installing Directus {version} (cached after the first run)")
    started = time.monotonic()
    install(version)
    print(f"ready in {time.monotonic() - started:.0f} s")

    with contextlib.ExitStack() as stack:
        source_db = target_db = None
        if vendor != "sqlite":
            step(f"Starting a private {vendor} server for the two Directus databases")
            db = stack.enter_context(database_server(vendor))
            source_db, target_db = db.create_database("demo_source"), db.create_database("demo_target")
        step(f"Starting two Directus {version} servers on {vendor}: source and target")
        source = stack.enter_context(DirectusServer(version, DEMO / "source", connection=source_db))
        target = stack.enter_context(DirectusServer(version, DEMO / "target", connection=target_db))
        print(f"source: {source.url}\ntarget: {target.url}")

        step("Creating the demo data model on the source (collections, fields, relations)")
        seed(source.url, source.token, version)

        env = {
            **os.environ,
            "DIRECTUS_SOURCE_TOKEN": source.token,
            "DIRECTUS_TARGET_TOKEN": target.token,
            "GIT_AUTHOR_NAME": "directus-gitops demo",
            "GIT_AUTHOR_EMAIL": "demo@example.invalid",
            "GIT_COMMITTER_NAME": "directus-gitops demo",
            "GIT_COMMITTER_EMAIL": "demo@example.invalid",
        }
        (project / "directus-gitops.yaml").write_text(
            "schema_dir: schema\n"
            "environments:\n"
            f"  source: {{url: '{source.url}'}}   # token from $DIRECTUS_SOURCE_TOKEN\n"
            f"  target: {{url: '{target.url}'}}   # token from $DIRECTUS_TARGET_TOKEN\n"
        )
        (project / ".gitignore").write_text(".directus-gitops/\n")
        run("git", "init", "--quiet", "--initial-branch=main", cwd=project, env=env)
        run("git", "add", ".", cwd=project, env=env)
        run("git", "commit", "--quiet", "-m", "directus-gitops configuration", cwd=project, env=env)

        step("pull: the source's schema becomes canonical YAML, committed")
        run(str(TOOL), "pull", "--env", "source", "--commit", cwd=project, env=env)
        run("git", "--no-pager", "log", "--stat", "--format=%h %s", "-1", cwd=project, env=env)

        step("pull again: nothing changed, so git has nothing to show")
        run(str(TOOL), "pull", "--env", "source", cwd=project, env=env)
        run("git", "status", "--short", "--untracked-files=all", cwd=project, env=env)

        step("push: the committed snapshot goes to the target")
        run(str(TOOL), "push", "--env", "target", "--yes", cwd=project, env=env)

        step("plan: the target now matches the commit")
        code = run(str(TOOL), "plan", "--env", "target", "--exit-code", cwd=project, env=env, check=False)
        if code != 0:
            raise SystemExit(f"demo failed: the target still differs after push (plan exited {code})")

    print(f"\nDone. The scratch project is in {project.relative_to(ROOT)}; both servers are stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
