"""Renames that keep the data: the schema folder rewritten, and the rename done on a target.

``rename_field`` rewrites the working tree's schema folder (model/renames.py says what it
rewrites) with the writers ``pull`` uses, so the files are byte for byte what a pull of the
renamed model would write, and records the rename in the manifest.

``perform`` does a recorded rename on a target before its schema is applied: the new field is
created like the old one (``POST /fields``), every value is copied in batches through the
items API, the row count and a checksum of the values are compared, and only then is the old
field dropped. Relations, permissions and presets move with the apply of the renamed files
that follows. A failure part-way leaves both fields: the next push sees the old field and the
new one, copies again, checks and drops.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from directus_gitops.base.console import display
from directus_gitops.base.errors import ConfigError, GitOpsError, PartialApplyError, ServerError, SnapshotError
from directus_gitops.files import store
from directus_gitops.model import collection_renames, renames, validate
from directus_gitops.model.config import Config
from directus_gitops.model.renames import Rename
from directus_gitops.server.client import DirectusClient

BATCH = 200  # rows read and written per request


# --------------------------------------------------------------------------- the files


@dataclass(frozen=True)
class Rewritten:
    """What ``rename_field`` changed: the files (relative paths), and what it could not."""

    rename: Rename
    changed: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def rename_field(config: Config, old: str, new: str) -> Rewritten:
    """Rename ``COLLECTION.FIELD`` to ``COLLECTION.NEW_FIELD`` in the schema folder (or, given
    two collection names, the collection: :func:`rename_collection`)."""
    collection, field = renames.parse_argument(old, "the field")
    other, new_field = renames.parse_argument(new, "the new name")
    if field is None and new_field is None:
        return rename_collection(config, collection, other)
    if field is None or new_field is None:
        raise ConfigError(
            f"'{old}' and '{new}' are not both fields (COLLECTION.FIELD) nor both collections",
            hint="directus-gitops rename articles.title articles.headline, or rename articles posts",
        )
    if other != collection:
        raise ConfigError(
            f"a field stays in its collection: '{new}' names another collection than '{old}'",
            hint=f"directus-gitops rename {old} {collection}.{new_field}",
        )
    rename = Rename(collection, field, new_field)

    def model(snapshot: Mapping[str, Any]) -> tuple[Mapping[str, Any], renames.Related]:
        renames.check_renamable(snapshot, rename)
        related = renames.relations_of(snapshot)
        return renames.rename_snapshot(snapshot, rename), related

    def records(listed: list[dict[str, str]]) -> list[dict[str, str]]:
        return [*listed, rename.entry()]

    unsure: list[tuple[str, Any, str]] = []

    def configuration(state: Mapping[str, Any], related: renames.Related) -> dict[str, Any]:
        return renames.rename_config(state, rename, related, lambda *at: unsure.append(at))

    changed, renamed_state = _rewrite(config, model, configuration, records)
    warnings = _unsure(config.schema_dir, rename, unsure, renamed_state) + _unreached(config, rename)
    return Rewritten(rename, changed, tuple(warnings))


def rename_collection(config: Config, old: str, new: str) -> Rewritten:
    """Rename the collection ``old`` to ``new`` in the schema folder (model/collection_renames.py)."""
    rename = Rename.of_collection(old, new)

    def model(snapshot: Mapping[str, Any]) -> tuple[Mapping[str, Any], renames.Related]:
        collection_renames.check_renamable(snapshot, old, new)
        return collection_renames.rename_snapshot(snapshot, old, new), renames.relations_of(snapshot)

    def records(listed: list[dict[str, str]]) -> list[dict[str, str]]:
        return [*collection_renames.moved_field_records(listed, old, new), rename.entry()]

    changed, _ = _rewrite(
        config, model, lambda state, _related: collection_renames.rename_config(state, old, new), records
    )
    return Rewritten(rename, changed, tuple(_unreached_collection(config, old, new)))


def _rewrite(
    config: Config,
    model: Callable[[Mapping[str, Any]], tuple[Mapping[str, Any], renames.Related]],
    configuration: Callable[[Mapping[str, Any], renames.Related], dict[str, Any]],
    records: Callable[[list[dict[str, str]]], list[dict[str, str]]],
) -> tuple[tuple[str, ...], Any]:
    """Rewrite the working tree's schema folder: ``model`` renames the snapshot (or refuses),
    ``configuration`` the configuration state, ``records`` gives the manifest's renames. The
    files are written by pull's writers, and only once check would accept them. Returns the files
    changed and the renamed configuration state (None without configuration)."""
    folder = config.schema_dir
    store.recover(folder)
    if not (folder / store.MANIFEST).is_file():
        raise SnapshotError(
            f"{folder}/: no {store.MANIFEST}: no schema folder to rename in",
            hint="directus-gitops pull writes it from your development server",
        )
    loaded = validate.load_path(folder)  # refuses a folder check refuses, before anything is rewritten
    read = store.dir_reader(folder)
    manifest = store.read_manifest(read, str(folder)) or {}
    layout: store.Layout = "single" if manifest.get("layout") == "single" else "split"
    snapshot, related = model(loaded.snapshot)
    record = records([dict(item) for item in manifest.get(renames.MANIFEST_KEY) or []])

    config_entry = manifest.get("config")
    files_config: dict[str, bytes] = {}
    renamed_state: Any = None
    if config_entry is not None:
        from directus_gitops.engine import configuration as sync
        from directus_gitops.model.kinds import files as kind_files

        state = sync.load(read, str(folder))
        assert state is not None
        renamed_state = configuration(state, related)
        files_config, config_entry = kind_files.render(renamed_state, config_entry.get("ignored"))
    files = store.render(dict(snapshot), layout, config_entry, renames=record)
    files.update(files_config)
    validate.load_tree(store.memory_tree(files, f"{folder} (renamed)"))  # what check would say of the result
    before = store.owned(folder)
    store.write_tree(folder, files)
    changed = tuple(sorted(path for path in set(files) | set(before) if files.get(path) != before.get(path)))
    return changed, renamed_state


def _unsure(folder: Path, rename: Rename, found: list[tuple[str, Any, str]], state: Any) -> list[str]:
    """Each flow or panel option left as it was that may name the field, with its file."""
    if not found:
        return []
    from directus_gitops.model.kinds import files as kind_files

    paths = {(path.split("/")[1], document.get("id")): path for path, document in kind_files.documents(state).items()}
    return [
        f"{display(folder)}/{paths.get((group, item), group)}: {where} may name {rename.collection}.{rename.old}: "
        f"left as it is (free text, a script or data passed along the flow); check it"
        for group, item, where in found
    ]


def _unreached_collection(config: Config, old: str, new: str) -> list[str]:
    """directus-gitops.yaml's ``data:`` naming the collection: the file is the user's to change."""
    said = []
    where = [("data", config.data)] + [(f"environments: {n}: data", e.data) for n, e in config.environments.items()]
    for label, data in where:
        if old in data:
            said.append(
                f"{config.path or 'directus-gitops.yaml'}: {label} names '{old}': change it to '{new}' "
                "before the next pull"
            )
    return said


def _unreached(config: Config, rename: Rename) -> list[str]:
    """What names the field outside the schema folder: directus-gitops.yaml's ``data:``."""
    specs = [("data", config.data.get(rename.collection))]
    specs += [
        (f"environments: {name}: data", env.data.get(rename.collection)) for name, env in config.environments.items()
    ]
    said = []
    for where, spec in specs:
        if spec is not None and rename.old in (*spec.key, *spec.fields):
            said.append(
                f"{config.path or 'directus-gitops.yaml'}: {where}: {rename.collection} names '{rename.old}': "
                f"change it to '{rename.new}' before the next pull"
            )
    return said


