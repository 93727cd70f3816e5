"""What Directus would refuse, or silently get wrong, part-way through an apply: predicted
before the backup, so that such a push is refused whole (docs/compatibility.md has the
measurements behind each rule).

- A required column without a default, added to a table that has rows: SQLite answers
  "Cannot add a NOT NULL column with default value NULL", PostgreSQL "column … contains null
  values" (12.4.1; an empty table takes it). The rows are counted with ``aggregate[count]``.
- A name longer than the database allows: PostgreSQL cuts identifiers to 63 bytes without a
  word (12.4.1 then keeps a field whose column it cannot find, and the field is gone from its
  snapshot), MySQL/MariaDB refuse more than 64 characters. SQLite has no limit. The names
  Directus derives itself (``<table>_<column>_foreign``, ``_unique``, ``_index``) it shortens
  with a hash where the database needs it, so only the names in the files are checked.
- Two column fields of one table whose names differ only in case, on SQLite or MySQL/MariaDB,
  where column names are case-insensitive: Directus stops at "duplicate column name".
- An interface, display, layout, panel or operation neither built into the target's release
  nor installed there (``GET /extensions``): Directus stores it, and its app shows the field
  or item without it.
- A table over what MySQL/MariaDB hold in a varchar or a row (65,535 bytes): refused when no
  charset could hold it; ``row_size_note`` says so before the apply when utf8mb4 could not,
  since no endpoint reports the charset.
- A new field of ``type: unknown`` with a column (a database type Directus does not know, such
  as a PostgreSQL enum): Directus stores its ``meta`` and makes no column, so it stays a
  difference after every push.
- A geometry field on PostgreSQL needs PostGIS, which no endpoint reports: the apply fails
  (``type "geometry" does not exist``) and PostgreSQL rolls it back whole; ``geometry_note``
  says so before the apply unless the target already holds geometry fields.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from directus_gitops.files import snapshot as snap
from directus_gitops.model.changes import ChangeSet
from directus_gitops.model.kinds.change import ConfigChangeSet

SHOWN = 5  # names listed in a refusal; the rest are counted

# Measured on 12.4.1: an empty table takes a NOT NULL column without a default, one with rows
# refuses it. MySQL/MariaDB fill the column with the type's implicit default instead.
ROWS_REFUSE_REQUIRED = ("sqlite", "postgres")

REQUIRED_HINT = (
    "give the field a default value (schema.default_value), or add it nullable first (schema.is_nullable: true), "
    "fill it, and make it required (schema.is_nullable: false) in a later push"
)
IDENTIFIER_HINT = "rename them in the schema files to fit the target's database"
CASE_HINT = "rename one field of each pair in the schema files, or push to PostgreSQL, which keeps them apart"
EXTENSIONS_HINT = (
    "install the extensions on the target first, or pass --allow-missing-extensions to push anyway "
    "(the app shows those fields and items without them)"
)


def listed(names: list[str]) -> str:
    more = len(names) - SHOWN
    return ", ".join(names[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def _fields(snapshot: Mapping[str, Any]) -> Callable[[str, str | None], Mapping[str, Any]]:
    """A look-up of ``snapshot``'s fields by collection and name (the first, where one is listed
    twice; ``{}`` for none), indexed once: a change per field of a large model looked each one
    up by scanning every field (a plan into an empty target of 1,000 collections × 20 fields
    spent some 40 s there)."""
    index: dict[tuple[Any, Any], Mapping[str, Any]] = {}
    for entry in snapshot.get("fields") or ():
        index.setdefault((entry.get("collection"), entry.get("field")), entry)
    return lambda collection, name: index.get((collection, name), {})


def _created_collections(changes: ChangeSet) -> set[str]:
    return {c.collection for c in changes if c.kind == "collection" and c.action == "create"}


# ------------------------------------------------------------------ required fields


def required_without_default(changes: ChangeSet, desired: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (collection, field) pairs ``changes`` add as NOT NULL columns without a default to
    collections that already exist (a new table has no rows)."""
    created = _created_collections(changes)
    field = _fields(desired)
    found = []
    for change in changes:
        if change.kind != "field" or change.action != "create" or change.collection in created:
            continue
        entry = change.entry or field(change.collection, change.field)
        schema = entry.get("schema") or {}
        if not schema or schema.get("is_nullable", True) or schema.get("default_value") is not None:
            continue
        if schema.get("has_auto_increment"):  # the database numbers the rows itself
            continue
        found.append((change.collection, str(change.field)))
    return found


