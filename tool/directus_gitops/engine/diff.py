"""Comparing two states offline (no server, no token): for ``diff``, ``log`` and ``status``.

Each side is a git revision (the schema folder as committed there), a path (a schema
folder, or a snapshot file such as Directus's own ``snapshot.yaml``), or the working tree.
Between two folders or revisions, only the collection files that differ are read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from directus_gitops.base.console import display
from directus_gitops.base.errors import ConfigError, GitError, SnapshotError
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from directus_gitops.model import changes, collection_renames, renames, selection, treecache
from directus_gitops.model.config import Config

# The translation, the diagram and the configuration kinds are imported where they are
# needed: most diffs compare snapshots of one origin, in text, with no configuration kinds,
# and their import is a good part of an offline diff's time.
if TYPE_CHECKING:
    from directus_gitops.engine import translate
    from directus_gitops.files.gitrepo import Repo
    from directus_gitops.model import validate
    from directus_gitops.model.kinds.change import ConfigChangeSet


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
    from directus_gitops.model import validate

    return Side(label, loaded=validate.load_path(path), path=str(path))


def snapshots(
    old: Side, new: Side, *, remember: bool = True, shared: validate.Shared | None = None
) -> tuple[snap.Snapshot, snap.Snapshot]:
    """The two snapshots to compare, each validated as ``check`` does; a side without a schema
    is an empty one. What both sides hold is read and checked once, and with ``shared`` once
    for every comparison that is given the same (``log``: a commit and its neighbours)."""
    from directus_gitops.model import validate

    shared = shared if shared is not None else validate.Shared()
    before_whole, after_whole = whole(old, shared, remember), whole(new, shared, remember)
    if before_whole is None and after_whole is None:
        raise GitError(f"neither {old.label} nor {new.label} has a schema folder")
    if before_whole is None:
        assert after_whole is not None
        return snap.empty_like(after_whole), after_whole
    if after_whole is None:
        return before_whole, snap.empty_like(before_whole)
    return before_whole, after_whole


def whole(side: Side, shared: validate.Shared, remember: bool = True) -> snap.Snapshot | None:
    if side.loaded is not None:
        return side.loaded.snapshot
    if side.tree is not None:
        return treecache.read(side.tree, shared, remember=remember)[0]
    return None


@dataclass(frozen=True)
class Comparison:
    changes: changes.ChangeSet
    before: snap.Snapshot
    after: snap.Snapshot
    translation: translate.Translation | None = None  # when the two come from different origins
    # The old side's field counts, when ``before`` holds only the entries that differ.
    fields: dict[str, int] | None = None
    # The configuration kinds' changes (None: neither side holds configuration).
    config: ConfigChangeSet | None = None
    # The new side's warnings, when ``after`` holds only what differs (None: ``after``'s own).
    warnings: tuple[str, ...] | None = None
    # What the change's reading (``validate.load_changed``) knows of the configuration files
    # without reading them: neither side lists any, or both the same files with the same bytes.
    config_files: Literal["none", "same", "differs"] | None = None
    # The relations of files left unread (the same on both sides) that point to a collection
    # of a file that differs, when ``before`` and ``after`` hold only those files' entries.
    related: tuple[snap.Entry, ...] = ()

    def after_warnings(self) -> list[str]:
        """What the new side holds that Directus accepts but looks broken."""
        if self.warnings is not None:
            return list(self.warnings)
        from directus_gitops.model import validate

        return validate.snapshot_warnings(self.after)

    def field_counts(self) -> dict[str, int]:
        return self.fields if self.fields is not None else snap.field_counts(self.before)

    def drawn(self) -> tuple[snap.Snapshot, snap.Snapshot]:
        """The two sides as a diagram of the change draws them (``mermaid.diagram``): what
        relates to a collection the change touches is drawn too."""
        if not self.related:
            return self.before, self.after
        before, after = (
            {**side, "relations": [*side.get("relations", []), *self.related]} for side in (self.before, self.after)
        )
        return before, after


def compare(
    old: Side,
    new: Side,
    rules: selection.Rules | None = None,
    *,
    whole: bool = False,
    remember: bool = True,
    shared: validate.Shared | None = None,
    related: bool = False,
) -> Comparison:
    """What applying ``new`` to a project like ``old`` changes, in the data model and in the
    configuration kinds either side holds (``config``); the arguments are those of
    :func:`compare_schema`."""
    compared = compare_schema(old, new, rules, whole=whole, remember=remember, shared=shared, related=related)
    # A drop and an add that a rename recorded on the new side explains is one rename.
    compared = dataclasses.replace(compared, changes=renames.fold(compared.changes, renames_of(new)))
    if compared.config_files == "none":
        return compared
    if compared.config_files == "same":  # nothing to compare
        from directus_gitops.model.kinds.change import ConfigChangeSet

        return dataclasses.replace(compared, config=ConfigChangeSet())
    old_config, new_config = config_of(old), config_of(new)
    if old_config is None and new_config is None:
        return compared
    from directus_gitops.engine import configuration as sync

    # A renamed collection's permissions, presets and rows are the same ones under its new name.
    for old_name, new_name in collection_renames.renamed_collections(compared.changes):
        if old_config is not None:
            old_config = collection_renames.rename_config(old_config, old_name, new_name)
    return dataclasses.replace(compared, config=sync.diff(old_config, new_config, rules))


def compare_schema(
    old: Side,
    new: Side,
    rules: selection.Rules | None = None,
    *,
    whole: bool = False,
    remember: bool = True,
    shared: validate.Shared | None = None,
    related: bool = False,
) -> Comparison:
    """What applying ``new``'s data model to a project like ``old`` changes. Snapshots from different
    Directus releases or databases are compared as ``push`` would: ``new`` translated for
    ``old``'s origin, by the documented rules (the comparison says which it applied).
    What ``rules`` ignore is left out of both sides.

    Two committed folders already read once (``treecache``) are compared by the entries that
    differ only, and ``before`` and ``after`` hold only those, unless ``whole`` is asked for;
    two schema folders otherwise (committed ones not remembered, or a folder on disk such as
    the working tree's), by the collection files that differ only (``validate.load_changed``),
    when most files are the same on both sides; with ignore rules too (:func:`_changed_ignoring`).
    Without ``remember``, folders read in full are not remembered (a walk through more commits
    than are kept would only replace records with records); ``shared`` is as for
    :func:`snapshots`. With ``related`` (for a diagram of the change), what relates to the
    collections the change touches is known too (:meth:`Comparison.drawn`): two committed
    folders are then compared by the files that differ, and the few that name them."""
    if not whole and not rules:
        remembered = (None if related else _remembered(old, new)) or _changed(old, new, shared, related)
        if remembered is not None:
            return remembered
    if not whole and rules:
        ignoring = _changed_ignoring(old, new, rules, shared)
        if ignoring is not None:
            return ignoring
    before, after = snapshots(old, new, remember=remember, shared=shared)
    if rules:
        before, after = selection.apply(before, rules)[0], selection.apply(after, rules)[0]
    origins = [(key, before.get(key), after.get(key)) for key in ("directus", "vendor")]
    if all(ours == theirs for _, ours, theirs in origins):
        return Comparison(changes.compare(before, after), before, after)
    from directus_gitops.engine import translate

    translation = translate.translate(after, before)
    warnings = [
        f"the snapshots come from different {what} ({ours}, {theirs}): compared by the translation rules"
        for (key, ours, theirs), what in zip(origins, ("Directus releases", "databases"), strict=True)
        if ours != theirs
    ]
    warnings += translate.origin_warnings(after)
    result = changes.compare(before, translation.snapshot)
    return Comparison(changes.ChangeSet(result.changes, tuple(warnings)), before, after, translation)


def _remembered(old: Side, new: Side) -> Comparison | None:
    """Both sides committed folders of one origin, both remembered: the entries that are the
    same on both change nothing and are left out before comparing."""
    if old.tree is None or new.tree is None:
        return None
    before_record = treecache.load(old.tree)
    after_record = treecache.load(new.tree) if before_record is not None else None
    if before_record is None or after_record is None:
        return None
    if any(before_record.header.get(key) != after_record.header.get(key) for key in ("directus", "vendor")):
        return None  # compared by the translation rules, which look at whole snapshots
    try:
        before, after = treecache.differing(before_record, after_record)
    except treecache.Damaged:
        treecache.forget(old.tree)
        treecache.forget(new.tree)
        return None
    return Comparison(changes.compare(before, after), before, after, fields=before_record.fields)


def _changed(old: Side, new: Side, shared: validate.Shared | None, related: bool = False) -> Comparison | None:
    """Both sides schema folders, most of their files the same: only the files that differ
    are read (and checked, with what they refer to), then compared; with ``related``, the
    relations of the others to the collections of those files too."""
    if old.tree is None or new.tree is None:
        return None
    from directus_gitops.model import validate

    found = validate.load_changed(old.tree, new.tree, shared)
    if found is None:
        return None
    relations: list[snap.Entry] = []
    if related:  # (the unread files are the same on both sides: either side's hold them)
        touched = snap.collection_names(found.before) | snap.collection_names(found.after)
        known = validate.relations_to(new.tree, touched, found.unread)
        if known is None:
            return None
        relations = known
    return Comparison(
        changes.compare(found.before, found.after),
        found.before,
        found.after,
        warnings=found.warnings,
        config_files=found.config,
        related=tuple(relations),
    )


def _changed_ignoring(
    old: Side, new: Side, rules: selection.Rules, shared: validate.Shared | None
) -> Comparison | None:
    """:func:`_changed` with ignore rules: what the rules leave out of the files that differ is
    decided with the relations the unread files hold to those files' collections too (a
    relation to an ignored collection takes its field along, wherever it is written), which
    is all :func:`selection.ignored` looks at besides names. None (read whole) when the new
    side has warnings: they are said of what the rules keep, which only the whole read tells."""
    found = _changed(old, new, shared, related=True)
    if found is None or found.warnings:
        return None
    context = list(found.related)

    def kept(side: snap.Snapshot) -> snap.Snapshot:
        parts = selection.ignored({**side, "relations": [*side.get("relations", []), *context]}, rules)
        return selection.without(side, parts) if parts else side

    before, after = kept(found.before), kept(found.after)
    return Comparison(changes.compare(before, after), before, after, warnings=(), config_files=found.config_files)


class Checkout:
    """The git repository, opened only when an argument needs it (paths never do)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._repo: Repo | None = None

    def repo(self) -> Repo:
        if self._repo is None:
            from directus_gitops.files.gitrepo import Repo

            self._repo = Repo(self._config.root)
        return self._repo

    def folder(self) -> str:
        return self.repo().relpath(self._config.schema_dir)


