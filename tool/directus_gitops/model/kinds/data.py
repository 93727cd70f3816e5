"""Reference data: the rows of chosen collections, as code (a kind behind kind.py's interface).

``data: {languages: {}, categories: {key: slug}}`` in directus-gitops.yaml opts collections in
(docs/reference-data.md). Each one is one file, ``data/<collection>.yaml``::

    kind: rows
    collection: categories
    primary: id                 # the primary key field
    key: slug                   # the identity across environments (default: the primary key)
    fields: [name, parent, slug]
    references: {parent: categories}
    rows:
    - slug: ai
      name: AI
      parent: null

Rows are sorted by key, with the key's fields first. The primary key is written only when it is
the key: keyed by a natural key, the same files go to targets whose ids differ. A reference to a
row of another synced collection (an m2o) is written as that row's key and resolved to the
target's id on push (:class:`~directus_gitops.model.kinds.kind.Ref`). Alias fields (o2m, m2m,
m2a) are never written, nor the fields Directus fills in itself (creation and update dates and
users); an m2m between two synced collections travels as the rows of its junction collection,
keyed by its two references unless ``key:`` says otherwise.

Push: rows are created parents first, a reference that closes a cycle is set in a second pass,
then rows are changed, then removed (referencing rows first), each collection in batches of
:data:`BATCH`. Removing a row loses its values: it needs ``--allow-data-loss``. A collection
over :data:`MAX_ROWS` rows is refused: this is reference data, not a database copy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from directus_gitops.base.errors import ConfigError, SnapshotError
from directus_gitops.files import store
from directus_gitops.model.kinds.change import ConfigChange, _props
from directus_gitops.model.kinds.kind import Context, Fetch, Finding, Kind, Location, Ref, Step
from directus_gitops.model.selection import Rules

FOLDER = "data"
DOCUMENT = "rows"  # the files' ``kind:``
MAX_ROWS = 10_000  # per collection: reference data, not a database copy
BATCH = 100  # rows per request
# Fields Directus fills in itself: they differ on every instance and are never written.
_AUTOMATIC = frozenset({"user-created", "user-updated", "date-created", "date-updated"})
_HEADER_KEYS = ("collection", "primary", "key", "fields", "references", "external", "filter", "singleton")
_DOCUMENT_KEYS = frozenset({"kind", *_HEADER_KEYS, "rows"})
_SPEC_KEYS = frozenset({"key", "fields", "filter"})
SINGLETON = "singleton"  # the identity of a singleton's one row

Row = dict[str, Any]
Table = dict[str, Any]  # a header (_HEADER_KEYS) plus "rows"
Section = dict[str, Table]  # collection → table


# --------------------------------------------------------------------------- directus-gitops.yaml


@dataclass(frozen=True)
class Spec:
    """One collection's entry under ``data:``."""

    key: tuple[str, ...] = ()  # empty: the primary key
    fields: tuple[str, ...] = ()  # empty: every field that holds a value of its own
    filter: Mapping[str, Any] | None = field(default=None, hash=False)