def required_problem(
    count_rows: Callable[[str], int | None],
    changes: ChangeSet,
    desired: Mapping[str, Any],
    vendor: str | None,
    target: str,
) -> str | None:
    """Why the target would refuse required fields ``changes`` add to tables with rows, or None.
    Rows are counted (``count_rows``) only for such fields, once per table; a table no endpoint
    counts (None: Directus's own ``directus_extensions``) may have rows, so it is refused too."""
    if vendor not in ROWS_REFUSE_REQUIRED:
        return None
    fields = required_without_default(changes, desired)
    counted: dict[str, int | None] = {}
    refused = []
    for collection, name in fields:
        if collection not in counted:
            counted[collection] = count_rows(collection)
        rows = counted[collection]
        if rows is None:
            refused.append(f"{collection}.{name} (no endpoint of Directus counts its rows: it may have some)")
        elif rows > 0:
            refused.append(f"{collection}.{name} ({rows} row(s))")
    if not refused:
        return None
    return (
        f"{len(refused)} required field(s) without a default would be added to tables that have rows "
        f"on '{target}' ({listed(refused)}): {vendor} cannot fill them, so Directus would stop the apply"
    )


# ------------------------------------------------------------------ columns of types Directus does not know

UNKNOWN_TYPE_HINT = (
    "create those columns in the target's database before pushing (Directus then finds them), "
    "or remove the fields from the schema files"
)


def unknown_columns(changes: ChangeSet) -> list[str]:
    """The new fields with a column whose type Directus does not know (``type: unknown``, such as a
    PostgreSQL enum): Directus stores their meta and makes no column (every release, 9.26.0 to 12.4.1)."""
    return [
        f"{change.name} ({(change.entry or {})['schema'].get('data_type') or 'no data_type'})"
        for change in changes
        if change.kind == "field"
        and change.action == "create"
        and (change.entry or {}).get("type") == "unknown"
        and isinstance((change.entry or {}).get("schema"), dict)
    ]


def unknown_columns_problem(changes: ChangeSet, target: str) -> str | None:
    found = unknown_columns(changes)
    if not found:
        return None
    return (
        f"{len(found)} new field(s) have a column of a type Directus does not know (type unknown: "
        f"{listed(found)}): Directus would make no column for them on '{target}', and they would stay a difference"
    )


# ------------------------------------------------------------------ identifiers


def identifier_limit(vendor: str | None) -> tuple[int, str] | None:
    """The longest table or column name ``vendor`` takes, and in what unit."""
    if vendor in ("postgres", "postgresql", "redshift", "cockroachdb"):
        return 63, "bytes"
    if vendor in ("mysql", "mariadb"):
        return 64, "characters"
    return None


def too_long(changes: ChangeSet, vendor: str | None) -> list[str]:
    """The new collection and field names longer than the target's database allows."""
    limit = identifier_limit(vendor)
    if limit is None:
        return []
    most, unit = limit
    found = []
    for change in changes:
        if change.action != "create" or change.kind not in ("collection", "field"):
            continue
        name = change.collection if change.kind == "collection" else str(change.field)
        size = len(name.encode("utf-8")) if unit == "bytes" else len(name)
        if size > most:
            found.append(f"{change.name} ({size} {unit})")
    return found


def identifier_problem(changes: ChangeSet, vendor: str | None, target: str) -> str | None:
    found = too_long(changes, vendor)
    if not found:
        return None
    most, unit = identifier_limit(vendor) or (0, "")
    return (
        f"{len(found)} name(s) are longer than {vendor} allows on '{target}' ({most} {unit}): {listed(found)}; "
        "Directus would stop the apply, or cut the name and lose track of it"
    )


