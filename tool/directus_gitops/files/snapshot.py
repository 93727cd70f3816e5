"""Directus schema snapshots as plain data, in canonical order.

A snapshot is kept exactly as Directus produces it (``version``, ``directus``, ``vendor``,
``collections``, ``fields``, ``relations`` and, from 11.13, ``systemFields``): the tool must
give back byte for byte what it pulled, so it never reshapes an entry. Canonical order sorts
the lists by name and each entry's keys, which is the only liberty taken.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from directus_gitops.base.errors import SnapshotError
from directus_gitops.base.formats import counted

Snapshot = dict[str, Any]
Entry = dict[str, Any]

TOP_LEVEL_KEYS = (
    "version",
    "directus",
    "vendor",
    "collections",
    "fields",
    "systemFields",
    "relations",
)
LIST_KEYS = ("collections", "fields", "systemFields", "relations")

# The keys that name an entry come first in every entry, in this order; the rest follow sorted.
_NAME_KEYS = ("collection", "field", "related_collection", "type")


# Every snapshot Directus writes from 11.13 on has systemFields (api/src/utils/get-snapshot.ts).
SYSTEM_FIELDS_SINCE = (11, 13, 0)
# And from 11.1 on every column field's schema has is_indexed (@directus/schema 12.1).
IS_INDEXED_SINCE = (11, 1, 0)


def release(value: Any) -> tuple[int, int, int] | None:
    """A Directus release string ("12.4.1", "11.3.5-beta") as numbers; None when it is not one."""
    found = re.match(r"(\d+)\.(\d+)\.(\d+)", str(value or ""))
    if found is None:
        return None
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def misreported_release(snapshot: Mapping[str, Any]) -> bool:
    """Whether ``snapshot`` claims 11.13 or later, but nothing in it shows a release from 11.1
    on wrote it: no systemFields (from 11.13 on) and no ``schema.is_indexed`` on its columns
    (from 11.1 on). So wrote some 10.x servers, recording an internal package version ("12.1.2"
    from a 10.5.2); so write people by hand. A file with is_indexed but no systemFields comes
    from a release from 11.1 on through a tool that leaves them out (directus-template-cli):
    its release is taken as it says."""
    claimed = release(snapshot.get("directus"))
    if claimed is None or claimed < SYSTEM_FIELDS_SINCE or "systemFields" in snapshot:
        return False
    return not any(
        isinstance(entry, Mapping) and isinstance(entry.get("schema"), Mapping) and "is_indexed" in entry["schema"]
        for entry in snapshot.get("fields") or ()
    )


def entry_key(entry: Mapping[str, Any]) -> tuple[str, str]:
    return (str(entry.get("collection", "")), str(entry.get("field", "")))


def sort_deep(value: Any) -> Any:
    """Sort every mapping's keys, recursively; lists keep their order (it can mean something)."""
    kind = type(value)
    if kind is dict:
        return {key: sort_deep(value[key]) for key in sorted(value)}
    if kind is list:
        return [sort_deep(item) for item in value]
    return value


def interned(value: Any) -> Any:
    """``value`` with every mapping rebuilt on interned keys and every text interned: one
    object for each of the few keys and values a large model repeats tens of thousands of
    times (a field's ``interface``, its collection's name), where a decoder makes a new one
    each time (marshal a third of a model's memory; json, without a hook, its values')."""
    kind = type(value)
    if kind is dict:
        intern = sys.intern
        return {
            intern(key) if type(key) is str else key: intern(item) if type(item) is str else interned(item)
            for key, item in value.items()
        }
    if kind is list:
        return [interned(item) for item in value]
    if kind is str:
        return sys.intern(value)
    return value


def canonical_entry(entry: Mapping[str, Any]) -> Entry:
    named = {key: sort_deep(entry[key]) for key in _NAME_KEYS if key in entry}
    rest = {key: sort_deep(entry[key]) for key in sorted(entry) if key not in named}
    return named | rest


def canonical(snapshot: Mapping[str, Any]) -> Snapshot:
    """The snapshot with lists sorted by name and keys in a fixed order."""
    result: Snapshot = {}
    for key in TOP_LEVEL_KEYS:
        if key not in snapshot:
            continue
        value = snapshot[key]
        if key in LIST_KEYS:
            result[key] = [canonical_entry(item) for item in sorted(value, key=entry_key)]
        else:
            result[key] = value
    for key in sorted(set(snapshot) - set(TOP_LEVEL_KEYS)):
        result[key] = sort_deep(snapshot[key])
    return result