# --------------------------------------------------------------------------- a target


def _fields_path(collection: str, field: str | None = None) -> str:
    path = f"/fields/{quote(collection, safe='')}"
    return f"{path}/{quote(field, safe='')}" if field is not None else path


def items_path(collection: str) -> str:
    return f"/items/{quote(collection, safe='')}"


def _created_like(old: Mapping[str, Any], rename: Rename) -> dict[str, Any]:
    """The body of ``POST /fields`` for a field like ``old`` under the name ``new``: without its
    foreign key (the relation comes with the apply that follows) and the ids Directus assigns,
    and nullable."""
    entry = renames.renamed_field({**old, "collection": rename.collection, "field": rename.old}, rename)
    entry.pop("collection", None)
    meta = entry.get("meta")
    if isinstance(meta, dict):
        entry["meta"] = {key: value for key, value in meta.items() if key not in ("id", "collection")}
    schema = entry.get("schema")
    if isinstance(schema, dict):
        entry["schema"] = {
            key: value
            for key, value in schema.items()
            if key not in ("table", "foreign_key_table", "foreign_key_column", "foreign_key_schema", "constraint_name")
        }
        # Empty until the copy fills it (a database adds no required column to a table with rows);
        # the apply that follows makes it required again, as the files say.
        entry["schema"]["is_nullable"] = True
    return entry


@dataclass
class Copied:
    rows: int = 0
    written: int = 0
    checksum: str = ""


def pages(client: DirectusClient, collection: str, fields: Sequence[str], primary: str) -> Iterator[list[Any]]:
    """``collection``'s rows (``fields`` of each), BATCH at a time in key order (a singleton: its one row)."""
    offset = 0
    while True:
        params = {"fields": ",".join(fields), "sort": primary, "limit": str(BATCH), "offset": str(offset)}
        data = client.read(items_path(collection), params)
        rows = [data] if isinstance(data, dict) else list(data or [])
        yield rows
        if isinstance(data, dict) or len(rows) < BATCH:
            return
        offset += BATCH