# ------------------------------------------------------------------ names that differ only in case

# Column names are case-insensitive here: 11.17.4 on SQLite answered 500 `duplicate column name`
# for `status` and `Status` in one new table; PostgreSQL keeps them apart (it converged there).
CASE_INSENSITIVE_COLUMNS = ("sqlite", "mysql", "mariadb")


def case_twins(changes: ChangeSet, desired: Mapping[str, Any], vendor: str | None) -> list[str]:
    """The fields ``changes`` add whose column name differs from another column of the same
    table in ``desired`` only in case, where ``vendor`` reads both as one column."""
    if vendor not in CASE_INSENSITIVE_COLUMNS:
        return []
    created = _created_collections(changes)
    added = {(c.collection, c.field) for c in changes if c.kind == "field" and c.action == "create"}
    columns: dict[tuple[Any, str], list[str]] = {}
    for entry in desired.get("fields") or ():
        name = entry.get("field")
        if isinstance(name, str) and entry.get("schema") is not None and entry.get("type") != "alias":
            columns.setdefault((entry.get("collection"), name.casefold()), []).append(name)
    found = []
    for (collection, _), names in columns.items():
        new = collection in created or any((collection, name) in added for name in names)
        if len(names) > 1 and new:
            found.append(f"{collection}: " + " and ".join(sorted(names)))
    return found


def case_problem(changes: ChangeSet, desired: Mapping[str, Any], vendor: str | None, target: str) -> str | None:
    found = case_twins(changes, desired, vendor)
    if not found:
        return None
    return (
        f"{len(found)} set(s) of fields differ only in case, which {vendor} on '{target}' takes for one column "
        f"({listed(found)}): Directus would stop the apply (duplicate column name)"
    )


# ------------------------------------------------------------------ row size on MySQL/MariaDB

# MySQL and MariaDB hold at most 65,535 bytes in a varchar, and in a row's columns other than
# TEXT and BLOB; a varchar(n) takes n characters at up to 4 bytes each in utf8mb4 (MySQL 8's
# default charset), one in latin1. Directus makes string fields varchar(max_length, else 255),
# hash fields varchar(255) and uuid fields char(36) there. Measured on 9.26.0 and 12.4.1 with
# MariaDB 10.11 (utf8mb4): varchar(16384) and varchar(65535) fail ("Column length too big ...
# max = 16383"), so does varchar(16383) beside the integer key and 4 x varchar(5000) ("Row size
# too large"); 4 x varchar(4000) is made. MySQL/MariaDB have no transactional DDL: the apply
# stops part-way.
ROW_BYTES = 65535
_FIXED_BYTES = {"integer": 4, "bigInteger": 8, "float": 4, "boolean": 1, "date": 3, "time": 3, "timestamp": 4}
ROW_SIZE_HINT = (
    "lower schema.max_length of those string fields (at most 16,383 characters each in utf8mb4, and 65,535 "
    "bytes in a row), or make long ones type text"
)


def _row_bytes(entries: Iterable[Mapping[str, Any]], per_character: int) -> tuple[int, int]:
    """The fewest bytes a row of these columns takes at ``per_character`` bytes per character, and
    the most characters one varchar of them holds (TEXT and BLOB columns count nothing)."""
    total = widest = 0
    for entry in entries:
        schema = entry.get("schema")
        if not isinstance(schema, dict):
            continue  # no column
        kind = entry.get("type")
        if kind in ("string", "hash"):
            length = schema.get("max_length") if kind == "string" else None
            characters = length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else 255
            widest = max(widest, characters)
            size = characters * per_character
            total += size + (1 if size <= 255 else 2)
        elif kind == "uuid":
            total += 36 * per_character
        else:
            total += _FIXED_BYTES.get(str(kind), 0)
    return total, widest


