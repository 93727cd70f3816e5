"""The target's schema as a ``/schema/diff`` answer shows it, without reading the target.

Directus compares the snapshot it is sent with its own entry by entry (collections, fields,
relations, system indexes) and answers with the differences as ``deep-diff`` records: the
whole entry (kind ``N``: only in the sent snapshot; ``D``: only on the target) or, for an
entry both have, each property that differs with the target's value (``lhs``) and the sent
one (``rhs``). Undoing those records on the sent snapshot gives back the target as Directus
compared it: every property Directus compares is the target's, so a translation made
against this view is the one a full ``GET /schema/snapshot`` would have given for
everything the diff can show.

What the view does not hold, because Directus does not compare it, is left as the sent
snapshot has it: properties Directus leaves out of its comparison (``schema.comment``, an
auto-increment primary key's ``schema``), fields and relations of collections the diff
drops whole, and tables Directus does not manage. None of them reaches an apply.

``view`` returns None for an answer it cannot undo record by record (an unknown record
kind, a path that leads nowhere): the caller then reads the target in full.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from directus_gitops.files.snapshot import entry_key

Snapshot = dict[str, Any]
_SECTIONS = ("collections", "fields", "relations")


class _Unreadable(Exception):
    """A diff record this module cannot undo."""


def view(sent: Mapping[str, Any], diff: Mapping[str, Any] | None) -> Snapshot | None:
    """The target's snapshot as far as ``diff`` (its answer to ``sent``) shows it."""
    # Entries no record names are shared with ``sent``, not copied: nothing changes a view.
    result: Snapshot = dict(sent)
    for section in (*_SECTIONS, "systemFields"):
        if isinstance(result.get(section), list):
            result[section] = list(result[section])
    if not diff:
        return result
    try:
        for section in _SECTIONS:
            records = diff.get(section) or []
            if not isinstance(records, list):
                raise _Unreadable(section)
            result[section] = _section(result.get(section) or [], records)
        if "systemFields" in result or diff.get("systemFields"):
            result["systemFields"] = _system_fields(result.get("systemFields") or [], diff.get("systemFields") or [])
    except (_Unreadable, KeyError, IndexError, TypeError, AttributeError):
        return None
    return result


def _section(entries: list[Any], records: Sequence[Any]) -> list[Any]:
    by_key: dict[tuple[str, ...], Any] = {entry_key(entry): entry for entry in entries}
    order = list(by_key)
    removed: set[tuple[str, ...]] = set()
    on_target = {entry_key(record) for record in records if _whole(record) == "D"}
    for record in records:
        key = entry_key(record)
        changes = record.get("diff")
        if not isinstance(changes, list) or not changes:
            raise _Unreadable(key)
        whole = [change for change in changes if not change.get("path")]
        if whole:
            # The entry is on one side only. A field changing to or from an alias is both:
            # Directus drops the target's ("D") and creates the sent one ("N").
            change = whole[0]
            if len(whole) != len(changes) or change.get("kind") not in ("N", "D"):
                raise _Unreadable(key)
            if change["kind"] == "D":
                if key not in by_key:
                    order.append(key)
                by_key[key] = copy.deepcopy(change["lhs"])
                removed.discard(key)
            elif key not in on_target:
                removed.add(key)
            continue
        if key not in by_key:
            raise _Unreadable(key)
        entry = dict(by_key[key])
        fresh = {id(entry)}  # containers copied for this view: only those are changed
        for change in reversed(changes):
            _undo(entry, change, fresh)
        by_key[key] = entry
    return [by_key[key] for key in order if key not in removed]


def _whole(record: Mapping[str, Any]) -> str | None:
    """``N`` or ``D`` for a record of an entry on one side only."""
    changes = record.get("diff")
    if isinstance(changes, list) and changes and not changes[0].get("path"):
        return str(changes[0].get("kind"))
    return None


def _own(holder: Any, step: Any, fresh: set[int]) -> Any:
    """``holder[step]``, copied first unless this view made it (what ``sent`` holds is shared)."""
    child = holder[step]
    if id(child) not in fresh and isinstance(child, dict | list):
        child = dict(child) if isinstance(child, dict) else list(child)
        holder[step] = child
        fresh.add(id(child))
    return child


def _undo(document: Any, change: Mapping[str, Any], fresh: set[int]) -> None:
    """Undo one deep-diff record: ``document`` (a copy, with the containers in ``fresh``)
    becomes its left-hand side; every container on the record's path is copied first."""
    path = change.get("path") or []
    if not path:
        raise _Unreadable("a record without a path inside an entry")
    holder = document
    for step in path[:-1]:
        holder = _own(holder, step, fresh)
    last = path[-1]
    kind = change.get("kind")
    if kind in ("E", "D"):
        _put(holder, last, copy.deepcopy(change["lhs"]))
    elif kind == "N":
        if isinstance(holder, list):
            raise _Unreadable("N inside a list")
        del holder[last]
    elif kind == "A":
        _undo_item(_own(holder, last, fresh), change["index"], change["item"])
    else:
        raise _Unreadable(f"record kind {kind!r}")


def _undo_item(array: Any, index: int, item: Mapping[str, Any]) -> None:
    if not isinstance(array, list) or not isinstance(index, int):
        raise _Unreadable("an array record on something else")
    kind = item.get("kind")
    if kind == "N":
        # The sent list is longer. These records name its tail (releases of deep-diff record
        # it in either order), so the target's list ends before the first of them.
        del array[index:]
    elif kind in ("D", "E"):
        while len(array) <= index:
            array.append(None)  # filled by the records still to undo (deep-diff's own way)
        array[index] = copy.deepcopy(item["lhs"])
    else:
        raise _Unreadable(f"array record kind {kind!r}")


def _put(holder: Any, key: Any, value: Any) -> None:
    if isinstance(holder, list):
        while len(holder) <= key:
            holder.append(None)
    holder[key] = value


def _system_fields(entries: list[Any], records: Sequence[Any]) -> list[Any]:
    """System indexes: Directus compares one side with the other's flag flipped when only
    one side lists a field, so a record can only say what the target's flag is. A field the
    target indexes is kept with that flag; one it does not is left out (the translation then
    asks the server whether the field exists at all)."""
    by_key = {(entry["collection"], entry["field"]): entry for entry in entries}
    for record in records:
        key = (record["collection"], record["field"])
        flags = [c for c in record.get("diff") or [] if c.get("path") == ["schema", "is_indexed"]]
        if len(flags) != 1 or flags[0].get("kind") != "E":
            raise _Unreadable(key)
        if flags[0]["lhs"]:
            entry = copy.deepcopy(by_key.get(key) or {"collection": key[0], "field": key[1], "schema": {}})
            entry.setdefault("schema", {})["is_indexed"] = True
            by_key[key] = entry
        else:
            by_key.pop(key, None)
    return [by_key[key] for key in sorted(by_key)]