def _copy(
    client: DirectusClient, rename: Rename, primary: str, singleton: bool, progress: Callable[[int], None]
) -> Copied:
    """Every row's old value into the new field, where they differ (a resumed copy writes only
    what is left); then read both back: the count and a checksum of each column must agree."""
    copied = Copied()
    for rows in pages(client, rename.collection, [primary, rename.old, rename.new], primary):
        batch = [
            {primary: row.get(primary), rename.new: row.get(rename.old)}
            for row in rows
            if row.get(rename.old) != row.get(rename.new)
        ]
        if batch and singleton:
            client.write("PATCH", items_path(rename.collection), {rename.new: batch[0][rename.new]})
        elif batch:
            client.write_rows("PATCH", items_path(rename.collection), batch)
        copied.rows += len(rows)
        copied.written += len(batch)
        if copied.rows and copied.rows % (BATCH * 10) == 0:
            progress(copied.rows)
    old_sum, new_sum, counted = hashlib.sha256(), hashlib.sha256(), 0
    for rows in pages(client, rename.collection, [primary, rename.old, rename.new], primary):
        for row in rows:
            counted += 1
            key = json.dumps(row.get(primary), sort_keys=True)
            old_sum.update(f"{key}\0{json.dumps(row.get(rename.old), sort_keys=True)}\n".encode())
            new_sum.update(f"{key}\0{json.dumps(row.get(rename.new), sort_keys=True)}\n".encode())
    if counted != copied.rows or old_sum.digest() != new_sum.digest():
        raise ServerError(
            f"the values copied from {rename.collection}.{rename.old} to {rename.new} do not read back the same "
            f"({copied.rows} row(s) copied, {counted} read back)"
        )
    copied.checksum = new_sum.hexdigest()[:12]
    return copied


@dataclass(frozen=True)
class Done:
    rename: Rename
    state: str  # "renamed", "already"
    rows: int = 0
    written: int = 0
    checksum: str = ""
    old_schema: Mapping[str, Any] | None = None  # the old field's column, which every value came from

    def line(self) -> str:
        if self.state == "already":
            return f"{self.rename.label}: already done on the target"
        return (
            f"renamed {self.rename.label}: {self.rows} row(s), {self.written} value(s) copied, "
            f"checksum {self.checksum} matches; {self.rename.old} dropped"
        )


def perform(
    client: DirectusClient,
    todo: Sequence[Rename],
    *,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[Done]:
    """Do each rename on ``client``'s target (module docstring). A failure after the target was
    changed is a :class:`PartialApplyError` (exit 5) saying both fields are there."""
    done: list[Done] = []
    for rename in todo:
        try:
            done.append(_perform_one(client, rename, progress))
            progress(done[-1].line())
        except ServerError as exc:
            both = _holds(client, rename)
            if both is None or not both[0] or not both[1]:
                raise
            reached = f"; {', '.join(d.rename.label for d in done)} done before it" if done else ""
            raise PartialApplyError(
                f"the rename {rename.label} stopped part-way: '{client.target.name}' now holds both fields, "
                f"with every value still in {rename.old}{reached}: {exc.message}",
                hint="push again once the cause is fixed: the copy starts over, is checked, and only then is "
                f"{rename.collection}.{rename.old} dropped",
            ) from None
    return done


def _holds(client: DirectusClient, rename: Rename) -> tuple[bool, bool] | None:
    try:
        fields = {str(f.get("field")) for f in client.read(_fields_path(rename.collection)) or []}
    except GitOpsError:
        return None
    return rename.old in fields, rename.new in fields


def perform_one(client: DirectusClient, rename: Rename, progress: Callable[[str], None]) -> Done:
    """One field rename, its failures as they come (a collection rename moves relations with it)."""
    return _perform_one(client, rename, progress)


def _perform_one(client: DirectusClient, rename: Rename, progress: Callable[[str], None]) -> Done:
    listed = client.read(_fields_path(rename.collection)) or []
    fields = {str(f.get("field")): f for f in listed if isinstance(f, dict)}
    if rename.old not in fields:
        return Done(rename, "already")
    primary = next((name for name, entry in fields.items() if (entry.get("schema") or {}).get("is_primary_key")), None)
    if primary is None:
        raise ConfigError(f"'{rename.collection}' has no primary key on the target: its values cannot be copied")
    if rename.new not in fields:
        progress(f"creating {rename.collection}.{rename.new} like {rename.old}")
        client.write("POST", _fields_path(rename.collection), _created_like(fields[rename.old], rename))
    else:
        progress(f"{rename.collection}.{rename.new} is there already: copying again")
    collection = client.read(f"/collections/{quote(rename.collection, safe='')}") or {}
    singleton = bool((collection.get("meta") or {}).get("singleton")) if isinstance(collection, dict) else False
    copied = _copy(client, rename, primary, singleton, lambda rows: progress(f"copying {rename.label}: {rows} row(s)"))
    old_schema = fields[rename.old].get("schema") or {}
    if old_schema.get("is_nullable") is False:
        # Required again, as the old one was: every value is in place, so no row can be null.
        client.write("PATCH", _fields_path(rename.collection, rename.new), {"schema": {"is_nullable": False}})
    progress(f"dropping {rename.collection}.{rename.old}")
    client.write("DELETE", _fields_path(rename.collection, rename.old))
    return Done(rename, "renamed", copied.rows, copied.written, copied.checksum, old_schema)
