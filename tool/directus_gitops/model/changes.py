"""One model of schema changes, built offline from two snapshots or from a server's diff.

``compare(old, new)`` follows the rules Directus's own ``/schema/diff`` uses (which entries
are compared, which vendor-specific properties are ignored, alias switches, deleted
collections taking their fields along), so the offline diff of two commits names the same
collections, fields and relations the server would. ``from_server`` reads the deep-diff
records ``/schema/diff`` returns into the same model. Both mark changes that lose data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from directus_gitops.files import snapshot as snap

Kind = Literal["collection", "field", "relation", "system_field"]
Action = Literal["create", "update", "delete", "rename"]

SIGNS: dict[Action, str] = {"create": "+", "update": "~", "delete": "-", "rename": "→"}
KINDS: tuple[Kind, ...] = ("collection", "field", "relation", "system_field")
_SECTION: dict[Kind, str] = {
    "collection": "collections",
    "field": "fields",
    "relation": "relations",
    "system_field": "systemFields",
}


class _Absent:
    """A property that does not exist on one side (distinct from a null value)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class PropertyChange:
    path: str  # dotted, list positions as numbers: "meta.options.choices.1.value"
    old: Any = ABSENT
    new: Any = ABSENT


@dataclass(frozen=True)
class Change:
    kind: Kind
    action: Action
    collection: str
    field: str | None = None
    related_collection: str | None = None
    properties: tuple[PropertyChange, ...] = ()
    data_loss: tuple[str, ...] = ()
    entry: Mapping[str, Any] | None = None  # the whole definition for create/delete (rename: the old one)
    renamed_from: str | None = None  # a rename (model/renames.py): the field's old name
    # A rename: the commit that recorded it (gitrepo.NOT_COMMITTED: none yet; None: not known).
    recorded_in: str | None = None
    # A deleted collection: the deletes of its fields and relations, which it takes with it (not
    # listed on their own); a collection rename reads them under the new name.
    within: tuple[Change, ...] = ()

    @property
    def name(self) -> str:
        if self.kind == "collection":
            return self.collection if self.renamed_from is None else f"{self.renamed_from} → {self.collection}"
        name = f"{self.collection}.{self.field}"
        if self.renamed_from is not None:
            name = f"{self.collection}.{self.renamed_from} → {name}"
        if self.kind == "relation" and self.related_collection:
            name += f" → {self.related_collection}"
        return name

    @property
    def sign(self) -> str:
        return SIGNS[self.action]


