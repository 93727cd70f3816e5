"""``log``: the schema's history as schema changes, one commit at a time, newest first."""

from __future__ import annotations

from functools import cache

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ExitCode, GitOpsError
from directus_gitops.engine import configuration as sync
from directus_gitops.engine.diff import Side, compare, config_of, revision_side
from directus_gitops.files.gitrepo import CommitInfo, Repo
from directus_gitops.model import treecache, validate
from directus_gitops.model.config import Config
from directus_gitops.model.kinds import compare as kinds_compare
from directus_gitops.reports import render

_EMPTY = Side("an empty schema")


def history(repo: Repo, folder: str, *, ref: str, limit: int | None) -> list[render.LogEntry]:
    """Each commit at ``ref`` that touched ``folder``, with what it changed against its parent."""

    # A commit's parent is usually the next commit listed: read each tree once.
    @cache
    def side(sha: str) -> Side:
        return revision_side(repo, sha, folder)

    commits = list(repo.history(folder, ref, limit))
    # Commits read in full are remembered only when they all fit among the records kept.
    remember = len(commits) < treecache.KEEP
    # What neighbouring commits hold alike (most of it) is read and checked once for the walk.
    walk = validate.Walk()

    def entry(commit: CommitInfo) -> render.LogEntry:
        try:
            before, after = side(commit.parent) if commit.parent else _EMPTY, side(commit.sha)
            changes = compare(before, after, remember=remember, shared=walk.shared()).changes
            configured = sync.diff(config_of(before), config_of(after))
        except GitOpsError as exc:  # one unreadable commit must not hide the rest of the history
            return render.LogEntry(commit, error=exc.message)
        return render.LogEntry(commit, changes, config=kinds_compare.short_lines(configured) if configured else ())

    return [entry(commit) for commit in commits]


def run(config: Config, console: Console, *, ref: str, limit: int | None, fmt: render.Format) -> int:
    repo = Repo(config.root)
    folder = repo.relpath(config.schema_dir)
    entries = history(repo, folder, ref=ref, limit=limit)
    if not entries:
        console.info(f"No commit in {ref} touches {folder}/.")
    if entries or fmt == "json":
        console.result(render.render_log(entries, fmt, color=console.color))
    return ExitCode.OK
