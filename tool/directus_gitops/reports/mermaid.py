"""Mermaid entity-relationship diagrams: of a change (what changed and its direct neighbours),
or of a whole model (for documentation).

Only long-standing ER syntax is used (GitHub and GitLab each run their own Mermaid release):
no classes or styles, no entity aliases. So what changed is marked in the text:
a collection that was added, changed or removed gets a first row ``collection ADDED``
(``CHANGED``, ``REMOVED``); a field row and a relation label carry ``+``, ``~`` or ``-``.
Names are reduced to the characters Mermaid accepts (letters, digits, ``_``); a name changed
that way says its real name in the row comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from directus_gitops.model.changes import Change, ChangeSet

_MARK = {"create": "+", "update": "~", "delete": "-", "rename": "~"}
_WORD = {"create": "ADDED", "update": "CHANGED", "delete": "REMOVED", "rename": "RENAMED"}


def _name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return safe if safe and not safe[0].isdigit() else f"c_{safe}"


def _comment(text: str) -> str:
    return '"' + text.replace('"', "'").replace("\n", " ") + '"'


def _type(entry: Mapping[str, Any] | None) -> str:
    value = str((entry or {}).get("type") or "unknown")
    return re.sub(r"[^A-Za-z0-9_]", "_", value) or "unknown"


@dataclass(frozen=True)
class _Relation:
    many: str
    field: str
    one: str


def _relations(snapshot: Mapping[str, Any] | None) -> dict[tuple[str, str], _Relation]:
    found = {}
    for entry in (snapshot or {}).get("relations", []):
        one = entry.get("related_collection")
        if isinstance(one, str):  # many-to-any relations have no single other side
            found[(entry["collection"], entry["field"])] = _Relation(entry["collection"], entry["field"], one)
    return found


def _fields(snapshot: Mapping[str, Any] | None) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(f["collection"], f["field"]): f for f in (snapshot or {}).get("fields", [])}


def _is_key(entry: Mapping[str, Any] | None) -> bool:
    return bool(((entry or {}).get("schema") or {}).get("is_primary_key"))


def _tables(snapshot: Mapping[str, Any] | None) -> set[str]:
    """Collections that are tables (folders have no schema and no fields worth drawing)."""
    return {c["collection"] for c in (snapshot or {}).get("collections", []) if c.get("schema") is not None}


def _entity(name: str, rows: list[str]) -> list[str]:
    if not rows:  # a neighbour: named, drawn by its relations
        return [f"    {_name(name)}"]
    return [f"    {_name(name)} {{", *(f"        {row}" for row in rows), "    }"]


def _field_row(field: str, entry: Mapping[str, Any] | None, note: str = "") -> str:
    key = " PK" if _is_key(entry) else ""
    if _name(field) != field:
        note = f"{note} {field}".strip()
    return f"{_type(entry)} {_name(field)}{key}" + (f" {_comment(note)}" if note else "")


def _relation_line(relation: _Relation, mark: str = "") -> str:
    label = f"{mark} {relation.field}".strip()
    return f"    {_name(relation.one)} ||--o{{ {_name(relation.many)} : {_comment(label)}"


def diagram(changes: ChangeSet, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """The collections ``changes`` touch and their direct neighbours, with what changed marked.

    ``before`` and ``after`` are the two snapshots compared (their relations decide who the
    neighbours are; their fields give types and keys).
    """
    relevant = [c for c in changes if c.kind != "system_field"]
    changed = {c.collection for c in relevant}
    old_rel, new_rel = _relations(before), _relations(after)
    old_fields, new_fields = _fields(before), _fields(after)
    relation_change = {(c.collection, c.field): c for c in relevant if c.kind == "relation"}

    lines = ["erDiagram"]
    if not relevant:
        return "\n".join([*lines, "    %% no changes to the data model"]) + "\n"
    by_collection: dict[str, list[Change]] = {}
    for change in relevant:
        by_collection.setdefault(change.collection, []).append(change)

    for collection in sorted(by_collection):
        items = by_collection[collection]
        rows = []
        own = next((c for c in items if c.kind == "collection"), None)
        if own is not None:
            detail = {
                "create": "added collection",
                "update": "collection settings changed",
                "delete": "removed",
                "rename": f"renamed from {own.renamed_from}",
            }
            rows.append(f"collection {_WORD[own.action]} {_comment(f'{_MARK[own.action]} {detail[own.action]}')}")
        field_changes = {c.field: c for c in items if c.kind == "field" and c.field}
        keys = [
            name
            for (coll, name), entry in {**old_fields, **new_fields}.items()
            if coll == collection and _is_key(entry) and name not in field_changes
        ]
        rows.extend(
            _field_row(name, new_fields.get((collection, name)) or old_fields.get((collection, name))) for name in keys
        )
        if own is not None and own.action == "delete" and not field_changes:
            rows.extend(
                _field_row(name, entry)
                for (coll, name), entry in sorted(old_fields.items())
                if coll == collection and name not in keys
            )
        for name in sorted(field_changes):
            change = field_changes[name]
            entry = (
                old_fields.get((collection, name)) if change.action == "delete" else new_fields.get((collection, name))
            )
            rows.append(_field_row(name, entry or change.entry, f"{_MARK[change.action]} {_describe(change)}"))
        lines.extend(_entity(collection, rows))

    drawn: list[str] = []
    for key in sorted(set(old_rel) | set(new_rel)):
        relation = new_rel.get(key) or old_rel[key]
        if relation.many not in changed and relation.one not in changed:
            continue
        rel_change = relation_change.get(key)
        if rel_change is not None:
            mark = _MARK[rel_change.action]
        elif key not in old_rel:
            mark = "+"
        elif key not in new_rel:
            mark = "-"
        else:
            mark = ""
        drawn.append(_relation_line(relation, mark))
    neighbours = {r.one for r in (*old_rel.values(), *new_rel.values()) if r.many in changed} | {
        r.many for r in (*old_rel.values(), *new_rel.values()) if r.one in changed
    }
    for name in sorted(neighbours - changed):
        lines.extend(_entity(name, []))
    return "\n".join([*lines, *drawn]) + "\n"


def _describe(change: Change) -> str:
    if change.action == "create":
        return "added"
    if change.action == "delete":
        return "removed"
    if change.renamed_from is not None:
        return f"renamed from {change.renamed_from}"
    paths = sorted({p.path for p in change.properties})
    shown = ", ".join(paths[:3]) + (" …" if len(paths) > 3 else "")
    return f"changed: {shown}" if shown else "changed"


def model(snapshot: Mapping[str, Any], collections: Iterable[str] | None = None) -> str:
    """The whole model (or ``collections``): every table with its fields, and every relation."""
    tables = _tables(snapshot)
    wanted = tables if collections is None else tables & set(collections)
    fields = _fields(snapshot)
    lines = ["erDiagram"]
    for collection in sorted(wanted):
        rows = [
            _field_row(name, entry)
            for (coll, name), entry in sorted(fields.items(), key=lambda item: (not _is_key(item[1]), item[0]))
            if coll == collection and entry.get("type") != "alias"
        ]
        lines.extend(_entity(collection, rows))
    for relation in sorted(_relations(snapshot).values(), key=lambda r: (r.many, r.field)):
        if relation.many in wanted and relation.one in wanted:
            lines.append(_relation_line(relation))
    return "\n".join(lines) + "\n"
