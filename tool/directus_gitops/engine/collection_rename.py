"""A recorded collection rename done on a target before its schema is applied, keeping every row.

Directus has no rename for a collection, and what it offers around one loses data (measured on
12.4.1, docs/renames.md): a relation's ``related_collection`` cannot be changed (``PATCH
/relations`` answers 200 and keeps it; a schema apply of the change keeps it too and clears the
relation's meta), ``DELETE /relations`` leaves the foreign key in place on SQLite, and deleting a
collection that a junction points at takes the junction's rows with it (ON DELETE CASCADE). So:

1. the new collection is created like the old one (``POST /collections`` with its columns;
   without the values Directus fills in on create, ``date-created`` and the like, which would
   overwrite every row's, and not as a singleton, whose one row could not be posted);
2. every row is copied with its primary key through the items API, in batches, sorted by key
   (a resumed copy posts the rows not there yet and patches those that differ); the row count
   and a SHA-256 checksum of every column of both collections must agree;
3. each relation of another collection pointing at the old one (an m2o, a junction's field, a
   translations' link) is moved: its values go to a field of their own (no foreign key), the
   field goes with its foreign key, comes back empty, the relation is created to the new
   collection, and the values are copied back, checked each time (engine/rename.py's copy);
4. only then is the old collection dropped.

The apply that follows does the rest: the new collection's own relations, its alias fields,
its settings (singleton, the specials) and what else the files say. A failure part-way leaves
both collections, with every row in the old one: the push exits 5, and the next push resumes
from what it finds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from directus_gitops.base.errors import ConfigError, GitOpsError, PartialApplyError, ServerError
from directus_gitops.engine import rename as field_rename
from directus_gitops.model.collection_renames import WRITTEN_BY_DIRECTUS, Pair
from directus_gitops.model.renames import Rename
from directus_gitops.server.client import DirectusClient

BATCH = field_rename.BATCH
MOVING = "__moving"  # the suffix of the field a relation's values wait in while it moves
# What a column's definition holds that Directus assigns or that names the old table.
_NOT_SENT = ("table", "foreign_key_table", "foreign_key_column", "foreign_key_schema", "constraint_name")


@dataclass(frozen=True)
class Done:
    old: str
    new: str
    state: str  # "renamed", "already", "folder"
    rows: int = 0
    checksum: str = ""
    moved: tuple[str, ...] = ()  # the relations moved to the new collection (collection.field)
    # The moved fields' columns as they were (by collection and field): setting them back loses nothing.
    old_schemas: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)

    def line(self) -> str:
        if self.state == "already":
            return f"{self.old} → {self.new}: already done on the target"
        if self.state == "folder":
            return f"{self.old} → {self.new}: a folder (no rows): the apply drops one and adds the other"
        moved = f", {len(self.moved)} relation(s) moved ({', '.join(self.moved)})" if self.moved else ""
        return (
            f"renamed collection {self.old} → {self.new}: {self.rows} row(s) copied, checksum {self.checksum} "
            f"matches{moved}; {self.old} dropped"
        )


def _collection_path(name: str) -> str:
    return f"/collections/{quote(name, safe='')}"


def perform(
    client: DirectusClient,
    todo: Sequence[Pair],
    desired: Mapping[str, Any],
    *,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[Done]:
    """Do each collection rename on ``client``'s target (module docstring); ``desired``: the
    snapshot the push applies after, which says where the relations point. A failure after the
    target was changed is a :class:`PartialApplyError` (exit 5) saying both collections are there."""
    done: list[Done] = []
    for old, new in todo:
        try:
            done.append(_perform_one(client, old, new, desired, progress))
            progress(done[-1].line())
        except ServerError as exc:
            if not _holds_both(client, old, new):
                raise
            reached = f"; {', '.join(f'{d.old} → {d.new}' for d in done)} done before it" if done else ""
            raise PartialApplyError(
                f"the rename of the collection {old} → {new} stopped part-way: '{client.target.name}' now holds "
                f"both collections, with every row still in {old}{reached}: {exc.message}",
                hint=f"push again once the cause is fixed: the copy resumes, is checked, the relations are moved, "
                f"and only then is {old} dropped",
            ) from None
    return done


def _holds_both(client: DirectusClient, old: str, new: str) -> bool:
    try:
        names = {str(c.get("collection")) for c in client.read("/collections") or []}
    except GitOpsError:
        return False
    return old in names and new in names


def _perform_one(
    client: DirectusClient, old: str, new: str, desired: Mapping[str, Any], progress: Callable[[str], None]
) -> Done:
    target = client.snapshot()
    collections = {str(c.get("collection")): c for c in target.get("collections") or []}
    if old not in collections:
        return Done(old, new, "already")
    if collections[old].get("schema") is None:
        return Done(old, new, "folder")
    fields = [f for f in target.get("fields") or [] if f.get("collection") == old]
    columns = [str(f["field"]) for f in fields if f.get("type") != "alias" and f.get("schema") is not None]
    primary = next((str(f["field"]) for f in fields if (f.get("schema") or {}).get("is_primary_key")), None)
    if primary is None:
        raise ConfigError(f"'{old}' has no primary key on the target: its rows cannot be copied")
    moves = _relations_to_move(target, desired, old, new)
    if new not in collections:
        progress(f"creating the collection {new} like {old}")
        client.write("POST", "/collections", _created_like(collections[old], fields, new))
    else:
        progress(f"the collection {new} is there already: copying again")
    rows, checksum = _copy(client, old, new, columns, primary, progress)
    old_schemas: dict[tuple[str, str], Mapping[str, Any]] = {}
    for collection, name, relation in moves:
        progress(f"moving the relation {collection}.{name} to {new}")
        files = (f for f in desired.get("fields") or [] if (f.get("collection"), f.get("field")) == (collection, name))
        wanted: Mapping[str, Any] = next(files, {})
        old_schemas[(collection, name)] = _move(client, collection, name, relation, old, progress, wanted)
    for relation in target.get("relations") or []:
        if relation.get("collection") == old and relation.get("related_collection") == old:
            # Directus 12 on SQLite fails to drop a collection with a foreign key to itself (500,
            # "Cannot read properties of undefined (reading 'sql')"): its column goes first, its
            # values being in the new collection already.
            progress(f"dropping {old}.{relation.get('field')}, which points at {old} itself")
            client.write("DELETE", f"/fields/{quote(old, safe='')}/{quote(str(relation.get('field')), safe='')}")
    progress(f"dropping the collection {old}")
    client.write("DELETE", _collection_path(old))
    moved = tuple(f"{c}.{n}" for c, n, _ in moves)
    return Done(old, new, "renamed", rows, checksum, moved, old_schemas)


def _created_like(collection: Mapping[str, Any], fields: Sequence[Mapping[str, Any]], new: str) -> dict[str, Any]:
    """The body of ``POST /collections`` for a collection like ``collection``, named ``new``, with
    its columns (module docstring: what is left out until the apply)."""
    meta = {k: v for k, v in (collection.get("meta") or {}).items() if k not in ("id", "collection")}
    meta["singleton"] = False
    body: list[dict[str, Any]] = []
    for entry in fields:
        if entry.get("type") == "alias" or entry.get("schema") is None:
            continue
        field_meta = {k: v for k, v in (entry.get("meta") or {}).items() if k not in ("id", "collection")}
        special = [s for s in field_meta.get("special") or [] if s not in WRITTEN_BY_DIRECTUS]
        field_meta["special"] = special or None
        schema = {k: v for k, v in (entry.get("schema") or {}).items() if k not in _NOT_SENT}
        body.append({"field": entry["field"], "type": entry.get("type"), "meta": field_meta, "schema": schema})
    return {"collection": new, "meta": meta, "schema": {"name": new}, "fields": body}


def _digest(client: DirectusClient, collection: str, columns: Sequence[str], primary: str) -> tuple[int, str]:
    """The row count and a checksum of every column of ``collection``, read in key order."""
    digest, counted = hashlib.sha256(), 0
    for rows in field_rename.pages(client, collection, columns, primary):
        for row in rows:
            counted += 1
            digest.update(json.dumps([row.get(name) for name in columns], sort_keys=True).encode() + b"\n")
    return counted, digest.hexdigest()


def _copy(
    client: DirectusClient, old: str, new: str, columns: Sequence[str], primary: str, progress: Callable[[str], None]
) -> tuple[int, str]:
    """Every row of ``old`` into ``new`` with its key; rows there already are patched where they
    differ (a resumed copy). Then both read back: the count and the checksum must agree."""
    there: dict[str, dict[str, Any]] = {}
    for rows in field_rename.pages(client, new, columns, primary):
        there.update({json.dumps(row.get(primary)): row for row in rows})
    copied = 0
    for rows in field_rename.pages(client, old, columns, primary):
        missing = [row for row in rows if json.dumps(row.get(primary)) not in there]
        differing = [
            row for row in rows if json.dumps(row.get(primary)) in there and row != there[json.dumps(row.get(primary))]
        ]
        if missing:
            client.write_rows("POST", field_rename.items_path(new), missing)
        if differing:
            client.write_rows("PATCH", field_rename.items_path(new), differing)
        copied += len(rows)
        if copied and copied % (BATCH * 10) == 0:
            progress(f"copying {old} → {new}: {copied} row(s)")
    old_count, old_sum = _digest(client, old, columns, primary)
    new_count, new_sum = _digest(client, new, columns, primary)
    if (old_count, old_sum) != (new_count, new_sum):
        raise ServerError(
            f"the rows copied from {old} to {new} do not read back the same ({old_count} row(s) in {old}, "
            f"{new_count} in {new})"
        )
    return new_count, new_sum[:12]


def _relations_to_move(
    target: Mapping[str, Any], desired: Mapping[str, Any], old: str, new: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """The relations of other collections that point at ``old`` on the target (or lost theirs in
    a move that stopped part-way) and at ``new`` in the files: (collection, field, the relation
    as the files have it). One pointing at ``old`` that the files do not move is refused: dropping
    ``old`` would take its values with it."""
    wanted = {
        (str(r["collection"]), str(r["field"])): dict(r)
        for r in desired.get("relations") or []
        if r.get("related_collection") == new and r.get("collection") not in (old, new)
    }
    current = {(str(r["collection"]), str(r["field"])): r for r in target.get("relations") or []}
    fields = {(str(f["collection"]), str(f["field"])) for f in target.get("fields") or []}
    for (collection, name), relation in current.items():
        if relation.get("related_collection") == old and collection != old and (collection, name) not in wanted:
            raise ConfigError(
                f"the target's relation {collection}.{name} points at '{old}', and the files do not point it at "
                f"'{new}': dropping {old} would lose its values; nothing was changed",
                hint=f"keep the relation in the files (to {new}), or remove it in a push of its own first",
            )
    moves = []
    for (collection, name), relation in sorted(wanted.items()):
        now = current.get((collection, name))
        waiting = (collection, name + MOVING) in fields
        if waiting or (now is not None and now.get("related_collection") == old):
            moves.append((collection, name, relation))
        elif now is None and (collection, name) in fields:
            moves.append((collection, name, relation))  # its values moved back, its relation not yet made
    return moves


def _fields_of(client: DirectusClient, collection: str) -> dict[str, Mapping[str, Any]]:
    return {str(f.get("field")): f for f in client.read(f"/fields/{quote(collection, safe='')}") or []}


def _relation_of(client: DirectusClient, collection: str, name: str) -> Mapping[str, Any] | None:
    listed = client.read(f"/relations/{quote(collection, safe='')}") or []
    return next((r for r in listed if r.get("field") == name), None)


def _move(
    client: DirectusClient,
    collection: str,
    name: str,
    relation: Mapping[str, Any],
    old: str,
    progress: Callable[[str], None],
    wanted: Mapping[str, Any],
) -> Mapping[str, Any]:
    """Point ``collection.name`` at the relation's (new) collection, keeping every value: the
    column's definition as it was (as ``wanted``, the files' field, has it when the target no
    longer shows it: a move resumed) is returned, setting it back losing nothing."""
    waiting = name + MOVING
    listed = _fields_of(client, collection)
    original = (listed.get(name) if waiting not in listed else None) or wanted
    original = dict(original.get("schema") or {})
    now = _relation_of(client, collection, name)
    if waiting not in listed and now is not None and now.get("related_collection") == old:
        if now.get("schema") is not None:
            # Its foreign key cannot be changed nor dropped on its own (SQLite): the column goes
            # with it, once its values wait in a field of their own.
            field_rename.perform_one(client, Rename(collection, name, waiting), progress)
            listed = _fields_of(client, collection)
        else:
            client.write("DELETE", f"/relations/{quote(collection, safe='')}/{quote(name, safe='')}")
    if waiting in listed:
        field_rename.perform_one(client, Rename(collection, waiting, name), progress)
    if _relation_of(client, collection, name) is None:
        client.write(
            "POST",
            "/relations",
            {
                "collection": collection,
                "field": name,
                "related_collection": relation.get("related_collection"),
                "meta": {k: v for k, v in (relation.get("meta") or {}).items() if k != "id"},
                "schema": None
                if relation.get("schema") is None
                else {k: relation["schema"].get(k) for k in ("on_delete", "on_update")},
            },
        )
    if original.get("is_nullable") is False:
        path = f"/fields/{quote(collection, safe='')}/{quote(name, safe='')}"
        client.write("PATCH", path, {"schema": {"is_nullable": False}})
    return original
