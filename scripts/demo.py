#!/usr/bin/env python3
"""The main job, end to end, on two local Directus servers (``make demo``).

1. start a *source* and a *target* SQLite Directus (installed into the cache when needed,
   with progress while that takes minutes);
2. create the demo data model on the source through the REST API, and its configuration:
   roles, policies with their permissions, a flow of three operations, a dashboard;
3. ``directus-gitops pull --env source --commit`` into a scratch git repository;
4. ``directus-gitops push --env target --yes``: the committed model and configuration go to
   the target, and ``plan --env target --exit-code`` finds nothing left to do;
5. on a branch, a developer adds a field and lets the public read authors: the pull request's
   review is the offline Markdown ``diff main...branch`` (no server, no token);
6. the reviewed branch is merged and pushed; a later change that drops the field is refused
   by ``push`` (exit 3, nothing applied), and reverted.

Everything lives under ``.demo/`` in the repository; both servers are stopped at the end.
``DIRECTUS_VERSION`` picks the Directus version (default 12.4.1), ``DIRECTUS_DATABASE`` the
database (sqlite, postgres or mariadb; default sqlite): PostgreSQL and MariaDB run as a
private server of the demo's own, installed from Debian's packages when missing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import config_seed
import data_seed
import httpx
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


@contextlib.contextmanager
def heartbeat(what: str, every: float = 15.0):  # type: ignore[no-untyped-def]
    """A line every ``every`` seconds while a long step (an install from npm) runs."""
    done = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not done.wait(every):
            print(f"  … {what}: {time.monotonic() - started:.0f} s so far", flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def main() -> int:
    # The installer says what it does (npm install, native builds) as it goes.
    logging.basicConfig(level=logging.INFO, format="  %(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    version = os.environ.get("DIRECTUS_VERSION", "12.4.1")
    vendor = check_vendor(os.environ.get("DIRECTUS_DATABASE", "sqlite"))
    if DEMO.exists():
        shutil.rmtree(DEMO)
    project = DEMO / "project"
    project.mkdir(parents=True)

    step(f"Installing Directus {version} (cached after the first run)")
    started = time.monotonic()
    with heartbeat("installing"):
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

        step("Creating the demo data model on the source, its roles, permissions and flow, and reference data")
        seed(source.url, source.token, version)
        major = int(version.split(".")[0])
        with config_seed.client(source.url, source.token) as http:
            config_seed.seed(http, policies=major >= 11, filtered=major < 12, legacy_translations=major < 10)
            data_seed.demo_rows(http)  # the model's languages, and a tree of categories

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
            "sync: [schema, access, flows, dashboards, presets, settings, translations, folders]\n"
            f"{data_seed.DEMO_DATA}"
            "environments:\n"
            f"  source: {{url: '{source.url}'}}   # token from $DIRECTUS_SOURCE_TOKEN\n"
            f"  target: {{url: '{target.url}'}}   # token from $DIRECTUS_TARGET_TOKEN\n"
        )
        (project / ".gitignore").write_text(".directus-gitops/\n")
        run("git", "init", "--quiet", "--initial-branch=main", cwd=project, env=env)
        run("git", "add", ".", cwd=project, env=env)
        run("git", "commit", "--quiet", "-m", "directus-gitops configuration", cwd=project, env=env)

        step("pull: the source's model, configuration and reference data become canonical YAML, committed")
        run(str(TOOL), "pull", "--env", "source", "--commit", cwd=project, env=env)
        run("git", "--no-pager", "log", "--stat", "--format=%h %s", "-1", cwd=project, env=env)

        step("pull again: nothing changed, so git has nothing to show")
        run(str(TOOL), "pull", "--env", "source", cwd=project, env=env)
        run("git", "status", "--short", "--untracked-files=all", cwd=project, env=env)

        step("push: the committed model, configuration and rows go to the target (categories parents first)")
        run(str(TOOL), "push", "--env", "target", "--yes", cwd=project, env=env)
        check_converged(project, env)

        step("A branch: a developer adds a field, lets the public read authors and adds a language, then pulls")
        run("git", "switch", "--quiet", "-c", "more-authors", cwd=project, env=env)
        change_on_source(source.url, source.token, major)
        run(str(TOOL), "pull", "--env", "source", "--commit", cwd=project, env=env)

        step("The review: the pull request's comment, computed offline from the two commits")
        run(str(TOOL), "diff", "main...more-authors", "--format", "markdown", cwd=project, env=env)

        step("The reviewed branch is merged and pushed")
        run("git", "switch", "--quiet", "main", cwd=project, env=env)
        run("git", "merge", "--quiet", "--ff-only", "more-authors", cwd=project, env=env)
        run(str(TOOL), "push", "--env", "target", "--yes", cwd=project, env=env)
        check_converged(project, env)

        step("A change that loses data: the field is dropped on the source, pulled, and push refuses")
        with httpx.Client(base_url=source.url, headers={"Authorization": f"Bearer {source.token}"}) as http:
            http.delete("/fields/authors/nickname").raise_for_status()
        run(str(TOOL), "pull", "--env", "source", "--commit", "-m", "drop authors.nickname", cwd=project, env=env)
        code = run(str(TOOL), "push", "--env", "target", "--yes", cwd=project, env=env, check=False)
        if code != 3:
            raise SystemExit(f"demo failed: a push that drops a field exited {code}, not 3")
        print("(exit 3: refused, nothing applied; --allow-data-loss would let it through)")

        step("The team keeps the field: the drop is reverted, and the target still matches")
        run("git", "revert", "--no-edit", "HEAD", cwd=project, env=env)
        check_converged(project, env)


def check_converged(project: Path, env: dict[str, str]) -> None:
    step("plan: the target now matches the commit")
    code = run(str(TOOL), "plan", "--env", "target", "--exit-code", cwd=project, env=env, check=False)
    if code != 0:
        raise SystemExit(f"demo failed: the target still differs after push (plan exited {code})")


def change_on_source(url: str, token: str, major: int) -> None:
    """A new field on authors, and a public read permission on authors."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        field = {"field": "nickname", "type": "string", "meta": {"interface": "input", "note": "Shown on bylines"},
                 "schema": {"max_length": 64}}  # fmt: skip
        http.post("/fields/authors", json=field).raise_for_status()
        if major >= 11:
            public = http.get("/policies", params={"filter[name][_eq]": "$t:public_label"}).json()["data"][0]["id"]
            holder: dict[str, object] = {"policy": public}
        else:
            holder = {"role": None}
        # All fields: Directus 12 without a licence refuses field-level rules (a restricted resource).
        permission = {**holder, "collection": "authors", "action": "read", "fields": ["*"]}
        http.post("/permissions", json=permission).raise_for_status()
        http.post("/items/languages", json={"code": "fr-FR", "name": "French", "direction": "ltr"}).raise_for_status()


if __name__ == "__main__":
    sys.exit(main())
