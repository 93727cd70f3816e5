"""The schema folder's history, one commit at a time: what each changed against its parent,
in the data model and in the configuration kinds (for ``log``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from directus_gitops.base.errors import GitOpsError
from directus_gitops.engine.diff import Side, compare, revision_side
from directus_gitops.files.gitrepo import CommitInfo, Repo
from directus_gitops.model import treecache, validate
from directus_gitops.model.changes import ChangeSet
from directus_gitops.model.kinds import compare as kinds_compare

_EMPTY = Side("an empty schema")


@dataclass(frozen=True)
class LogEntry:
    """One commit of the schema's history: what it changed, or why that is unknown."""

    commit: CommitInfo
    changes: ChangeSet = field(default_factory=ChangeSet)
    error: str | None = None
    config: tuple[str, ...] = ()  # the configuration kinds' changes, one line each ("- flow X")


def history(repo: Repo, folder: str, *, ref: str, limit: int | None) -> list[LogEntry]:
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

    def entry(commit: CommitInfo) -> LogEntry:
        try:
            before, after = side(commit.parent) if commit.parent else _EMPTY, side(commit.sha)
            compared = compare(before, after, remember=remember, shared=walk.shared())
        except GitOpsError as exc:  # one unreadable commit must not hide the rest of the history
            return LogEntry(commit, error=exc.message)
        lines = kinds_compare.short_lines(compared.config) if compared.config else ()
        return LogEntry(commit, compared.changes, config=lines)

    return [entry(commit) for commit in commits]
