"""Collection renames that keep the rows: the files rewritten and the changes folded.

``directus-gitops rename articles posts`` records ``{collection: articles, to: posts}`` in the
manifest's ``renames`` (a field rename has a ``from`` besides). The rewrite covers the
collection's own file (its name, its fields' and relations' ``collection``), the relations in
both directions (``many_collection``, ``one_collection``, ``one_allowed_collections``, the
tables and the default constraint name of its own foreign keys), the folders and collections
grouped under it, and the configuration naming it: permissions, presets, flows' event
triggers and operations, panels, and reference data (``data/<collection>.yaml``).

Applied as Directus's own diff, a collection rename is a dropped table and an empty new one:
:func:`fold` shows it as one ``→ rename collection articles → posts``, which loses nothing, and
``push`` copies the rows (engine/collection_rename.py).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from directus_gitops.base.errors import ConfigError
from directus_gitops.files import snapshot as snap
from directus_gitops.model import changes as model

Pair = tuple[str, str]  # (old, new) collection names

# What Directus fills in itself when a row is created or changed through the items API: the new
# collection's fields are created without them for the copy (the apply that follows puts them
# back), or every row's creation date and user would be the push's.
WRITTEN_BY_DIRECTUS = frozenset({"date-created", "date-updated", "user-created", "user-updated"})
# A relation's properties that name the collection it points at.
_POINTING = ("related_collection", "meta.one_collection", "schema.foreign_key_table")


def effective(pairs: Sequence[Pair]) -> list[Pair]:
    """Each recorded name to the name the last rename of a chain gives it (a → b, b → c: a → c
    and b → c)."""
    result: list[Pair] = []
    for index, (old, first) in enumerate(pairs):
        name = first
        for later_old, later_new in pairs[index + 1 :]:
            if later_old == name:
                name = later_new
        if name != old and all(old != done for done, _ in result):
            result.append((old, name))
    return result


# --------------------------------------------------------------------------- the data model


def check_renamable(snapshot: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """The collection's entry, when it can be renamed to ``new``; else a clear refusal."""
    collections = {str(c.get("collection")): c for c in snapshot.get("collections") or []}
    if old.startswith("directus_"):
        raise ConfigError(f"'{old}' is a system collection: Directus does not let it be renamed")
    if new.startswith("directus_"):
        raise ConfigError(f"'{new}' is a name Directus keeps for its own collections")
    entry = collections.get(old)
    if entry is None:
        raise ConfigError(f"no collection '{old}' in the schema folder")
    if old == new:
        raise ConfigError(f"'{old}' already has that name")
    if new.lower() in {name.lower() for name in collections}:
        raise ConfigError(f"there is a collection '{new}' already")
    for field in snapshot.get("fields") or []:
        special = set((field.get("meta") or {}).get("special") or [])
        if field.get("collection") == old and special & {"hash", "conceal"}:
            raise ConfigError(
                f"'{old}.{field.get('field')}' is hashed or concealed: the items API never returns its values, "
                "so the rows cannot be copied"
            )
    for relation in snapshot.get("relations") or []:
        allowed = (relation.get("meta") or {}).get("one_allowed_collections") or []
        if old in allowed:
            raise ConfigError(
                f"the many-to-any relation {relation.get('collection')}.{relation.get('field')} can point at "
                f"'{old}': its rows hold the collection's name, which renaming it is not built for",
                hint="remove it from the relation's allowed collections first, or keep the name",
            )
    return dict(entry)


def _renamed(value: Any, old: str, new: str) -> Any:
    return new if value == old else value