def parse_specs(value: Any, where: str, *, allow_off: bool = False) -> dict[str, Spec | None]:
    """``data:`` as collection → :class:`Spec` (None: switched off for one environment,
    written ``collection: false`` there)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'data' must map collection names to settings ({{key: slug}} or {{}})")
    specs: dict[str, Spec | None] = {}
    for name, settings in value.items():
        at = f"{where}: data: {name}"
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: data: collection names must be non-empty strings")
        if name.startswith("directus_"):
            raise ConfigError(f"{at}: system collections are not reference data (configuration kinds carry them)")
        if settings is False and allow_off:
            specs[name] = None
            continue
        if settings is None:
            settings = {}
        if not isinstance(settings, dict):
            off = " or false to leave it out here" if allow_off else ""
            raise ConfigError(f"{at}: must be a mapping ({{}}, {{key: slug}}, fields:, filter:){off}")
        unknown = sorted(set(settings) - _SPEC_KEYS, key=str)
        if unknown:
            raise ConfigError(f"{at}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_SPEC_KEYS))})")
        key = _names(settings.get("key"), f"{at}: key")
        fields = _names(settings.get("fields"), f"{at}: fields")
        chosen = settings.get("filter")
        if chosen is not None and not isinstance(chosen, dict):
            raise ConfigError(
                f"{at}: filter must be a Directus filter (a mapping such as {{status: {{_eq: published}}}})"
            )
        specs[name] = Spec(key, fields, chosen)
    return specs


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
        return tuple(value)
    raise ConfigError(f"{where}: must be a field name or a list of field names")


def headers(specs: Mapping[str, Spec], snapshot: Mapping[str, Any], where: str) -> dict[str, Table]:
    """What to read of each collection ``specs`` opts in, from the schema ``snapshot`` of the
    server it is read from (refused, naming the collection, when the schema cannot carry it)."""
    collections = {str(c.get("collection")): c for c in snapshot.get("collections") or []}
    fields: dict[str, dict[str, Mapping[str, Any]]] = {}
    for entry in snapshot.get("fields") or []:
        fields.setdefault(str(entry.get("collection")), {})[str(entry.get("field"))] = entry
    related = {
        (str(r.get("collection")), str(r.get("field"))): r.get("related_collection")
        for r in snapshot.get("relations") or []
    }
    junctions = {
        str(r.get("collection")) for r in snapshot.get("relations") or [] if (r.get("meta") or {}).get("junction_field")
    }
    result: dict[str, Table] = {}
    for name, spec in sorted(specs.items()):
        at = f"{where}: data: {name}"
        if name not in collections or (collections[name].get("schema") is None):
            raise ConfigError(f"{at}: no table '{name}' in the schema (folders hold no rows)")
        own = fields.get(name, {})
        primary = next((f for f, e in own.items() if (e.get("schema") or {}).get("is_primary_key")), None)
        if primary is None:
            raise ConfigError(f"{at}: the collection has no primary key")
        columns = {
            f: e for f, e in own.items() if e.get("type") != "alias" and e.get("schema") is not None and f != primary
        }
        for chosen in (*spec.fields, *spec.key):
            if chosen != primary and chosen not in columns:
                raise ConfigError(f"{at}: '{chosen}' is not a field of '{name}' that holds values")
        carried = spec.fields or tuple(f for f, e in columns.items() if not _automatic(e))
        references = {
            f: str(related[(name, f)])
            for f in carried
            if related.get((name, f)) in specs and related.get((name, f)) is not None
        }
        # An m2o to users, files, roles …: written as the id it holds; the plan checks the target has it.
        external = {
            f: str(related[(name, f)])
            for f in carried
            if str(related.get((name, f)) or "").startswith("directus_") and f not in references
        }
        key = spec.key
        if not key and name in junctions and len(references) >= 2:
            key = tuple(sorted(references))[:2]  # a junction: its two references say which link it is
        singleton = bool((collections[name].get("meta") or {}).get("singleton"))
        header: Table = {
            "collection": name,
            "primary": primary,
            "key": list(key or (primary,)),
            "fields": sorted(set(carried) | (set(key) - {primary})),
        }
        if references:
            header["references"] = dict(sorted(references.items()))
        if external:
            header["external"] = dict(sorted(external.items()))
        if spec.filter:
            header["filter"] = spec.filter
        if singleton:
            header["singleton"] = True
        result[name] = header
    return result


def _automatic(entry: Mapping[str, Any]) -> bool:
    special = (entry.get("meta") or {}).get("special") or []
    if isinstance(special, str):
        special = [part.strip() for part in special.split(",")]
    return bool(_AUTOMATIC & set(special))


# --------------------------------------------------------------------------- identity


def carried(table: Mapping[str, Any]) -> list[str]:
    """The fields a table's rows hold: the primary key too when it is the key."""
    key = list(table.get("key") or [])
    primary = table.get("primary")
    return ([primary] if primary in key else []) + [f for f in table.get("fields") or [] if f != primary]


def ident(value: Any) -> str:
    """A key value as one string: ``ai``, ``3``, ``ai / 3`` for a key of two fields."""
    if isinstance(value, list | tuple):
        return " / ".join(ident(part) for part in value)
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def key_fields(document: Mapping[str, Any]) -> list[str]:
    """The key's fields, as a file writes them (one name, or a list)."""
    key = document.get("key")
    return [key] if isinstance(key, str) else [str(part) for part in key or []]


def row_ident(table: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    if table.get("singleton"):
        return SINGLETON
    return ident([row.get(name) for name in table.get("key") or []])


def _sort_value(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool) or value is None:
        return (0, str(value))
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, list | tuple):
        return (3, tuple(_sort_value(part) for part in value))
    return (2, str(value))


