"""A schema diff cut into parts that Directus applies one after another, each as it would the
whole.

Only for a diff whose JSON body the target refuses for its size (``MAX_PAYLOAD_SIZE``, 1mb by
default; Directus 9.x takes ``/schema/apply`` only as JSON). Directus applies a diff in one
order: new collections (a group's members after it, each with every field entry of its own),
deleted collections (their members, the relations on them and to them), edited collections,
fields (a deleted field takes its relation along), relations. A part holds whole *units*, the
entries Directus handles together, in that order:

- a new collection with its new members (``meta.group``) and all their field entries;
- a deleted collection with its deleted members, their field entries and every relation entry
  on them or pointing at them;
- an edited collection;
- the field entries of one collection that is neither new nor deleted, each deleted field with
  the relation entries on it;
- a relation entry; the 11.17+ ``systemFields`` go with the last part.

A new collection too large for a part on its own is the one unit :func:`cut` makes smaller: its
table with its primary key, then a field at a time (fields of a table that exists by then).

So each part is a diff Directus could have computed, and runs as the whole would have, in its
own transaction where the database has them: a failure part-way leaves the earlier parts applied.

:func:`first` orders any diff, whole or in parts, so that what the apply may fail on comes first;
:func:`alone` says when that takes an apply of its own (a table that exists, on MySQL/MariaDB).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from directus_gitops.base import batching

Entry = Mapping[str, Any]

# Bytes around the entries in an apply's body: {"hash":"…","diff":{"collections":[],…}}.
OVERHEAD = 256


@dataclass
class Unit:
    """Entries applied together, never split across parts (but see :func:`cut`)."""

    collections: list[Entry] = field(default_factory=list)
    fields: list[Entry] = field(default_factory=list)
    relations: list[Entry] = field(default_factory=list)
    system_fields: list[Entry] = field(default_factory=list)

    @property
    def size(self) -> int:
        entries = (*self.collections, *self.fields, *self.relations, *self.system_fields)
        return sum(batching.json_size(entry) + 1 for entry in entries)

    def add(self, other: Unit) -> None:
        self.collections += other.collections
        self.fields += other.fields
        self.relations += other.relations
        self.system_fields += other.system_fields

    def diff(self, template: Mapping[str, Any]) -> dict[str, Any]:
        """This unit as an apply's ``diff``, with ``template``'s other members."""
        result = {**template, "collections": self.collections, "fields": self.fields, "relations": self.relations}
        if "systemFields" in template:
            result["systemFields"] = self.system_fields
        return result


def _kind(entry: Entry) -> str | None:
    records = entry.get("diff") or []
    first = records[0] if records and isinstance(records[0], Mapping) else {}
    return None if first.get("path") else first.get("kind")


def _whole(entry: Entry, side: str) -> Mapping[str, Any]:
    """The entry's whole value on one side (``rhs``: new, ``lhs``: deleted), else empty."""
    records = entry.get("diff") or [{}]
    whole = records[0].get(side) if isinstance(records[0], Mapping) else None
    return whole if isinstance(whole, Mapping) else {}


def _group(entry: Entry, side: str) -> Any:
    meta = _whole(entry, side).get("meta")
    return meta.get("group") if isinstance(meta, Mapping) else None


def units(diff: Mapping[str, Any], leading: AbstractSet[str] = frozenset()) -> list[Unit]:
    """The diff's entries as units, in the order Directus applies them (see the module). Units
    that create what ``leading`` names (``collection`` or ``collection.field``: what the apply
    may fail on, see :func:`first`) come before the others that create, which depend on none of
    them: a failure there is in the first part, before anything else is applied."""
    collections = [c for c in diff.get("collections") or [] if isinstance(c, Mapping)]
    fields = [f for f in diff.get("fields") or [] if isinstance(f, Mapping)]
    relations = [r for r in diff.get("relations") or [] if isinstance(r, Mapping)]
    kind = {c.get("collection"): _kind(c) for c in collections}

    def trees(wanted: str, side: str) -> list[list[Entry]]:
        """The collections of kind ``wanted``, each group with its members of that kind."""
        chosen = [c for c in collections if kind[c.get("collection")] == wanted]
        names = {c.get("collection") for c in chosen}
        members: dict[Any, list[Entry]] = {}
        for entry in chosen:
            parent = _group(entry, side)
            if parent in names and parent != entry.get("collection"):
                members.setdefault(parent, []).append(entry)
        result = []
        placed: set[Any] = set()
        for root in chosen:
            if root.get("collection") in placed or _group(root, side) in names:
                continue
            tree, todo = [], [root]
            while todo:
                entry = todo.pop(0)
                if entry.get("collection") in placed:
                    continue
                placed.add(entry.get("collection"))
                tree.append(entry)
                todo += members.get(entry.get("collection"), [])
            result.append(tree)
        # (A cycle of groups has no root: its collections go together.)
        rest = [c for c in chosen if c.get("collection") not in placed]
        return result + ([rest] if rest else [])

    taken: set[int] = set()

    def take(entries: Iterable[Entry], names: set[Any], *keys: str) -> list[Entry]:
        """The entries not taken yet whose ``keys`` name one of ``names``; taken now."""
        chosen = [e for e in entries if id(e) not in taken and any(e.get(key) in names for key in keys)]
        taken.update(id(e) for e in chosen)
        return chosen

    created, deleted = trees("N", "rhs"), trees("D", "lhs")
    result: list[Unit] = []
    for tree in created:
        result.append(Unit(tree, take(fields, {c.get("collection") for c in tree}, "collection")))
    for tree in deleted:
        names = {c.get("collection") for c in tree}
        result.append(
            Unit(tree, take(fields, names, "collection"), take(relations, names, "collection", "related_collection"))
        )
    grouped = {id(c) for tree in (*created, *deleted) for c in tree}
    result += [Unit([c]) for c in collections if id(c) not in grouped]
    for entry in fields:
        if id(entry) in taken:
            continue
        taken.add(id(entry))
        unit = Unit(fields=[entry])
        if _kind(entry) == "D":  # (the relation on a deleted field goes with it)
            on_field = [r for r in relations if r.get("collection") == entry.get("collection")]
            unit.relations = take(on_field, {entry.get("field")}, "field")
        result.append(unit)
    result += [Unit(relations=[r]) for r in relations if id(r) not in taken]
    system = [s for s in diff.get("systemFields") or [] if isinstance(s, Mapping)]
    if system:
        result.append(Unit(system_fields=system))
    if leading:
        result.sort(key=lambda unit: not _creates(unit, leading))  # (stable: the rest keep their order)
    return result