def unwrap(document: Any) -> Any:
    """Accept the API's ``{"data": snapshot}`` envelope as well as a bare snapshot."""
    if isinstance(document, dict) and set(document) == {"data"}:
        return document["data"]
    return document


Location = tuple[str | int, ...]


@dataclass(frozen=True)
class ShapeProblem:
    """Why a document does not have the shape we need, and where (keys and list positions)."""

    at: Location
    message: str


def _string_problem(entry: Mapping[str, Any], key: str, at: Location, where: str) -> list[ShapeProblem]:
    if isinstance(entry.get(key), str) and entry[key]:
        return []
    return [ShapeProblem((*at, key), f"{where}: '{key}' must be a non-empty string")]


def problems(snapshot: Any) -> list[ShapeProblem]:
    """Every way ``snapshot`` misses the shape Directus needs (``validate`` stops at the first)."""
    if not isinstance(snapshot, dict):
        return [ShapeProblem((), f"a snapshot must be a mapping, not {type(snapshot).__name__}")]
    found = key_problems(snapshot)
    for key in LIST_KEYS:
        if key not in snapshot:
            continue
        if not isinstance(snapshot[key], list):
            found.append(ShapeProblem((key,), f"'{key}' must be a list"))
            continue
        for index, entry in enumerate(snapshot[key]):
            found.extend(entry_problems(key, index, entry))
    return found


def key_problems(snapshot: Mapping[str, Any]) -> list[ShapeProblem]:
    """The top-level keys a snapshot misses or Directus does not know."""
    found = []
    missing = [key for key in ("version", "directus", "collections", "fields", "relations") if key not in snapshot]
    if missing:
        found.append(ShapeProblem((), f"missing top-level key(s): {', '.join(missing)}"))
    unknown = sorted(set(snapshot) - set(TOP_LEVEL_KEYS))
    if unknown:
        found.append(ShapeProblem((unknown[0],), f"unknown top-level key(s): {', '.join(unknown)}"))
    return found


def entry_problems(key: str, index: int, entry: Any) -> list[ShapeProblem]:
    """How the entry at ``index`` of the list ``key`` misses the names every entry needs."""
    where = f"{key}[{index}]"
    if not isinstance(entry, dict):
        return [ShapeProblem((key, index), f"{where} must be a mapping")]
    found = _string_problem(entry, "collection", (key, index), where)
    if key != "collections":
        found.extend(_string_problem(entry, "field", (key, index), where))
    return found


def validate(snapshot: Any, source: str = "snapshot") -> Snapshot:
    """Check the shape Directus needs; return the snapshot (for chaining)."""
    found = problems(snapshot)
    if found:
        raise SnapshotError(f"{source}: {found[0].message}")
    return snapshot  # type: ignore[no-any-return]


def empty_like(snapshot: Mapping[str, Any]) -> Snapshot:
    """What an empty project on the same Directus looks like: the same header, no collections,
    fields or relations, and the same ``systemFields`` (Directus's own indexes, not the project's)."""
    result: Snapshot = {key: snapshot[key] for key in ("version", "directus", "vendor") if key in snapshot}
    for key in ("collections", "fields", "relations"):
        result[key] = []
    if "systemFields" in snapshot:
        result["systemFields"] = snapshot["systemFields"]
    return result


def collection_names(snapshot: Mapping[str, Any]) -> set[str]:
    """Every collection the snapshot mentions: defined ones and those only holding fields."""
    names = {entry["collection"] for entry in snapshot.get("collections", [])}
    for key in ("fields", "relations"):
        names.update(entry["collection"] for entry in snapshot.get(key, []))
    return names


def count_entries(
    snapshot: Mapping[str, Any], keys: Iterable[str] = ("collections", "fields", "relations")
) -> dict[str, int]:
    return {key: len(snapshot.get(key, [])) for key in keys}


def field_counts(snapshot: Mapping[str, Any] | None) -> dict[str, int]:
    """How many fields each collection of ``snapshot`` has (what a dropped collection takes along)."""
    counts: dict[str, int] = defaultdict(int)
    for entry in (snapshot or {}).get("fields") or []:
        counts[entry["collection"]] += 1
    return dict(counts)


def described_counts(snapshot: Mapping[str, Any]) -> str:
    """``3 collections, 1 field, 12 relations``."""
    counts = count_entries(snapshot)
    return ", ".join(counted(counts[key], key.rstrip("s")) for key in ("collections", "fields", "relations"))