def _ordered(table: Mapping[str, Any], row: Mapping[str, Any]) -> Row:
    """A row with its key's fields first, then the others by name (server ids left out)."""
    key = list(table.get("key") or [])
    names = [*key, *sorted(name for name in row if name not in key and not name.startswith("_"))]
    return {name: row[name] for name in names if name in row} | {k: v for k, v in row.items() if k.startswith("_")}


# --------------------------------------------------------------------------- the kind


class Rows(Kind):
    group = "data"
    nouns = ("row",)
    files = (DOCUMENT,)

    # ----------------------------------------------------------------- reading a server

    def spec_of(self, section: Any) -> dict[str, Table]:
        return {name: {k: v for k, v in table.items() if k != "rows"} for name, table in (section or {}).items()}

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> Section:
        tables: dict[str, Table] = dict(spec or {})
        if not tables:
            return {}
        # A table the target lacks yet (the push creates it with the schema) holds no rows;
        # Directus answers 403 for it, as for a table one may not read.
        listed = fetch("/collections", {"fields": "collection", "limit": "-1"})
        there = {str(c.get("collection")) for c in listed or [] if isinstance(c, dict)}
        raw: dict[str, list[Row]] = {}
        for name, table in tables.items():
            raw[name] = _fetch_rows(fetch, table) if name in there else []
        # Each row's identity, by its primary key; keys that hold references need the
        # referenced rows' identities first (a junction keyed by its two references).
        idents: dict[str, dict[Any, str]] = {}
        for _ in range(len(tables) + 1):
            for name, table in tables.items():
                if name in idents:
                    continue
                refs = table.get("references") or {}
                if any(refs.get(k) not in (None, name) and refs[k] not in idents for k in table["key"]):
                    continue
                idents[name] = {}
                rows = [_referenced(table, r, idents) for r in raw[name]]
                idents[name] = {r["_id"]: row_ident(table, r) for r in rows}
        section: Section = {}
        for name, table in tables.items():
            rows = [_referenced(table, r, idents) for r in raw[name]]
            section[name] = {**table, "rows": rows}
        return self.canonical(section)

    # ----------------------------------------------------------------- canonical form

    def canonical(self, section: Any) -> Section:
        result: Section = {}
        for name in sorted(section or {}):
            table = section[name]
            key = list(table.get("key") or [])

            def order(row: Row, key: list[str] = key) -> tuple[int, Any]:
                return _sort_value([row.get(k) for k in key])

            rows = sorted((_ordered(table, row) for row in table.get("rows") or []), key=order)
            result[name] = {**{k: table[k] for k in _HEADER_KEYS if k in table}, "rows": rows}
        return result

    def documents(self, section: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, table in self.canonical(section).items():
            document: dict[str, Any] = {"kind": DOCUMENT}
            for key in _HEADER_KEYS:
                if key in table:
                    value = table[key]
                    document[key] = value[0] if key == "key" and len(value) == 1 else value
            document["rows"] = [{k: v for k, v in row.items() if not k.startswith("_")} for row in table["rows"]]
            out[f"{FOLDER}/{store.file_stem(name)}.yaml"] = document
        return out

    def build(self, documents: Mapping[str, Any], context: Context | None = None) -> Section:
        section: Section = {}
        for document in documents.values():
            table = {k: document[k] for k in _HEADER_KEYS if k in document}
            table["key"] = [table["key"]] if isinstance(table["key"], str) else list(table["key"])
            table["rows"] = [dict(row) for row in document.get("rows") or []]
            section[str(document["collection"])] = table
        return self.canonical(section)

    # ----------------------------------------------------------------- validation

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        found: list[Finding] = []
        keys: dict[str, set[str]] = {}
        placed: list[tuple[str, Mapping[str, Any]]] = []
        for relpath, document in documents.items():
            problems = _document_problems(document, fields)
            found.extend(Finding(relpath, at, message) for at, message in problems)
            if problems:
                continue
            placed.append((relpath, document))
            table = {**document, "key": _names(document["key"], "key")}
            seen: dict[str, int] = {}
            for index, row in enumerate(document["rows"]):
                for at, message in _row_problems(table, row, fields):
                    found.append(Finding(relpath, ("rows", index, *at), message))
                name = row_ident(table, row)
                if name in seen:
                    found.append(
                        Finding(relpath, ("rows", index), f"key {name} is also the key of row {seen[name] + 1}")
                    )
                seen[name] = index
            keys[str(document["collection"])] = set(seen)
        if complete:
            for relpath, document in placed:
                found.extend(_reference_findings(relpath, document, keys))
        return found

    # ----------------------------------------------------------------- comparing

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        changes: list[ConfigChange] = []
        for name, table in (new or {}).items():
            before = {row_ident(table, row): row for row in ((old or {}).get(name) or {}).get("rows") or []}
            after = {row_ident(table, row): row for row in table.get("rows") or []}
            for key, row in after.items():
                label = f"{name} {key}"
                if key not in before:
                    changes.append(ConfigChange("row", "create", label, (name, key), name, entry=row))
                else:
                    props = _props(before[key], row, frozenset())
                    if props:
                        changes.append(ConfigChange("row", "update", label, (name, key), name, props, row, before[key]))
            for key, row in before.items():
                if key not in after:
                    changes.append(
                        ConfigChange("row", "delete", f"{name} {key}", (name, key), name, entry=row, current=row)
                    )
        return changes

    # ----------------------------------------------------------------- applying

    def known(self, current: Any) -> dict[Ref, Any]:
        return {
            Ref(name, row_ident(table, row)): row["_id"]
            for name, table in (current or {}).items()
            for row in table.get("rows") or []
            if "_id" in row
        }

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        mine = [c for c in changes if c.kind == "row"]
        tables: dict[str, Table] = {**(current or {}), **(desired or {})}
        out: list[Step] = []
        singletons = [c for c in mine if tables[str(c.parent)].get("singleton") and c.action != "delete"]
        for change in singletons:
            table = tables[str(change.parent)]
            body = _body(
                table, dict(change.entry or {}), _changed_fields(change) if change.action == "update" else None
            )
            out.append(Step(f"{change.sign} {change.label}", "PATCH", _items_path(table["collection"]), body))
        mine = [c for c in mine if c not in singletons]
        out.extend(_creates(tables, [c for c in mine if c.action == "create"]))
        out.extend(_updates(tables, [c for c in mine if c.action == "update"]))
        out.extend(_deletes(tables, [c for c in mine if c.action == "delete"]))
        return out

    # ----------------------------------------------------------------- the rest

    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Section, list[str]]:
        kept = {name: table for name, table in (section or {}).items() if not rules.ignores_collection(name)}
        return kept, [f"data {name}" for name in sorted(set(section or {}) - set(kept))]

    def count(self, section: Any) -> str:
        rows = sum(len(table.get("rows") or []) for table in (section or {}).values())
        tables = len(section or {})
        return f"{rows} row{'s' if rows != 1 else ''} in {tables} collection{'s' if tables != 1 else ''}"


