"""``log``: the schema's history as changes, one commit at a time, newest first (engine.history)."""

from __future__ import annotations

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ExitCode
from directus_gitops.engine.history import history
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model.config import Config
from directus_gitops.reports import render


def run(config: Config, console: Console, *, ref: str, limit: int | None, fmt: render.Format) -> int:
    repo = Repo(config.root)
    folder = repo.relpath(config.schema_dir)
    entries = history(repo, folder, ref=ref, limit=limit)
    if not entries:
        console.info(f"No commit in {ref} touches {folder}/.")
    if entries or fmt == "json":
        console.result(render.render_log(entries, fmt, color=console.color))
    return ExitCode.OK