def _is_revision(git: Checkout, arg: str) -> bool:
    try:
        git.repo().revision(arg)
    except GitError:
        return False
    return True


def side_for(arg: str, git: Checkout) -> Side:
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
        git.repo().revision(arg)
    except GitError as exc:
        raise GitError(f"'{arg}' is neither an existing path nor a git revision ({exc.message})") from None
    return revision_side(git.repo(), arg, git.folder())


def merge_base_sides(arg: str, git: Checkout) -> tuple[Side, Side]:
    """``A...B``: B against the commit it branched from A at, so that commits A gained since
    do not show up reversed (``A...`` means ``A...HEAD``, as in git)."""
    left, _, right = arg.partition("...")
    repo, folder = git.repo(), git.folder()
    base = repo.merge_base(left or "HEAD", right or "HEAD")
    repo.prepare([base, right or "HEAD"], folder)
    before = revision_side(repo, base, folder)
    label = f"merge base of {left or 'HEAD'} and {right or 'HEAD'} ({base[:10]})"
    return Side(label, tree=before.tree, ref=arg, commit=base), revision_side(repo, right or "HEAD", folder)


def base_moved(arg: str | None, git: Checkout) -> str | None:
    """For ``A...B``: what the review of B's changes against the fork point does not show,
    when A changed the same files since (None: it did not). Hosted merge buttons do not run
    the merge driver, so such a pull request may show a conflict the driver resolves."""
    if not is_range(arg):
        return None
    assert arg is not None
    left, _, right = arg.partition("...")
    repo, folder = git.repo(), git.folder()
    base = repo.merge_base(left or "HEAD", right or "HEAD")
    both = sorted(repo.changed_paths(base, left or "HEAD", folder) & repo.changed_paths(base, right or "HEAD", folder))
    if not both:
        return None
    named = ", ".join(path.rsplit("/", 1)[-1] for path in both[:3]) + (" …" if len(both) > 3 else "")
    return (
        f"{left or 'HEAD'} changed {len(both)} of the same file(s) since this branch forked ({named}): this review "
        "shows the branch's changes, not the merged result. Merge it locally, where the merge driver resolves "
        f"the schema files: `git fetch && git merge {left or 'HEAD'}` (once per clone: `directus-gitops init "
        "--merge-driver`), then push the branch."
    )