ROWS = Rows()


# --------------------------------------------------------------------------- reading, in detail


def _items_path(collection: str, key: Any = None) -> str:
    path = f"/items/{quote(collection, safe='')}"
    return path if key is None else f"{path}/{quote(str(key), safe='')}"


def _fetch_rows(fetch: Fetch, table: Mapping[str, Any]) -> list[Row]:
    name = str(table["collection"])
    wanted = [table["primary"], *[f for f in table.get("fields") or [] if f != table["primary"]]]
    params = {"fields": ",".join(wanted), "limit": str(MAX_ROWS + 1)}
    if table.get("filter"):
        params["filter"] = json.dumps(table["filter"], sort_keys=True)
    data = fetch(_items_path(name), params)
    if table.get("singleton"):
        rows = [data] if isinstance(data, dict) and data.get(table["primary"]) is not None else []
    else:
        rows = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
    if len(rows) > MAX_ROWS:
        raise SnapshotError(
            f"'{name}' holds more than {MAX_ROWS:,} rows: reference data is the rows a project needs to run, "
            "not a copy of its content",
            hint=f"narrow it with `filter:` under data: {name}, or leave it out of `data:`",
        )
    return [{**{f: row.get(f) for f in wanted if f in row}, "_id": row.get(table["primary"])} for row in rows]


def _referenced(table: Mapping[str, Any], row: Row, idents: Mapping[str, Mapping[Any, str]]) -> Row:
    """``row`` as the files hold it: references as the referenced rows' keys, the primary key
    only when it is the key."""
    refs = table.get("references") or {}
    out: Row = {}
    for name in carried(table):
        if name not in row:
            continue
        value = row[name]
        if isinstance(value, dict):  # an expanded relation: its primary key
            value = next(iter(value.values()), None)
        target = refs.get(name)
        if target is not None and value is not None and value in (idents.get(target) or {}):
            value = _key_value(idents[target][value])
        out[name] = value
    out["_id"] = row.get("_id")
    return out


