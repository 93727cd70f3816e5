"""``diff``: what changes between two snapshots, offline (no server, no token).

Each side is a git revision (the schema folder as committed there), a path (a schema
folder, or a snapshot file such as Directus's own ``snapshot.yaml``), or the working tree.
Between two folders or revisions, only the collection files that differ are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directus_gitops import changes, render, store, translate
from directus_gitops import snapshot as snap
from directus_gitops.config import Config
from directus_gitops.console import Console, display
from directus_gitops.errors import ConfigError, ExitCode, GitError, SnapshotError
from directus_gitops.kinds import compare as kinds_compare
from directus_gitops.kinds import sync

if TYPE_CHECKING:
    from directus_gitops.gitrepo import Repo


@dataclass(frozen=True)
class Side:
    """One snapshot to compare and where it came from.

    ``tree`` is a schema folder read file by file; ``loaded`` a snapshot file read whole;
    neither means a revision without the schema folder, which compares as an empty schema.
    """

    label: str
    tree: store.Tree | None = None
    loaded: store.Loaded | None = None
    ref: str | None = None
    commit: str | None = None
    path: str | None = None

    def context(self, snapshot: snap.Snapshot) -> dict[str, Any]:
        return {
            "label": self.label,
            "ref": self.ref,
            "commit": self.commit,
            "path": self.path,
            "directus": snapshot.get("directus"),
            "vendor": snapshot.get("vendor"),
        }


def revision_side(repo: Repo, rev: str, folder: str) -> Side:
    commit, tree = repo.schema_tree(rev, folder)
    return Side(f"{rev} ({commit.hexsha[:10]})", tree=tree, ref=rev, commit=commit.hexsha)


def path_side(path: Path, label: str | None = None) -> Side:
    label = label or str(path)
    if path.is_dir():
        return Side(label, tree=store.folder_tree(path), path=str(path))
    return Side(label, loaded=store.load_path(path), path=str(path))


def snapshots(old: Side, new: Side) -> tuple[snap.Snapshot, snap.Snapshot]:
    """The two snapshots to compare; a side without a schema is an empty one."""
    if old.tree is not None and new.tree is not None:
        before, after = store.load_differing(old.tree, new.tree)
        return before.snapshot, after.snapshot
    before_whole, after_whole = _whole(old), _whole(new)
    if before_whole is None and after_whole is None:
        raise GitError(f"neither {old.label} nor {new.label} has a schema folder")
    if before_whole is None:
        assert after_whole is not None
        return snap.empty_like(after_whole), after_whole
    if after_whole is None:
        return before_whole, snap.empty_like(before_whole)
    return before_whole, after_whole


def _whole(side: Side) -> snap.Snapshot | None:
    if side.loaded is not None:
        return side.loaded.snapshot
    if side.tree is not None:
        return store.parse_tree(side.tree.read, side.tree.source).snapshot
    return None


@dataclass(frozen=True)
class Comparison:
    changes: changes.ChangeSet
    before: snap.Snapshot
    after: snap.Snapshot
    translation: translate.Translation | None = None  # when the two come from different origins


def compare(old: Side, new: Side) -> Comparison:
    """What applying ``new`` to a project like ``old`` changes. Snapshots from different
    Directus releases or databases are compared as ``push`` would: ``new`` translated for
    ``old``'s origin, by the documented rules (the comparison says which it applied)."""
    before, after = snapshots(old, new)
    origins = [(key, before.get(key), after.get(key)) for key in ("directus", "vendor")]
    if all(ours == theirs for _, ours, theirs in origins):
        return Comparison(changes.compare(before, after), before, after)
    translation = translate.translate(after, before)
    warnings = [
        f"the snapshots come from different {what} ({ours}, {theirs}): compared by the translation rules"
        for (key, ours, theirs), what in zip(origins, ("Directus releases", "databases"), strict=True)
        if ours != theirs
    ]
    warnings += translate.origin_warnings(after)
    result = changes.compare(before, translation.snapshot)
    return Comparison(changes.ChangeSet(result.changes, tuple(warnings)), before, after, translation)


# --------------------------------------------------------------------------- arguments


class _Git:
    """The git repository, opened only when an argument needs it (paths never do)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._repo: Repo | None = None

    def repo(self) -> Repo:
        if self._repo is None:
            from directus_gitops.gitrepo import Repo

            self._repo = Repo(self._config.root)
        return self._repo

    def folder(self) -> str:
        return self.repo().relpath(self._config.schema_dir)


def _is_revision(git: _Git, arg: str) -> bool:
    try:
        git.repo().resolve(arg)
    except GitError:
        return False
    return True


def side_for(arg: str, git: _Git) -> Side:
    """An argument is a path when it exists, a git revision otherwise; both is an error."""
    path = Path(arg)
    if path.exists():
        if _is_revision(git, arg):
            raise ConfigError(
                f"'{arg}' is both a path and a git revision",
                hint=f"write ./{arg} for the path or {arg}^{{commit}} for the revision",
            )
        return path_side(path, arg)
    try:
        git.repo().resolve(arg)
    except GitError as exc:
        raise GitError(f"'{arg}' is neither an existing path nor a git revision ({exc.message})") from None
    return revision_side(git.repo(), arg, git.folder())


def working_tree(config: Config) -> Side:
    folder = config.schema_dir
    if not folder.is_dir():
        raise SnapshotError(f"{display(folder)}/: no schema folder in the working tree")
    return path_side(folder, f"the working tree ({display(folder)}/)")


# --------------------------------------------------------------------------- the command


def run(
    config: Config,
    console: Console,
    *,
    old: str | None,
    new: str | None,
    fmt: render.Format,
    exit_code: bool,
) -> int:
    git = _Git(config)
    if old is not None:
        before = side_for(old, git)
    elif git.repo().has_commits():
        before = revision_side(git.repo(), "HEAD", git.folder())
    else:  # a new repository: everything in the working tree is new
        before = Side("HEAD (no commits yet)")
    after = side_for(new, git) if new is not None else working_tree(config)
    for side in (before, after):
        if side.tree is None and side.loaded is None:
            console.info(f"{side.label} has no schema folder: comparing with an empty schema.")
    comparison = compare(before, after)
    result = comparison.changes
    translation = comparison.translation
    context = {
        "old": before.context(comparison.before),
        "new": after.context(comparison.after),
        "translation": translation.as_list() if translation else [],
    }
    if fmt == "markdown":
        title = f"Directus schema changes: {before.label} → {after.label}"
    else:
        title = f"Changes from {before.label} to {after.label}:"
    translated = translation.lines() if translation else []
    configured = sync.diff(config_of(before), config_of(after))
    if configured is not None and fmt == "json":
        context["config"] = kinds_compare.as_dict(configured)
    console.result(render.render(result, fmt, title=title, context=context, color=console.color, translated=translated))
    if configured is not None and fmt != "json":
        console.result(kinds_compare.markdown(configured) if fmt == "markdown" else kinds_compare.text(configured))
    if exit_code and (result or configured):
        return ExitCode.CHANGES
    return ExitCode.OK


def config_of(side: Side) -> Any:
    """The configuration kinds a side's schema folder holds (None: none)."""
    return sync.load(side.tree.read, side.tree.source) if side.tree is not None else None