def is_range(arg: str | None) -> bool:
    return arg is not None and "..." in arg and not Path(arg).exists()


def working_tree(config: Config) -> Side:
    folder = config.schema_dir
    if not folder.is_dir():
        raise SnapshotError(
            f"{display(folder)}/: no schema folder in the working tree",
            hint="directus-gitops pull writes it from your development server",
        )
    return path_side(folder, f"the working tree ({display(folder)}/)")


def sides(config: Config, git: Checkout, old: str | None, new: str | None) -> tuple[Side, Side]:
    for arg, other in ((old, new), (new, old)):
        if is_range(arg) and other is not None:
            raise ConfigError(f"a range such as '{arg}' goes alone: diff A...B")
    if old is not None and is_range(old):
        return merge_base_sides(old, git)
    revisions = [arg for arg in (old or "HEAD", new) if arg is not None and not Path(arg).exists()]
    if len(revisions) == 2:  # two commits: both looked up and listed at once
        git.repo().prepare(revisions, git.folder())
    if old is not None:
        before = side_for(old, git)
    elif git.repo().has_commits():
        before = revision_side(git.repo(), "HEAD", git.folder())
    else:  # a new repository: everything in the working tree is new
        before = Side("HEAD (no commits yet)")
    return before, side_for(new, git) if new is not None else working_tree(config)


def renames_of(side: Side) -> tuple[renames.Rename, ...]:
    """The renames a side's schema folder records (none for a snapshot file)."""
    if side.tree is None:
        return ()
    return renames.recorded(store.read_manifest(side.tree.read, side.tree.source))


def config_of(side: Side) -> Any:
    """The configuration kinds a side's schema folder holds (None: none)."""
    if side.tree is None:
        return None
    record = treecache.load(side.tree)
    if record is not None and not record.config:
        return None  # known without reading the manifest again
    manifest = store.read_manifest(side.tree.read, side.tree.source)
    if manifest is None or manifest.get("config") is None:
        return None  # what sync.load says then, without importing the kinds
    from directus_gitops.engine import configuration as sync

    return sync.load(side.tree.read, side.tree.source)