def _key_value(text: str) -> Any:
    """A key written back as the value the referencing field holds: ints stay ints."""
    if " / " in text:
        return [_key_value(part) for part in text.split(" / ")]
    try:
        return int(text)
    except ValueError:
        return text


def missing_references(fetch: Fetch, section: Any) -> list[str]:
    """What the rows name in the target's users, files, roles … (``external``) that the target
    lacks: the push would fail on them (Directus keeps a foreign key) or leave them dangling."""
    notes: list[str] = []
    for name, table in sorted((section or {}).items()):
        for field_name, related in sorted((table.get("external") or {}).items()):
            wanted = sorted(
                {str(row[field_name]) for row in table.get("rows") or [] if row.get(field_name) is not None}
            )
            found: set[str] = set()
            endpoint = "/" + related.removeprefix("directus_")
            for start in range(0, len(wanted), BATCH):
                chunk = wanted[start : start + BATCH]
                params = {"filter": json.dumps({"id": {"_in": chunk}}), "fields": "id", "limit": "-1"}
                answer = fetch(endpoint, params)
                found.update(str(item.get("id")) for item in answer or [] if isinstance(item, dict))
            lacking = [value for value in wanted if value not in found]
            if lacking:
                shown = ", ".join(lacking[:5]) + (" …" if len(lacking) > 5 else "")
                notes.append(
                    f"{name}.{field_name} names {len(lacking)} item(s) of {related} the target lacks ({shown}): "
                    "create them there first, or the rows that name them fail to apply"
                )
    return notes


# --------------------------------------------------------------------------- validation, in detail

_INTEGER = frozenset({"integer", "bigInteger"})
_NUMBER = frozenset({"float", "decimal"})
_TEXT = frozenset({"string", "text", "uuid", "hash", "csv", "date", "time", "dateTime", "timestamp"})


def _document_problems(document: Any, fields: Mapping[str, Mapping[str, str]] | None) -> list[tuple[Location, str]]:
    if not isinstance(document, dict):
        return [((), "must be a mapping with kind: rows")]
    problems: list[tuple[Location, str]] = []
    for key in sorted(set(document) - _DOCUMENT_KEYS, key=str):
        problems.append(((key,), f"unknown key '{key}' (known: {', '.join(sorted(_DOCUMENT_KEYS))})"))
    name = document.get("collection")
    if not isinstance(name, str) or not name:
        problems.append((("collection",), "collection must be a collection name"))
    elif fields is not None and name not in fields:
        problems.append((("collection",), f"collection '{name}' is not in the schema"))
    if not isinstance(document.get("primary"), str) or not document.get("primary"):
        problems.append((("primary",), "primary must name the primary key field"))
    key = document.get("key")
    if not (isinstance(key, str) and key) and not (
        isinstance(key, list) and key and all(isinstance(k, str) and k for k in key)
    ):
        problems.append((("key",), "key must be a field name or a list of field names"))
    columns: Any = document.get("fields")
    if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
        problems.append((("fields",), "fields must be a list of field names"))
    refs = document.get("references", {})
    for name_of in ("references", "external"):
        mapped = document.get(name_of, {})
        if not isinstance(mapped, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapped.items()
        ):
            problems.append(((name_of,), f"{name_of} must map fields to collections"))
    if "filter" in document and not isinstance(document["filter"], dict):
        problems.append((("filter",), "filter must be a Directus filter (a mapping)"))
    if "singleton" in document and not isinstance(document["singleton"], bool):
        problems.append((("singleton",), "singleton must be true or false"))
    rows: Any = document.get("rows")
    if not isinstance(rows, list):
        problems.append((("rows",), "rows must be a list"))
    elif len(rows) > MAX_ROWS:
        problems.append((("rows",), f"{len(rows):,} rows: more than the {MAX_ROWS:,} reference data may hold"))
    if problems:
        return problems
    table = {**document, "key": _names(key, "key")}
    held = set(carried(table))
    for index, part in enumerate(table["key"]):
        if part not in held:
            problems.append(
                (("key", index) if isinstance(key, list) else ("key",), f"key field '{part}' is not carried")
            )
    for field_name in refs:
        if field_name not in held:
            problems.append((("references", field_name), f"'{field_name}' is not one of the fields"))
    if fields is not None and isinstance(name, str) and name in fields:
        for index, column in enumerate(columns):
            if column not in fields[name]:
                problems.append((("fields", index), f"'{name}' has no field '{column}'"))
            elif fields[name][column] == "alias":
                problems.append((("fields", index), f"'{name}.{column}' is an alias field: it holds no values"))
    if document.get("singleton") and len(rows) > 1:
        problems.append((("rows",), "a singleton holds one row"))
    return problems


