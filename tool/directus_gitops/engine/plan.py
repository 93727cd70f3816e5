"""Planning: what ``push`` would change on a target, computed by the target itself.

The desired state is the schema folder as **committed** at a git revision (never the
working tree, which CI may have touched). The target's ``/schema/diff`` turns it into a
diff plus the hash of the target's current schema; that hash is what makes the later apply
safe, so a plan saved with ``--out`` can only be applied to the unchanged target.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ConfigError, DocumentError, GitError, GitOpsError, ServerError
from directus_gitops.base.formats import JSON_FORMAT_VERSION
from directus_gitops.engine import backup as backups
from directus_gitops.engine import targetview, translate
from directus_gitops.engine.backup import Staged
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from directus_gitops.model import changes, collection_renames, renames, selection, treecache, validate
from directus_gitops.model.config import Config, Target
from directus_gitops.server.client import Diff, DirectusClient, version_of

if TYPE_CHECKING:  # the configuration kinds: imported only for a folder that holds some
    from directus_gitops.engine import configuration as sync
    from directus_gitops.engine.status import Origin
    from directus_gitops.model.kinds.model import State as ConfigState


PLAN_FORMAT = "directus-gitops-plan"


PLAN_FORMAT_VERSION = JSON_FORMAT_VERSION  # one type everywhere: the string "1"


# Plan files written before the version became a string say 1; they read the same.
_READABLE_VERSIONS = (PLAN_FORMAT_VERSION, 1)


@dataclass(frozen=True)
class Source:
    """The desired state, the data model and the synced configuration, and where it came from."""

    snapshot: snap.Snapshot
    label: str  # "HEAD (1a2b3c4d5e)" or a path
    ref: str | None = None
    commit: str | None = None
    # The configuration kinds the folder holds (None: none, or a saved plan's, read apart).
    config: ConfigState | None = None
    renames: tuple[renames.Rename, ...] = ()  # the renames the folder records (model/renames.py)
    path: str | None = None  # the folder or file read, when not a git revision


@dataclass
class Plan:
    source: Source
    target: Target
    target_snapshot: snap.Snapshot
    target_version: str | None
    diff: Diff | None
    changes: changes.ChangeSet = field(default_factory=changes.ChangeSet)
    forced: bool = False  # made with --force: verifying it needs the same
    translation: translate.Translation | None = None  # what was sent instead of the source as is
    system_index_changes: bool = False  # made with --allow-system-index-changes
    forced_for: tuple[str, ...] = ()  # what Directus's own check would have refused, let through by --force
    # How the snapshot's origin differs from the target's, carried across by the translation
    # rules without --force (another database; a release the environment accepts).
    across: tuple[str, ...] = ()
    mode: selection.Mode = "mirror"
    kept: tuple[selection.Kept, ...] = ()  # what merge mode leaves on the target
    sent: snap.Snapshot | None = None  # the snapshot the diff was asked for (for the diagram)
    # True when target_snapshot is the target's view the diff gives (targetview), not a full read.
    from_diff: bool = False
    backup: Staged | None = None  # the target's schema backed up alongside the diff (push), to keep or discard
    config: sync.Plan | None = None  # the configuration kinds' plan (None: the source holds none)
    origin: Origin | None = None  # where its changes come from: the change under review, or drift

    def __post_init__(self) -> None:
        if self.diff is not None and not self.changes:
            self.changes = changes.from_server(self.diff.diff)

    @property
    def target_vendor(self) -> str | None:
        vendor = self.target_snapshot.get("vendor")
        return str(vendor) if vendor else None

    def context(self) -> dict[str, Any]:
        return {
            "source": {
                "label": self.source.label,
                "ref": self.source.ref,
                "commit": self.source.commit,
                "directus": self.source.snapshot.get("directus"),
                "vendor": self.source.snapshot.get("vendor"),
            },
            "target": {
                "env": self.target.name,
                "url": self.target.url,
                "directus": self.target_version,
                "vendor": self.target_vendor,
            },
            "hash": self.diff.hash if self.diff else None,
            "translation": self.translation.as_list() if self.translation else [],
            "relied_on_force": list(self.forced_for),
            "across_origins": list(self.across),
            "mode": self.mode,
            "kept": [{"kind": k.kind, "name": k.name, "reason": k.reason} for k in self.kept],
            "origin": self.origin.as_dict() if self.origin is not None else None,
        }

    @property
    def kept_lines(self) -> list[str]:
        return [k.line() for k in self.kept]

    @property
    def translated(self) -> list[str]:
        lines = self.translation.lines() if self.translation else []
        across = [f"across origins, by the rules above: {reason}" for reason in self.across]
        return lines + across + [f"relied on --force: {reason}" for reason in self.forced_for]


def _warned(console: Console, source: Source, written: tuple[str, ...] = ()) -> Source:
    """``source``, after saying what in it Directus accepts but looks broken: ``written`` what
    reading its files found (``store.Loaded.warnings``), then what the snapshot holds."""
    for warning in written:
        console.warn(warning)
    for warning in validate.snapshot_warnings(source.snapshot):
        console.warn(f"{source.label}: {warning}")
    return source


def read_source(
    config: Config, console: Console, *, ref: str | None, path: Path | None, remembered: bool = True
) -> Source:
    """The committed snapshot at ``ref`` (default HEAD), or the snapshot at ``path``. Without
    ``remembered``, the committed files themselves are read and checked even when the
    folder is remembered (``treecache``)."""
    if path is not None:
        if ref is not None:
            raise ConfigError("give either --ref or --from, not both")
        configured = None
        if path.is_dir():  # a schema folder may hold configuration too (a snapshot file never does)
            from directus_gitops.engine import configuration as sync

            configured = sync.load(store.dir_reader(path), str(path))
        recorded = renames.recorded(store.read_manifest(store.dir_reader(path), str(path))) if path.is_dir() else ()
        loaded = validate.load_path(path)
        return _warned(
            console,
            Source(loaded.snapshot, label=str(path), config=configured, renames=recorded, path=str(path)),
            loaded.warnings,
        )
    from directus_gitops.files.gitrepo import Repo

    repo = Repo(config.schema_dir.parent if config.schema_dir.parent.exists() else config.root)
    folder = repo.relpath(config.schema_dir)
    rev = ref or "HEAD"
    if not repo.has_commits():
        raise GitOpsError(f"the repository has no commits yet: commit {folder}/ first")
    commit, tree = repo.schema_tree(rev, folder)
    if tree is None:
        raise GitError(
            f"revision '{rev}' ({commit.hexsha[:10]}) has no {folder}/",
            hint="pull from your development server and commit it: directus-gitops pull --commit",
        )
    snapshot, record = treecache.read(tree, trust=remembered)
    dirty = repo.dirty_paths(folder)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        console.warn(f"uncommitted changes under {folder}/ are not pushed: {shown}")
    configured = None
    if record is None or record.config:  # the manifest lists configuration files: read them too
        from directus_gitops.engine import configuration as sync

        configured = sync.load(tree.read, tree.source)
    recorded = renames.recorded(store.read_manifest(tree.read, tree.source))
    return _warned(
        console,
        Source(
            snapshot,
            label=f"{rev} ({commit.hexsha[:10]})",
            ref=rev,
            commit=commit.hexsha,
            config=configured,
            renames=recorded,
        ),
    )


def translation_for(
    client: DirectusClient,
    source: snap.Snapshot,
    target_snapshot: snap.Snapshot,
    target_release: str | None,
    *,
    system_index_changes: bool,
) -> translate.Translation:
    """``source`` translated for the target ``client`` talks to, as it is now."""
    known: dict[tuple[str, str], bool] = {}

    def has_field(collection: str, name: str) -> bool:
        if (collection, name) not in known:
            known[(collection, name)] = client.has_field(collection, name)
        return known[(collection, name)]

    return translate.translate(
        source,
        target_snapshot,
        target_release=target_release,
        system_index_changes=system_index_changes,
        target_has_field=has_field,
        target_mariadb=client.mariadb(target_snapshot.get("vendor")),
    )


@dataclass(frozen=True)
class Desired:
    """What is sent to a target: the source without ignored parts, translated, plus what the
    target keeps (its ignored parts; in merge mode, what only it has)."""

    snapshot: snap.Snapshot
    translation: translate.Translation
    kept: tuple[selection.Kept, ...]


def desired(
    client: DirectusClient,
    source: snap.Snapshot,
    current: snap.Snapshot,
    target_release: str | None,
    *,
    mode: selection.Mode,
    system_index_changes: bool,
) -> Desired:
    rules = client.target.ignore
    filtered, left_out = selection.apply(source, rules)
    translation = translation_for(client, filtered, current, target_release, system_index_changes=system_index_changes)
    sent, kept = selection.keep_on_target(translation.snapshot, current, rules, mode, left_out)
    return Desired(sent, translation, kept)


def make_plan(
    client: DirectusClient,
    source: Source,
    console: Console,
    *,
    force: bool,
    system_index_changes: bool = False,
    mode: selection.Mode | None = None,
    read_target: bool = False,
    backup_to: Path | None = None,
) -> Plan:
    """The plan for ``client``'s target, its configuration kinds' included (``plan.config``).
    With ``read_target`` the plan's ``target_snapshot`` is the target read in full (the
    diagram draws it), read while the target computes the diff. Otherwise the target is read
    in full only where the diff alone cannot tell the translation what it needs (see
    ``_from_diff``). With ``backup_to`` (a push), the target's schema is backed up alongside
    the diff too, into ``plan.backup`` (staged there: the caller keeps or discards it):
    written as it is read, or from the full read where the plan makes one anyway."""
    target = client.target
    mode = mode or target.mode
    with console.progress(f"Asking '{target.name}' for its release"):
        info = client.server_info()
    target_release = version_of(info)
    tells = _diff_tells_enough(source, target, mode, force=force, target_release=target_release)
    full_read = read_target or (backup_to is not None and not tells)
    with _Background(client, full=full_read, backup_to=backup_to) as background:
        full = background.snapshot
        plan = None
        if tells:
            plan = _from_diff(client, source, console, target_release, full, system_index_changes=system_index_changes)
        if plan is None:
            with console.progress(f"Reading the schema of '{target.name}'"):
                target_snapshot = full.result() if full is not None else client.snapshot()
            plan = _from_snapshot(
                client,
                source,
                console,
                target_snapshot,
                target_release or target_snapshot.get("directus"),
                force=force,
                system_index_changes=system_index_changes,
                mode=mode,
            )
        plan.backup = background.staged()
    try:
        # A drop and an add that a recorded rename explains is one rename, which push performs first.
        dropped = collection_renames.with_dropped(
            plan.changes, plan.target_snapshot, (r.old for r in source.renames if r.whole)
        )
        plan.changes = renames.fold(dropped, source.renames, source.snapshot)
        plan.config = plan_config(client, plan)
    except BaseException:
        if plan.backup is not None:
            plan.backup.discard()
        raise
    return plan


class _Background:
    """``GET /schema/snapshot`` on a second connection, while this one asks for the diff: the
    target read in full (``full``), and its backup (``backup_to``), made from that read, or
    else written as the target is read (never held whole). Whatever stops the plan stops the
    reading and discards the backup."""

    def __init__(self, client: DirectusClient, *, full: bool, backup_to: Path | None) -> None:
        self._client = client
        self._full = full
        self._backup_to = backup_to
        self._pool: ThreadPoolExecutor | None = None
        self._cancelled = threading.Event()
        self.snapshot: Future[snap.Snapshot] | None = None
        self._staged: Future[Staged] | None = None

    def __enter__(self) -> _Background:
        if not self._full and self._backup_to is None:
            return self
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot")
        if self._full:
            self.snapshot = self._pool.submit(_read_in_full, self._client)
        folder, snapshot, target = self._backup_to, self.snapshot, self._client.target
        if folder is not None and snapshot is not None:
            self._staged = self._pool.submit(lambda: backups.of_snapshot(target, snapshot.result(), folder))
        elif folder is not None:
            self._staged = self._pool.submit(_streamed_backup, self._client, folder, self._cancelled)
        return self

    def staged(self) -> Staged | None:
        """The backup, once made (what stopped it, raised)."""
        return self._staged.result() if self._staged is not None else None

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if self._pool is None:
            return
        if exc_type is not None:
            self._cancelled.set()
        self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
        staged = self._staged
        if exc_type is not None and staged is not None and not staged.cancelled() and staged.exception() is None:
            staged.result().discard()


def _read_in_full(client: DirectusClient) -> snap.Snapshot:
    with client.sibling() as other:
        return other.snapshot()


def _streamed_backup(client: DirectusClient, folder: Path, cancelled: threading.Event) -> Staged:
    with client.sibling() as other:
        return backups.streamed(other, folder, cancelled)


def _diff_tells_enough(
    source: Source, target: Target, mode: selection.Mode, *, force: bool, target_release: str | None
) -> bool:
    """Whether the target's diff alone can show the translation what it needs.

    Only for a snapshot of the target's own release, without ignore rules or merge mode (they
    keep parts of the target the diff does not show) and without --force (Directus's own
    release and database check is what tells a snapshot of another database apart).
    """
    theirs = snap.release(target_release)
    return (
        not force
        and mode == "mirror"
        and not target.ignore.schema
        and theirs is not None
        and snap.release(source.snapshot.get("directus")) == theirs
        and bool(source.snapshot.get("vendor"))
        and source.snapshot.get("version", 1) == 1
        and not translate.origin_warnings(source.snapshot)
        # Directus's diff leaves out the fields of a dropped collection, which a collection
        # rename reads under the new name from the target read in full (collection_renames.py).
        and not any(rename.whole for rename in source.renames)
        and not _written_by_hand(source.snapshot)
    )


# What every release from 9.26 to 12.4 writes for a field (a property a newer release added is
# not here): an entry without one of them was written by hand or by another tool.
_FIELD_META = frozenset({"collection", "field", "special", "interface", "options", "hidden", "sort", "width", "note"})
_FIELD_SCHEMA = frozenset({"name", "table", "data_type", "default_value", "is_nullable", "is_primary_key"})


def _written_by_hand(snapshot: snap.Snapshot) -> bool:
    """Whether a field leaves out what Directus writes (hand-written files): a column without
    ``schema``, or a ``meta`` or ``schema`` without some of its properties. What it leaves out is
    the target's (rule absent-properties), which Directus's diff does not show: it reports the
    properties as removed, or (10.13.4) leaves such a field out of one diff and names it in the
    next. So the target is read in full (a public file, devspelunk/personal-site, on 10.13.4
    PostgreSQL: exit 4 from the diff alone, converged from the full read)."""
    for entry in snapshot.get("fields") or ():
        if not isinstance(entry, dict) or entry.get("type") == "alias":
            continue
        if "schema" not in entry:
            return True
        meta, schema = entry.get("meta"), entry["schema"]
        if isinstance(meta, dict) and not meta.keys() >= _FIELD_META:
            return True
        if isinstance(schema, dict) and not schema.keys() >= _FIELD_SCHEMA:
            return True
    return False


def _from_diff(
    client: DirectusClient,
    source: Source,
    console: Console,
    target_release: str | None,
    full: Future[snap.Snapshot] | None,
    *,
    system_index_changes: bool,
) -> Plan | None:
    """The plan from the diff alone: the source is sent translated as if the target held it,
    and the target's answer shows every entry that differs, with the target's side
    (``targetview``). The translation made against that view is the one a full read would
    give; when it differs from what was sent, the diff is asked again for it. With ``full``
    (the target read in full, alongside), the translation is checked against that instead.

    None when the target refuses the snapshot (another database: Directus says so) or the
    view cannot be made; the caller then reads the target in full.
    """
    target = client.target
    snapshot = source.snapshot

    def translated(current: snap.Snapshot) -> translate.Translation:
        return translation_for(client, snapshot, current, target_release, system_index_changes=system_index_changes)

    def ask(sent: snap.Snapshot) -> Diff | None:
        with console.progress(f"Waiting for '{target.name}' to compute the diff"):
            return client.diff(sent)

    sent = translated(snapshot).snapshot
    try:
        diff = ask(sent)
    except ServerError as exc:
        if exc.status == 400:  # another database, or something a translation may fix: read in full
            return None
        raise
    if full is not None:
        with console.progress(f"Reading the schema of '{target.name}'"):
            current = full.result()
        translation = translated(current)
        if translation.snapshot != sent:
            diff = ask(translation.snapshot)
        return _plan(source, target, current, target_release, diff, translation, from_diff=False)
    for last in (False, True):
        view = targetview.view(sent, diff.diff if diff else None)
        if view is None:
            return None
        translation = translated(view)
        if translation.snapshot == sent:
            return _plan(source, target, view, target_release, diff, translation, from_diff=True)
        if last:
            break
        sent = translation.snapshot
        diff = ask(sent)
    return None


def _plan(
    source: Source,
    target: Target,
    target_snapshot: snap.Snapshot,
    target_release: str | None,
    diff: Diff | None,
    translation: translate.Translation,
    *,
    from_diff: bool,
) -> Plan:
    return Plan(
        source,
        target,
        target_snapshot,
        target_release,
        diff,
        translation=translation,
        sent=translation.snapshot,
        from_diff=from_diff,
    )


def _from_snapshot(
    client: DirectusClient,
    source: Source,
    console: Console,
    target_snapshot: snap.Snapshot,
    target_release: str | None,
    *,
    force: bool,
    system_index_changes: bool,
    mode: selection.Mode,
) -> Plan:
    """The plan from the target read in full: any release, database, ignore rules or mode."""
    target = client.target
    origins = translate.compatibility(source.snapshot, target_snapshot)
    across = [o.message for o in origins if translate.covered(o, source.snapshot, target.accept_releases)]
    problems = [o.message for o in origins if o.message not in across]
    if problems and not force:
        release_only = all(o.kind == "release" for o in origins if o.message in problems)
        raise GitOpsError(
            f"'{target.name}' would refuse this snapshot: {'; '.join(problems)}",
            hint=(
                f"to take snapshots of Directus {source.snapshot.get('directus')} by the translation rules, add it "
                f"to accept_releases of '{target.name}' in directus-gitops.yaml; or pass --force"
                if release_only
                else "pull from a server that records its database, or pass --force to let Directus compare anyway"
            )
            + " (then read the plan closely: what no rule covers shows up as changes)",
        )
    for problem in problems:
        console.warn(f"{problem} (--force)")
    for warning in translate.origin_warnings(source.snapshot):
        console.warn(warning)
    with console.progress(f"Translating {source.label} for '{target.name}'"):
        wanted = desired(
            client,
            source.snapshot,
            target_snapshot,
            target_release,
            mode=mode,
            system_index_changes=system_index_changes,
        )
    translation = wanted.translation
    # Directus's own check is skipped for what the rules carry across or --force lets through.
    forced = force or bool(origins)
    with console.progress(f"Waiting for '{target.name}' to compute the diff"):
        diff = client.diff(wanted.snapshot, force=forced)
    return Plan(
        source,
        target,
        target_snapshot,
        target_release,
        diff,
        forced=forced,
        translation=translation,
        system_index_changes=system_index_changes,
        forced_for=tuple(problems),
        across=tuple(across),
        mode=mode,
        kept=wanted.kept,
        sent=wanted.snapshot,
    )


def verify(client: DirectusClient, plan: Plan) -> Diff | None:
    """What still differs on the target after an apply of ``plan``: None when nothing does.

    The target is asked for the diff of what was sent; only when something is left is it
    translated again against the target as it is now (the translation may see the target
    differently once the apply made new entries), which the diff itself shows for a plan
    made from the diff alone, and a full read shows otherwise.
    """
    force = plan.forced
    if plan.sent is not None and _diff_tells_enough(
        plan.source, plan.target, plan.mode, force=force, target_release=plan.target_version
    ):
        remaining = client.diff(plan.sent)
        if remaining is None:
            return None
        view = targetview.view(plan.sent, remaining.diff)
        if view is not None:
            again = desired_now(client, plan, view)
            return remaining if again == plan.sent else client.diff(again)
    return client.diff(desired_now(client, plan, client.snapshot()), force=force)


def desired_now(client: DirectusClient, plan: Plan, current: snap.Snapshot) -> snap.Snapshot:
    return desired(
        client,
        plan.source.snapshot,
        current,
        plan.target_version,
        mode=plan.mode,
        system_index_changes=plan.system_index_changes,
    ).snapshot


def save(plan: Plan, path: Path, config_plan: sync.Plan | None = None) -> None:
    """The plan as a file for ``push --plan``: the schema's diff (absent when only the
    configuration changes) and the configuration kinds' files with the target's fingerprint."""
    assert plan.diff is not None or (config_plan is not None and config_plan.changes)
    document: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "format_version": PLAN_FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **plan.context(),
        "force": plan.forced,
        "system_index_changes": plan.system_index_changes,
        "diff": plan.diff.diff if plan.diff is not None else None,
        # The desired snapshot travels with the plan, so push can verify after applying
        # without needing the same checkout.
        "snapshot": plan.source.snapshot,
    }
    if plan.source.renames:
        document["renames"] = renames.entries(plan.source.renames)
    if config_plan is not None and config_plan.changes:
        from directus_gitops.engine import configuration as sync

        document["config"] = sync.saved(config_plan)
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def load_saved(path: Path) -> dict[str, Any]:
    try:
        store.check_size(path.stat().st_size, str(path))
        document = store.parse_document(path.read_bytes(), str(path), as_json=True)
    except DocumentError as exc:
        raise ConfigError(f"{exc.message} (not a readable plan file)") from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such plan file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise ConfigError(f"{path}: not a directus-gitops plan file")
    version = document.get("format_version")
    if isinstance(version, bool) or version not in _READABLE_VERSIONS:
        raise ConfigError(f"{path}: plan format_version {document.get('format_version')} is not supported")
    config_only = document.get("config") is not None and document.get("diff") is None
    if not config_only and (not isinstance(document.get("hash"), str) or not isinstance(document.get("diff"), dict)):
        raise ConfigError(f"{path}: the plan has no hash and diff")
    validate.load_document(document.get("snapshot"), f"{path}: snapshot")
    wrong = store.rename_problems(document.get("renames"))
    if wrong:
        raise ConfigError(f"{path}: {wrong[0].message}")
    if document.get("config") is not None:  # checked as the files are, before any request
        from directus_gitops.engine import configuration as sync

        sync.saved_state(document["config"], f"{path}")
    return document


def plan_config(client: DirectusClient, plan: Plan) -> sync.Plan | None:
    """The configuration kinds' plan against the target, when the source holds any."""
    if plan.source.config is None:
        return None
    from directus_gitops.engine import configuration as sync

    return sync.plan(
        client,
        plan.source.config,
        plan.target_version,
        rules=plan.target.ignore,
        mode=plan.mode,
        renamed=collection_renames.renamed_collections(plan.changes),
        files_release=plan.source.snapshot.get("directus"),
    )