def row_size(changes: ChangeSet, desired: Mapping[str, Any], vendor: str | None, per_character: int) -> dict[str, str]:
    """The tables ``changes`` make or alter whose columns, at ``per_character`` bytes per
    character, would be over what MySQL/MariaDB hold in a varchar or a row: why, by table."""
    if vendor != "mysql":
        return {}
    touched = _created_collections(changes) | {
        c.collection
        for c in changes
        if c.kind == "field"
        and (c.action == "create" or any(p.path in ("type", "schema.max_length") for p in c.properties))
    }
    columns: dict[str, list[Mapping[str, Any]]] = {}
    for entry in desired.get("fields") or ():
        if entry.get("collection") in touched:
            columns.setdefault(str(entry.get("collection")), []).append(entry)
    found = {}
    for collection, entries in columns.items():
        total, widest = _row_bytes(entries, per_character)
        if widest * per_character + 2 > ROW_BYTES:  # (a long varchar's length takes 2 bytes)
            found[collection] = f"{collection} (a varchar of {widest:,} characters)"
        elif total > ROW_BYTES:
            found[collection] = f"{collection} (at least {total:,} bytes a row)"
    return found


def row_size_problem(changes: ChangeSet, desired: Mapping[str, Any], vendor: str | None, target: str) -> str | None:
    """Tables no MySQL/MariaDB charset can hold (one byte a character)."""
    found = list(row_size(changes, desired, vendor, 1).values())
    if not found:
        return None
    return (
        f"{len(found)} table(s) would be over the {ROW_BYTES:,} bytes MySQL/MariaDB hold in a varchar or a row on "
        f"'{target}', in any charset ({listed(found)}): Directus would stop the apply part-way"
    )


def row_size_note(changes: ChangeSet, desired: Mapping[str, Any], vendor: str | None) -> str | None:
    """Tables a utf8mb4 charset cannot hold, that a single-byte one can (no endpoint says which
    the target's tables have)."""
    certain = row_size(changes, desired, vendor, 1)
    found = [why for table, why in row_size(changes, desired, vendor, 4).items() if table not in certain]
    if not found:
        return None
    return (
        f"{len(found)} table(s) would be over the {ROW_BYTES:,} bytes MySQL/MariaDB hold in a varchar or a row if "
        f"the target's tables are utf8mb4, MySQL 8's default, which Directus does not report ({listed(found)}): "
        f"there the apply would fail at them: push applies them first, as MySQL/MariaDB cannot roll back what came "
        f"before ({ROW_SIZE_HINT})"
    )


# ------------------------------------------------------------------ extensions

KINDS = ("interfaces", "displays", "layouts", "panels", "operations")


@functools.cache
def _builtin_table() -> dict[str, dict[str, list[str]]]:
    text = resources.files("directus_gitops").joinpath("data/directus_extensions.json").read_text(encoding="utf-8")
    return dict(json.loads(text)["releases"])


def builtins(release: str | None) -> dict[str, frozenset[str]]:
    """The extension ids built into ``release``: those of the newest measured release not newer
    than it (the oldest measured one for an older release; the newest for an unknown one)."""
    table = _builtin_table()
    measured = sorted(table, key=lambda r: snap.release(r) or (0, 0, 0))
    wanted = snap.release(release)
    chosen = measured[-1]
    if wanted is not None:
        older = [r for r in measured if (snap.release(r) or (0, 0, 0)) <= wanted]
        chosen = older[-1] if older else measured[0]
    return {kind: frozenset(table[chosen].get(kind, ())) for kind in KINDS}