def _row_problems(
    table: Mapping[str, Any], row: Any, fields: Mapping[str, Mapping[str, str]] | None
) -> Iterator[tuple[Location, str]]:
    if not isinstance(row, dict):
        yield (), "must be a mapping of fields to values"
        return
    held = carried(table)
    for name in row:
        if name not in held:
            yield (name,), f"'{name}' is not one of the fields ({', '.join(held)})"
    if not table.get("singleton"):
        for name in table["key"]:
            if row.get(name) is None:
                yield (), f"has no value for its key field '{name}'"
    types = (fields or {}).get(str(table["collection"])) or {}
    refs = table.get("references") or {}
    for name, value in row.items():
        if name in refs or value is None or name not in types:
            continue
        problem = _type_problem(types[name], value)
        if problem:
            yield (name,), f"{name}: {problem}"


def _type_problem(kind: str, value: Any) -> str | None:
    integer = isinstance(value, int) and not isinstance(value, bool)
    if kind in _INTEGER and not integer and not (isinstance(value, str) and value.lstrip("-").isdigit()):
        return f"{json.dumps(value)} is not an integer ({kind})"
    if kind in _NUMBER and (isinstance(value, bool) or not isinstance(value, int | float)):
        try:
            ok = isinstance(value, str) and math.isfinite(float(value))
        except ValueError:
            ok = False
        if not ok:
            return f"{json.dumps(value)} is not a number ({kind})"
    if kind == "boolean" and not isinstance(value, bool):
        return f"{json.dumps(value)} is not true or false"
    if kind in _TEXT and not isinstance(value, str):
        return f"{json.dumps(value)} is not text ({kind})"
    return None


def _reference_findings(relpath: str, document: Mapping[str, Any], keys: Mapping[str, set[str]]) -> Iterator[Finding]:
    for field_name, target in (document.get("references") or {}).items():
        if target not in keys:
            yield Finding(relpath, ("references", field_name), f"references '{target}', whose rows are not synced")
            continue
        for index, row in enumerate(document["rows"]):
            value = row.get(field_name) if isinstance(row, dict) else None
            if value is not None and ident(value) not in keys[target]:
                yield Finding(
                    relpath,
                    ("rows", index, field_name),
                    f"{field_name}: no row of '{target}' has the key {ident(value)}",
                )


# --------------------------------------------------------------------------- applying, in detail


def _changed_fields(change: ConfigChange) -> set[str]:
    return {p.path.split(".", 1)[0] for p in change.properties}


def _body(table: Mapping[str, Any], row: Mapping[str, Any], only: set[str] | None = None) -> Row:
    """What a create or change sends: references as :class:`Ref`, server ids left out."""
    refs = table.get("references") or {}
    body: Row = {}
    for name in carried(table):
        if name not in row or (only is not None and name not in only):
            continue
        value = row[name]
        body[name] = Ref(refs[name], ident(value)) if name in refs and value is not None else value
    return body