def relation_entry(entry: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A relation with the collection renamed on either side."""
    result = copy.deepcopy(dict(entry))
    meta, schema = result.get("meta"), result.get("schema")
    if result.get("collection") == old:
        result["collection"] = new
        if isinstance(meta, dict):
            meta["many_collection"] = _renamed(meta.get("many_collection"), old, new)
        if isinstance(schema, dict):
            schema["table"] = _renamed(schema.get("table"), old, new)
            if schema.get("constraint_name") == f"{old}_{result.get('field')}_foreign":
                schema["constraint_name"] = f"{new}_{result.get('field')}_foreign"
    if result.get("related_collection") == old:
        result["related_collection"] = new
        if isinstance(schema, dict):
            schema["foreign_key_table"] = _renamed(schema.get("foreign_key_table"), old, new)
    if isinstance(meta, dict):
        meta["one_collection"] = _renamed(meta.get("one_collection"), old, new)
        if isinstance(meta.get("one_allowed_collections"), list):
            meta["one_allowed_collections"] = [_renamed(c, old, new) for c in meta["one_allowed_collections"]]
    return result


def collection_entry(entry: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    result = copy.deepcopy(dict(entry))
    meta, schema = result.get("meta"), result.get("schema")
    if result.get("collection") == old:
        result["collection"] = new
        if isinstance(meta, dict):
            meta["collection"] = new
        if isinstance(schema, dict):
            schema["name"] = new
    if isinstance(meta, dict) and meta.get("group") == old:
        meta["group"] = new
    return result


def field_entry(entry: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A field of the collection under its new name, or a field whose foreign key points at it."""
    result = copy.deepcopy(dict(entry))
    schema = result.get("schema")
    if isinstance(schema, dict) and schema.get("foreign_key_table") == old:
        schema["foreign_key_table"] = new
    if result.get("collection") != old:
        return result
    result["collection"] = new
    if isinstance(result.get("meta"), dict):
        result["meta"]["collection"] = new
    if isinstance(schema, dict) and schema.get("table") == old:
        schema["table"] = new
    return result


def rename_snapshot(snapshot: Mapping[str, Any], old: str, new: str) -> snap.Snapshot:
    """``snapshot`` with the collection renamed wherever the model names it."""
    result: snap.Snapshot = dict(snapshot)
    result["collections"] = [collection_entry(c, old, new) for c in snapshot.get("collections") or []]
    result["fields"] = [field_entry(f, old, new) for f in snapshot.get("fields") or []]
    result["relations"] = [relation_entry(r, old, new) for r in snapshot.get("relations") or []]
    return result


# --------------------------------------------------------------------------- the configuration


def rename_config(state: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A configuration state (model/kinds/model.py) with the collection renamed where it is named."""
    result = copy.deepcopy(dict(state))
    holders = [*(result.get("policies") or []), *(result.get("roles") or [])]
    if isinstance(result.get("public"), dict):
        holders.append(result["public"])
    for holder in holders:
        for permission in holder.get("permissions") or []:
            permission["collection"] = _renamed(permission.get("collection"), old, new)
    for preset in result.get("presets") or []:
        preset["collection"] = _renamed(preset.get("collection"), old, new)
    for flow in result.get("flows") or []:
        options = flow.get("options")
        if isinstance(options, dict) and isinstance(options.get("collections"), list):
            options["collections"] = [_renamed(c, old, new) for c in options["collections"]]
        for operation in flow.get("operations") or []:
            _option(operation, old, new)
    for dashboard in result.get("dashboards") or []:
        for panel in dashboard.get("panels") or []:
            _option(panel, old, new)
    data = result.get("data")
    if isinstance(data, dict):
        tables = {}
        for name, table in data.items():
            if isinstance(table, dict):
                table["collection"] = _renamed(table.get("collection"), old, new)
                if isinstance(table.get("references"), dict):
                    table["references"] = {k: _renamed(v, old, new) for k, v in table["references"].items()}
            tables[_renamed(name, old, new)] = table
        result["data"] = dict(sorted(tables.items()))
    return result


def _option(item: Any, old: str, new: str) -> None:
    """An operation's or panel's ``options.collection`` (item read/create/update/delete, metrics)."""
    options = item.get("options") if isinstance(item, dict) else None
    if isinstance(options, dict) and options.get("collection") == old:
        options["collection"] = new


def moved_field_records(records: Iterable[Mapping[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    """The manifest's field-rename records with the collection's new name, so that a target
    taken through the collection rename first meets them under the name it then has."""
    return [
        {**item, "collection": new} if "from" in item and item.get("collection") == old else dict(item)
        for item in records
    ]


# --------------------------------------------------------------------------- changes


def _props(
    old_entry: Mapping[str, Any] | None, new_entry: Mapping[str, Any] | None, kind: model.Kind
) -> tuple[model.PropertyChange, ...]:
    return tuple(model.property_changes(model.sanitize(kind, old_entry or {}), model.sanitize(kind, new_entry or {})))


def with_dropped(found: model.ChangeSet, target: Mapping[str, Any], names: Iterable[str]) -> model.ChangeSet:
    """``found`` (Directus's own diff, which leaves out the fields and relations of a dropped
    collection) with the deletes of ``target``'s that a collection named in ``names`` takes
    with it, which :func:`fold` reads under the new name."""
    names = set(names)
    sections: tuple[tuple[model.Kind, str], ...] = (("field", "fields"), ("relation", "relations"))
    result = []
    for change in found:
        if change.kind == "collection" and change.action == "delete" and change.collection in names:
            taken = [
                model.Change(kind, "delete", change.collection, str(entry.get("field")), entry=entry)
                for kind, section in sections
                for entry in target.get(section) or []
                if entry.get("collection") == change.collection
            ]
            change = replace(change, within=tuple(replace(t, data_loss=model.classify(t)) for t in taken))
        result.append(change)
    return model.ChangeSet(tuple(result), found.warnings)


def fold(found: model.ChangeSet, pairs: Sequence[Pair], desired: Mapping[str, Any] | None = None) -> model.ChangeSet:
    """``found`` with each dropped collection and the added one a recorded rename explains shown
    as one ``rename collection``: the old side's fields and relations are read under the new
    name (what is left differing shows as changes of the new collection), and the relations of
    other collections that only point at the new name are no change. ``desired``: the snapshot
    being applied, when whole: a target holding both names is a rename that stopped part-way."""
    wanted = {str(c.get("collection")) for c in (desired or {}).get("collections") or []}
    changes = list(found)
    warnings: list[str] = []
    for old, new in effective(pairs):
        gone = _find(changes, "delete", old)
        if gone is None:
            continue
        made = _find(changes, "create", new)
        if made is None and new not in wanted:
            continue
        if made is None:
            warnings.append(
                f"{old} → {new}: the target holds both collections (a rename stopped part-way); a push copies the "
                f"rows again, checks them, moves the relations and drops {old}"
            )
        changes = _fold_one(changes, gone, made, old, new, desired or {})
    return model.ChangeSet(tuple(changes), (*found.warnings, *warnings))


def _find(changes: Sequence[model.Change], action: str, collection: str) -> model.Change | None:
    found = (c for c in changes if c.kind == "collection" and (c.action, c.collection) == (action, collection))
    return next(found, None)


def _fold_one(
    changes: list[model.Change],
    gone: model.Change,
    made: model.Change | None,
    old: str,
    new: str,
    desired: Mapping[str, Any],
) -> list[model.Change]:
    creates = {(c.kind, c.collection, c.field): c for c in changes if c.action == "create"}
    used = {id(gone)} | ({id(made)} if made is not None else set())
    result: list[model.Change] = []
    props = _props(collection_entry(gone.entry or {}, old, new), made.entry, "collection") if made else ()
    folded = [model.Change("collection", "rename", new, properties=props, entry=gone.entry, renamed_from=old)]
    listed = {id(c) for c in changes}
    both = {
        (kind, str(item.get("field")))
        for kind, section in (("field", "fields"), ("relation", "relations"))
        for item in desired.get(section) or []
        if item.get("collection") == new
    }
    for change in [*(c for c in gone.within if id(c) not in listed), *changes]:
        if id(change) in used:
            continue
        if change.action == "delete" and change.kind in ("field", "relation") and change.collection == old:
            # The old side under the new name: the same field or relation on both sides is none.
            moved = (field_entry if change.kind == "field" else relation_entry)(change.entry or {}, old, new)
            twin = creates.get((change.kind, new, change.field))
            if twin is not None:
                used.add(id(twin))
                differing = _props(moved, twin.entry, change.kind)
                if differing:
                    kept = replace(twin, action="update", properties=differing, data_loss=())
                    result.append(replace(kept, data_loss=model.classify(kept)))
                continue
            if made is None and (change.kind, change.field) in both:
                continue  # stopped part-way: the target has it under the new name already
            related = moved.get("related_collection") if change.kind == "relation" else None
            result.append(replace(change, collection=new, entry=moved, related_collection=related))
            continue
        if change.kind in ("relation", "field") and change.action == "update" and change.collection != old:
            # Pointing at the new name instead of the old one is the rename itself.
            rest = tuple(p for p in change.properties if not (p.path in _POINTING and p.old == old and p.new == new))
            if len(rest) != len(change.properties):
                if rest:
                    pointed = new if change.kind == "relation" else change.related_collection
                    result.append(replace(change, properties=rest, related_collection=pointed))
                continue
        if change.kind == "collection" and change.action == "update":
            rest = tuple(p for p in change.properties if not (p.path == "meta.group" and (p.old, p.new) == (old, new)))
            if rest != change.properties:
                if rest:
                    result.append(replace(change, properties=rest))
                continue
        result.append(change)
    return [c for c in result if id(c) not in used] + folded


def renamed_collections(found: Iterable[model.Change]) -> list[Pair]:
    """The collection renames a change set holds (what ``push`` performs first; a folder's,
    without a table, is Directus's own drop and add)."""
    return [(c.renamed_from, c.collection) for c in found if c.kind == "collection" and c.renamed_from]
