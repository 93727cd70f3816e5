"""``status``: which commit of the schema folder each environment matches, or its drift."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ConfigError, ExitCode, GitOpsError
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model import config as configuration
from directus_gitops.model.config import Config, Target
from directus_gitops.server.client import DirectusClient, load_transport

if TYPE_CHECKING:
    from directus_gitops.engine import status
    from directus_gitops.reports import render

MAX_AT_ONCE = 8  # environments asked for their schema at the same time, unless told otherwise


def run(
    config: Config,
    console: Console,
    *,
    envs: list[str],
    ref: str,
    limit: int,
    fmt: render.Format,
    exit_code: bool,
    parallel: int | None = None,
) -> int:
    names = envs or list(config.environments)
    if not names:
        raise ConfigError("status needs environments in directus-gitops.yaml (or --env)")
    repo = Repo(config.root)
    folder = repo.relpath(config.schema_dir)
    for name in names:
        if name not in config.environments and config.environments:
            configuration.resolve(config, name)  # an unknown name is a usage error, not a state
        if name in config.environments:  # a URL the CI did not pin is refused, as by every command (exit 3)
            configuration.check_pinned(config.environments[name], os.environ)
    # Every environment's schema is asked for at once, first: each server builds its snapshot
    # while the others do and while the tool lists and reads the commits and imports the
    # comparison and the report (engine.status, reports.status: imported here, not above, as
    # they take about as long as a server's answer). Each commit is read, checked as ``check``
    # does, only when a search reaches it, sharing what it holds alike with the commits read
    # before it (as ``log`` does); the newest is remembered, as ``plan`` would read it.
    groups = [group for group in config.sync if group != "schema"]  # and data, per environment
    load_transport()
    pool = ThreadPoolExecutor(max_workers=min(len(names), parallel or MAX_AT_ONCE), thread_name_prefix="status")
    try:
        asked = [pool.submit(_live, config, name, groups) for name in names]
        from directus_gitops.engine import status

        head = repo.resolve(ref).hexsha
        infos = list(repo.history(folder, ref, limit))
        history = status.history(repo, folder, infos, console.warn)
        next(iter(history), None)  # the newest commit, where every search starts, read meanwhile
        searched = {info.sha for info in infos}
        results = [
            _located(config, name, answer.result(), history, repo, searched)
            for name, answer in zip(names, asked, strict=True)
        ]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    from directus_gitops.reports import status as shown

    if fmt == "json":
        console.result(shown.as_json(results, ref, head))
    elif fmt == "markdown":
        console.result(shown.markdown(results, ref))
    else:
        console.result(shown.text(results, ref))
    if any(result.state == "error" for result in results):
        return ExitCode.ERROR
    if exit_code and any(result.state != "current" for result in results):
        return ExitCode.CHANGES
    return ExitCode.OK


def _live(config: Config, name: str, groups: list[str]) -> tuple[Target, status.Live] | GitOpsError:
    """The environment's live schema, and its configuration of the synced ``groups``, or why
    they cannot be had. A missing token or an unreachable server is this environment's state:
    the others are still worth knowing (a scheduled job often holds only some tokens)."""
    try:
        target = configuration.resolve(config, name)
        with DirectusClient(target) as client:
            snapshot = client.snapshot()
            configured = None
            data = config.data_for(name)
            if groups or data:
                from directus_gitops.engine import configuration as sync

                specs = sync.specs_for(data, snapshot, f"'{name}'")
                configured = sync.live(
                    client, sync.groups(groups, data), snapshot.get("directus"), target.ignore, specs
                )
            from directus_gitops.engine import status

            return target, status.Live(snapshot, configured, client.mariadb(snapshot.get("vendor")))
    except GitOpsError as exc:
        return exc


def _located(
    config: Config,
    name: str,
    live: tuple[Target, status.Live] | GitOpsError,
    history: status.History,
    repo: Repo,
    searched: set[str],
) -> status.EnvironmentStatus:
    from directus_gitops.engine import status

    if isinstance(live, GitOpsError):
        url = config.environments[name].url if name in config.environments else ""
        return status.EnvironmentStatus(name, url, "error", error=live.message)
    target, state = live
    found = status.locate(target.name, target.url, state, history, rules=target.ignore, mode=target.mode)
    if found.state != "drifted":
        return found
    # Not drifted when it runs the newest commit of another branch (a preview, a hot-fix branch).
    other = status.on_other_branch(repo, state, searched, history.load, rules=target.ignore, mode=target.mode)
    if other is None:
        return found
    branch, commit = other
    return status.EnvironmentStatus(target.name, target.url, "branch", commit.info, branch=branch)