def _creates(tables: Mapping[str, Table], creates: list[ConfigChange]) -> list[Step]:
    """Parents first, in waves; a reference to a row created later in its own cycle is left
    empty on create and set in a second pass."""
    nodes = {(str(c.parent), str(c.key[1])): c for c in creates}
    deferred: set[tuple[tuple[str, str], str]] = set()
    level: dict[tuple[str, str], int] = {}
    visiting: set[tuple[str, str]] = set()

    def deps(node: tuple[str, str]) -> Iterator[tuple[str, tuple[str, str]]]:
        table, row = tables[node[0]], nodes[node].entry or {}
        for name, target in (table.get("references") or {}).items():
            if row.get(name) is not None and (target, ident(row[name])) in nodes:
                yield name, (target, ident(row[name]))

    def visit(node: tuple[str, str]) -> int:
        if node in level:
            return level[node]
        visiting.add(node)
        depth = 0
        for name, dep in deps(node):
            if dep in visiting:  # closes a cycle (a row that is its own parent included)
                deferred.add((node, name))
            else:
                depth = max(depth, visit(dep) + 1)
        visiting.discard(node)
        level[node] = depth
        return depth

    for node in sorted(nodes):
        visit(node)
    steps: list[Step] = []
    for wave in sorted(set(level.values())):
        for name in sorted({node[0] for node, at in level.items() if at == wave}):
            table = tables[name]
            batch = [node for node in sorted(nodes) if node[0] == name and level[node] == wave]
            for chunk in _chunks(batch):
                body = []
                for node in chunk:
                    row = _body(table, nodes[node].entry or {})
                    for held, field_name in deferred:
                        if held == node:
                            row[field_name] = None
                    body.append(row)
                keys = tuple(node[1] for node in chunk)
                steps.append(
                    Step(
                        _shown("+", name, keys),
                        "POST",
                        _items_path(name),
                        body,
                        creates=(name, str(table["primary"]), keys),
                    )
                )
    links: dict[str, list[Row]] = {}
    for node, field_name in sorted(deferred):
        table = tables[node[0]]
        value = (nodes[node].entry or {})[field_name]
        links.setdefault(node[0], []).append(
            {table["primary"]: Ref(node[0], node[1]), field_name: Ref(table["references"][field_name], ident(value))}
        )
    for name, bodies in sorted(links.items()):
        for chunk in _chunks(bodies):
            keys = tuple(str(next(iter(b.values())).key) for b in chunk)
            steps.append(Step(_shown("~", name, keys, " (second pass: links)"), "PATCH", _items_path(name), chunk))
    return steps


def _updates(tables: Mapping[str, Table], updates: list[ConfigChange]) -> list[Step]:
    steps: list[Step] = []
    for name in sorted({str(c.parent) for c in updates}):
        table = tables[name]
        mine = sorted((c for c in updates if c.parent == name), key=lambda c: str(c.key[1]))
        for chunk in _chunks(mine):
            body = [
                {table["primary"]: (c.current or {}).get("_id"), **_body(table, c.entry or {}, _changed_fields(c))}
                for c in chunk
            ]
            steps.append(Step(_shown("~", name, tuple(str(c.key[1]) for c in chunk)), "PATCH", _items_path(name), body))
    return steps


def _deletes(tables: Mapping[str, Table], deletes: list[ConfigChange]) -> list[Step]:
    """Rows that point at others go first: a collection after the ones that reference it, and
    in a tree the deepest rows first."""
    by_table: dict[str, list[ConfigChange]] = {}
    for change in deletes:
        by_table.setdefault(str(change.parent), []).append(change)

    def referenced_by(name: str) -> set[str]:
        return {other for other in by_table if name in (tables[other].get("references") or {}).values()}

    order: list[str] = []
    pending = set(by_table)
    while pending:
        ready = sorted(n for n in pending if not (referenced_by(n) - {n}) & pending) or sorted(pending)[:1]
        order.extend(ready)
        pending -= set(ready)
    steps: list[Step] = []
    for name in order:
        table = tables[name]
        parents = {
            str(c.key[1]): _parents(table, c.current or {}) for c in by_table[name]
        }  # in-table references, for depth
        depth = _depths(parents)
        mine = sorted(by_table[name], key=lambda c: (-depth.get(str(c.key[1]), 0), str(c.key[1])))
        for chunk in _chunks(mine):
            ids = [(c.current or {}).get("_id") for c in chunk]
            steps.append(Step(_shown("-", name, tuple(str(c.key[1]) for c in chunk)), "DELETE", _items_path(name), ids))
    return steps


def _parents(table: Mapping[str, Any], row: Mapping[str, Any]) -> list[str]:
    own = [f for f, target in (table.get("references") or {}).items() if target == table["collection"]]
    return [ident(row[f]) for f in own if row.get(f) is not None]


def _depths(parents: Mapping[str, list[str]]) -> dict[str, int]:
    depth: dict[str, int] = {}

    def of(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key in depth:
            return depth[key]
        if key in seen:
            return 0
        found = max((of(p, seen | {key}) + 1 for p in parents.get(key, []) if p in parents), default=0)
        depth[key] = found
        return found

    for key in parents:
        of(key)
    return depth


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _shown(sign: str, collection: str, keys: tuple[str, ...], note: str = "") -> str:
    return f"{sign} {collection} {', '.join(keys)}{note}"