def installed_names(extensions: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The names an enabled extension on the target may register under (``GET /extensions``):
    its package or bundle entry name, its folder, each without the usual package prefix."""
    names: set[str] = set()
    for extension in extensions:
        meta = extension.get("meta") or {}
        if meta.get("enabled") is False:
            continue
        schema = extension.get("schema") or {}
        for name in (schema.get("name"), meta.get("folder"), extension.get("name")):
            if isinstance(name, str) and name:
                short = name.rsplit("/", 1)[-1]
                names.update({name, short, short.removeprefix("directus-extension-")})
        for entry in schema.get("entries") or ():
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                names.add(entry["name"])
    return frozenset(names)


def used_extensions(
    changes: ChangeSet, desired: Mapping[str, Any], config: ConfigChangeSet | None
) -> dict[str, dict[str, list[str]]]:
    """The extension ids the entries ``changes`` create or change use, by kind, with the items
    that use each: fields' interface and display, presets' layout, panels' and operations' type."""
    used: dict[str, dict[str, list[str]]] = {kind: {} for kind in KINDS}
    field = _fields(desired)

    def note(kind: str, value: Any, where: str) -> None:
        if isinstance(value, str) and value:
            used[kind].setdefault(value, []).append(where)

    for change in changes:
        if change.kind != "field" or change.action == "delete":
            continue
        meta = (field(change.collection, change.field) or change.entry or {}).get("meta") or {}
        note("interfaces", meta.get("interface"), change.name)
        note("displays", meta.get("display"), change.name)
    for item in config or ():
        if item.action == "delete" or item.entry is None:
            continue
        if item.kind == "preset":
            note("layouts", item.entry.get("layout"), f"preset {item.name}")
        elif item.kind in ("panel", "operation"):
            note(f"{item.kind}s", item.entry.get("type"), f"{item.kind} {item.name}")
    return used


def missing_extensions(
    used: Mapping[str, Mapping[str, list[str]]], builtin: Mapping[str, frozenset[str]], installed: frozenset[str]
) -> list[str]:
    """Each used id the target neither has built in nor installed, with where it is used."""
    missing = []
    for kind in KINDS:
        for name, where in sorted(used.get(kind, {}).items()):
            if name in builtin.get(kind, frozenset()) or name in installed:
                continue
            missing.append(f"{kind[:-1]} '{name}' ({listed(where)})")
    return missing


def extensions_problem(
    read_extensions: Callable[[], Sequence[Mapping[str, Any]]],
    changes: ChangeSet,
    desired: Mapping[str, Any],
    config: ConfigChangeSet | None,
    release: str | None,
    target: str,
) -> str | None:
    """Why the target's app would lack extensions the pushed model uses, or None. The target's
    extensions are read only when some id is not built into its release."""
    builtin = builtins(release)
    used = used_extensions(changes, desired, config)
    if not missing_extensions(used, builtin, frozenset()):
        return None
    missing = missing_extensions(used, builtin, installed_names(read_extensions()))
    if not missing:
        return None
    return (
        f"{len(missing)} extension(s) the model uses are not on '{target}' (Directus {release or 'unknown'} "
        f"built-ins nor GET /extensions): {listed(missing)}"
    )


# ------------------------------------------------------------------ geometry


def geometry_fields(
    changes: ChangeSet, desired: Mapping[str, Any], current: Mapping[str, Any], vendor: str | None
) -> list[str]:
    """The new geometry fields (``collection.field``) that reach a PostgreSQL which may lack
    PostGIS (no endpoint tells): none unless the target is PostgreSQL and holds no geometry
    field already."""
    if vendor not in ("postgres", "postgresql"):
        return []
    if any(str(f.get("type") or "").startswith("geometry") for f in current.get("fields") or ()):
        return []  # its database has geometry columns, so it has PostGIS
    fields, field = [], _fields(desired)
    for change in changes:
        if change.kind == "field" and change.action == "create":
            entry = change.entry or field(change.collection, change.field)
            if str(entry.get("type") or "").startswith("geometry"):
                fields.append(change.name)
    return fields


def geometry_note(
    changes: ChangeSet, desired: Mapping[str, Any], current: Mapping[str, Any], vendor: str | None
) -> str | None:
    """What to know before :func:`geometry_fields` reach the target."""
    fields = geometry_fields(changes, desired, current, vendor)
    if not fields:
        return None
    return (
        f"{len(fields)} geometry field(s) ({listed(fields)}) need the PostGIS extension in the target's PostgreSQL, "
        "which Directus does not report: without it the apply fails and PostgreSQL rolls it back "
        "(run CREATE EXTENSION postgis there first)"
    )