@dataclass(frozen=True)
class ChangeSet:
    changes: tuple[Change, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    @property
    def to_add(self) -> int:
        return sum(1 for c in self.changes if c.action == "create")

    @property
    def to_change(self) -> int:
        return sum(1 for c in self.changes if c.action == "update")

    @property
    def to_destroy(self) -> int:
        return sum(1 for c in self.changes if c.action == "delete")

    @property
    def to_rename(self) -> int:
        return sum(1 for c in self.changes if c.action == "rename")

    @property
    def data_loss(self) -> list[Change]:
        return [c for c in self.changes if c.data_loss]

    def summary(self) -> str:
        """A compact count such as ``+1 collection, ~3 fields, -1 relation``."""
        parts = []
        for action, sign in SIGNS.items():
            for kind in KINDS:
                count = sum(1 for c in self.changes if c.action == action and c.kind == kind)
                if count:
                    noun = kind.replace("_", " ")
                    parts.append(f"{sign}{count} {noun}{'' if count == 1 else 's'}")
        return ", ".join(parts) if parts else "no changes"


# --------------------------------------------------------------------------- sanitising

# Properties the database reports differently per vendor; Directus ignores them in its diff.
_IGNORED: dict[Kind, tuple[tuple[str, str], ...]] = {
    "collection": (
        ("schema", "comment"),
        ("schema", "schema"),
        ("schema", "collation"),
        ("schema", "engine"),
        ("schema", "owner"),
        ("schema", "sql"),
        ("schema", "catalog"),
    ),
    "field": (("schema", "comment"), ("schema", "schema"), ("schema", "foreign_key_schema")),
    "relation": (("schema", "foreign_key_schema"),),
    "system_field": (),
}


def ignored(kind: Kind, section: str, key: str) -> bool:
    """Whether ``section.key`` of a ``kind`` entry is one the diff ignores (a vendor's own)."""
    return (section, key) in _IGNORED[kind]


# Entries whose `meta` Directus writes as null when it has none (an untracked field, a relation
# without a directus_relations row): a file that leaves `meta` out says the same.
_UNTRACKED_META = frozenset({"field", "relation"})


def sanitize(kind: Kind, entry: Mapping[str, Any], *, whole_schema: bool = False) -> dict[str, Any]:
    result = dict(entry)
    if kind in _UNTRACKED_META and "meta" not in result:
        result["meta"] = None
    if whole_schema:
        result.pop("schema", None)
        return result
    for outer, inner in _IGNORED[kind]:
        value = result.get(outer)
        if isinstance(value, dict) and inner in value:
            result[outer] = {k: v for k, v in value.items() if k != inner}
    return result


def _is_auto_increment_pk(entry: Mapping[str, Any]) -> bool:
    schema = entry.get("schema") or {}
    return bool(schema.get("is_primary_key")) and bool(schema.get("has_auto_increment"))


# --------------------------------------------------------------------------- deep compare


# Leaves compared in place, without a call per key: most properties of a changed entry are
# the same (a type change, 1 to True say, is still a change: the types are compared first).
_LEAVES = frozenset((str, int, float, bool, type(None)))


def property_changes(old: Any, new: Any, prefix: str = "") -> list[PropertyChange]:
    """Leaf-level differences between two JSON-like values, with dotted paths."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[PropertyChange] = []
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new:
                changes.append(PropertyChange(f"{prefix}.{key}" if prefix else str(key), old[key], ABSENT))
            elif key not in old:
                changes.append(PropertyChange(f"{prefix}.{key}" if prefix else str(key), ABSENT, new[key]))
            else:
                ours, theirs = old[key], new[key]
                kind = type(ours)
                if kind is type(theirs) and kind in _LEAVES and ours == theirs:
                    continue
                changes.extend(property_changes(ours, theirs, f"{prefix}.{key}" if prefix else str(key)))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            path = f"{prefix}.{index}" if prefix else str(index)
            if index >= len(new):
                changes.append(PropertyChange(path, old[index], ABSENT))
            elif index >= len(old):
                changes.append(PropertyChange(path, ABSENT, new[index]))
            else:
                changes.extend(property_changes(old[index], new[index], path))
        return changes
    if type(old) is not type(new) or old != new:
        return [PropertyChange(prefix, old, new)]
    return []


# --------------------------------------------------------------------------- data loss


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value is ABSENT:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _shrinks(old: Any, new: Any, *, limit_shrinks: bool = True) -> bool:
    before, after = _number(old), _number(new)
    if after is None:
        return False
    # A length limit where there was none (unbounded text, NULL length) shrinks; a precision
    # or scale where there was none does not (the column had no number to shrink from).
    return (before is None and old is not ABSENT and limit_shrinks) or (before is not None and after < before)


def classify(change: Change) -> tuple[str, ...]:
    """Why applying ``change`` can lose data (empty when it cannot)."""
    entry = change.entry or {}
    if change.action == "delete":
        if change.kind == "collection" and entry.get("schema") is not None:
            return ("drops the table and all its rows",)
        if change.kind == "field" and entry.get("type") != "alias" and entry.get("schema") is not None:
            return ("drops the column and its values",)
        if change.kind == "relation":
            schema = entry.get("schema") or {}
            meta = entry.get("meta") or {}
            if str(schema.get("on_delete", "")).upper() == "CASCADE":
                return ("removes a foreign key that cascades deletes",)
            if meta.get("one_deselect_action") == "delete":
                return ("removes a relation that deletes deselected items",)
        return ()
    if change.action != "update":
        return ()
    reasons = []
    for prop in change.properties:
        if change.kind == "system_field" and prop.path == "schema.is_indexed" and prop.old and not prop.new:
            reasons.append("drops an index Directus itself relies on")
        if change.kind != "field":
            continue
        if prop.path == "type":
            reasons.append(f"changes the type {prop.old} → {prop.new}")
        elif prop.path in ("schema.max_length", "schema.numeric_precision", "schema.numeric_scale"):
            if _shrinks(prop.old, prop.new, limit_shrinks=prop.path == "schema.max_length"):
                reasons.append(f"shrinks {prop.path.split('.')[1]} {_show(prop.old)} → {_show(prop.new)}")
        elif prop.path == "schema.is_nullable" and prop.old is True and prop.new is False:
            reasons.append("makes a nullable column required")
        elif prop.path == "schema.is_primary_key":
            reasons.append("changes the primary key")
    return tuple(reasons)


def _show(value: Any) -> str:
    return "none" if value is None or value is ABSENT else str(value)


def _finish(change: Change) -> Change:
    reasons = classify(change)
    if not reasons:
        return change
    return Change(**{**change.__dict__, "data_loss": reasons})


# --------------------------------------------------------------------------- offline

# From 11.3, Directus replaces a field that turns into or out of an alias (delete, then
# create); before, it updates the field in place.
_ALIAS_REPLACEMENT_SINCE = (11, 3, 0)


def replaces_alias_switches(snapshot: Mapping[str, Any]) -> bool:
    """Whether the Directus that took ``snapshot`` diffs an alias switch as delete + create."""
    release = snap.release(snapshot.get("directus"))
    if release is None:
        return True  # unknown: what current releases do
    if snap.misreported_release(snapshot):
        return False  # an older release wrote it
    return release >= _ALIAS_REPLACEMENT_SINCE


def _index(entries: Iterable[Mapping[str, Any]], kind: Kind) -> dict[tuple[str, str], Mapping[str, Any]]:
    if kind == "collection":
        return {(e["collection"], ""): e for e in entries}
    return {(e["collection"], e["field"]): e for e in entries}


def _make(
    kind: Kind,
    action: Action,
    key: tuple[str, str],
    entry: Mapping[str, Any],
    props: Iterable[PropertyChange] = (),
) -> Change:
    return _finish(
        Change(
            kind=kind,
            action=action,
            collection=key[0],
            field=key[1] or None,
            related_collection=entry.get("related_collection") if kind == "relation" else None,
            properties=tuple(props),
            entry=entry,
        )
    )


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> ChangeSet:
    """What applying ``new`` to a project that looks like ``old`` would change.

    ``old`` is the target's side, as in Directus's own diff: its Directus release decides
    the rules that changed between releases.
    """
    replaces_alias = replaces_alias_switches(old)
    changes: list[Change] = []
    for kind in ("collection", "field", "relation"):
        before = _index(old.get(_SECTION[kind], []), kind)
        after = _index(new.get(_SECTION[kind], []), kind)
        for key, current in before.items():
            target = after.get(key)
            if target is None:
                # Also a table Directus does not manage (meta null): 10.x lists those and
                # drops them; from 11.10 snapshots leave them out, so they never get here.
                changes.append(_make(kind, "delete", key, current))
                continue
            if current is target:  # read from the same text on both sides (validate.Shared)
                continue
            if (
                kind == "field"
                and replaces_alias
                and current.get("type") != target.get("type")
                and "alias" in (current.get("type"), target.get("type"))
            ):
                changes.append(_make(kind, "delete", key, current))
                changes.append(_make(kind, "create", key, target))
                continue
            whole = kind == "field" and _is_auto_increment_pk(current)
            props = property_changes(
                sanitize(kind, current, whole_schema=whole),
                sanitize(kind, target, whole_schema=whole),
            )
            if props:
                changes.append(_make(kind, "update", key, target, props))
        changes.extend(_make(kind, "create", key, entry) for key, entry in after.items() if key not in before)
    changes.extend(_system_field_changes(old.get("systemFields") or [], new.get("systemFields") or []))
    return ChangeSet(tuple(_drop_cascaded(changes)))


def _system_field_changes(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> Iterator[Change]:
    before, after = _index(old, "system_field"), _index(new, "system_field")
    for key, current in before.items():
        target = after.get(key)
        if target is None:  # missing from the snapshot: Directus flips the index off
            schema = dict(current.get("schema") or {})
            if "is_indexed" in schema:
                schema["is_indexed"] = not schema["is_indexed"]
            target = {**current, "schema": schema}
        props = property_changes(current, target)
        if props:
            yield _make("system_field", "update", key, target, props)
    for key, target in after.items():
        if key in before or not (target.get("schema") or {}).get("is_indexed"):
            continue
        schema = {**(target.get("schema") or {}), "is_indexed": False}
        yield _make(
            "system_field",
            "update",
            key,
            target,
            property_changes({**target, "schema": schema}, target),
        )


def _drop_cascaded(changes: list[Change]) -> list[Change]:
    """A deleted collection takes its fields and relations with it: don't list them twice."""
    gone = {c.collection for c in changes if c.kind == "collection" and c.action == "delete"}
    taken = [c for c in changes if c.kind in ("field", "relation") and c.collection in gone]
    return [
        replace(c, within=tuple(t for t in taken if t.collection == c.collection))
        if c.kind == "collection" and c.collection in gone
        else c
        for c in changes
        if c.kind == "collection" or c.kind == "system_field" or c.collection not in gone
    ]


# --------------------------------------------------------------------------- server diff


def _untracked_either_way(entry_kind: Kind, path: str, record: Mapping[str, Any]) -> bool:
    """No ``meta`` against ``meta: null``, which Directus's diff reports though the two are one."""
    if entry_kind not in _UNTRACKED_META or path != "meta":
        return False
    side = {"D": "lhs", "N": "rhs"}.get(str(record.get("kind")))
    return side is not None and side in record and record[side] is None


def _record_changes(entry_kind: Kind, records: Iterable[Mapping[str, Any]]) -> list[PropertyChange]:
    props = []
    for record in records:
        path = ".".join(str(part) for part in record.get("path") or [])
        if _untracked_either_way(entry_kind, path, record):
            continue
        kind = record.get("kind")
        if kind == "A":
            item = record.get("item") or {}
            path = f"{path}.{record.get('index')}" if path else str(record.get("index"))
            kind, record = item.get("kind"), item
        old = record.get("lhs", ABSENT) if kind in ("E", "D") else ABSENT
        new = record.get("rhs", ABSENT) if kind in ("E", "N") else ABSENT
        if isinstance(old, dict) and isinstance(new, dict):
            # Directus 12 sends a whole `meta` when a property in it appears or disappears:
            # show the properties that changed, as the offline diff does.
            props.extend(property_changes(old, new, path))
        else:
            props.append(PropertyChange(path, old, new))
    return props


def from_server(diff: Mapping[str, Any]) -> ChangeSet:
    """Read ``/schema/diff``'s ``diff`` member into the change model."""
    changes: list[Change] = []
    for kind in KINDS:
        for item in diff.get(_SECTION[kind]) or []:
            records = item.get("diff") or []
            key = (item.get("collection", ""), item.get("field") or "")
            first = records[0] if records else {}
            whole = not first.get("path") and kind != "system_field"
            if whole and first.get("kind") == "N":
                changes.append(_make(kind, "create", key, first.get("rhs") or {}))
            elif whole and first.get("kind") == "D":
                changes.append(_make(kind, "delete", key, first.get("lhs") or {}))
            else:
                entry = {"related_collection": item.get("related_collection")} if kind == "relation" else {}
                props = _record_changes(kind, records)
                if props or not records:
                    changes.append(_make(kind, "update", key, entry, props))
    return ChangeSet(tuple(changes))