def alone(diff: Mapping[str, Any], names: AbstractSet[str]) -> int:
    """How many of the first units of ``units(diff, leading=names)`` go in an apply of their own,
    before the rest, so that a failure there comes before anything else is made: those leading
    units, when they change a table that exists and the rest of the diff holds collections
    (Directus applies every collection entry before any field of a table that exists, whatever
    the order of the lists). 0 when one apply already meets the failure first."""
    pieces = units(diff, leading=names)
    lead = 0
    while lead < len(pieces) and _creates(pieces[lead], names):
        lead += 1
    new = {c.get("collection") for unit in pieces[:lead] for c in unit.collections}
    alters = any(f.get("collection") not in new for unit in pieces[:lead] for f in unit.fields)
    behind = any(unit.collections for unit in pieces[lead:])
    return lead if alters and behind else 0


def _creates(unit: Unit, names: AbstractSet[str]) -> bool:
    """Whether ``unit`` creates one of ``names`` (and depends on no other unit)."""
    independent = all(_kind(c) == "N" for c in unit.collections) and not unit.relations and not unit.system_fields
    return independent and any(_named(entry, names) for entry in (*unit.collections, *unit.fields))


def _named(entry: Entry, names: AbstractSet[str]) -> bool:
    """Whether ``names`` holds the entry's collection or its ``collection.field``."""
    collection = entry.get("collection")
    return collection in names or ("field" in entry and f"{collection}.{entry.get('field')}" in names)


def pack(pieces: list[Unit], budget: int) -> list[list[Unit]]:
    """Consecutive units grouped into parts of at most ``budget`` bytes of JSON, the body's own
    included (a unit larger than that alone is a part of its own)."""
    return batching.pack(pieces, budget - OVERHEAD, lambda unit: unit.size)


def cut(unit: Unit) -> list[Unit]:
    """A unit of new collections too large for a part on its own, as smaller units: the
    collections with their primary keys (Directus makes no table without one), then each other
    field as a field of a collection that exists by then. Any other unit cannot be cut."""
    keys = [f for f in unit.fields if _is_key(f)]
    names = {c.get("collection") for c in unit.collections}
    new = unit.collections and all(_kind(c) == "N" for c in unit.collections)
    if not new or len(unit.fields) <= len(keys) or {f.get("collection") for f in keys} != names - _folders(unit):
        return [unit]
    head = Unit(unit.collections, keys)
    return [head, *(Unit(fields=[f]) for f in unit.fields if not _is_key(f))]


def _is_key(entry: Entry) -> bool:
    schema = _whole(entry, "rhs").get("schema")
    return isinstance(schema, Mapping) and schema.get("is_primary_key") is True


def _folders(unit: Unit) -> set[Any]:
    """The unit's collections without a table (folders: ``schema`` null)."""
    return {c.get("collection") for c in unit.collections if _whole(c, "rhs").get("schema") is None}


def joined(pieces: Iterable[Unit]) -> Unit:
    """One unit holding the entries of ``pieces``, in their order."""
    result = Unit()
    for unit in pieces:
        result.add(unit)
    return result


def first(diff: Mapping[str, Any], names: AbstractSet[str]) -> dict[str, Any]:
    """``diff`` with the collections and fields ``names`` names (``collection`` or
    ``collection.field``: what the apply may fail on) first in their lists, a new collection
    holding such a field with them, and a new collection's new groups before it. Directus
    creates collections, then applies fields, in their lists' order, so a failure there comes
    before what else the apply would make: on MySQL/MariaDB, whose DDL is not rolled back,
    nothing else is made."""
    result = dict(diff)
    if not names:
        return result
    fields = list(diff.get("fields") or [])
    collections = [c for c in diff.get("collections") or [] if isinstance(c, Mapping)]
    wanted = set(names) | {f.get("collection") for f in fields if isinstance(f, Mapping) and _named(f, names)}
    new = {c.get("collection"): c for c in collections if _kind(c) == "N"}
    leading: list[Any] = []
    for entry in collections:
        if entry.get("collection") not in wanted:
            continue
        chain = [entry.get("collection")]
        parent = _group(entry, "rhs")
        while parent in new and parent not in chain:
            chain.append(parent)
            parent = _group(new[parent], "rhs")
        leading += [name for name in reversed(chain) if name not in leading]
    order = {name: index for index, name in enumerate(leading)}
    result["collections"] = sorted(collections, key=lambda c: order.get(c.get("collection"), len(order)))
    result["fields"] = sorted(fields, key=lambda f: not (isinstance(f, Mapping) and _named(f, names)))
    return result
