"""Large generated snapshots in Directus's shape, and random edits of them.

Fields carry every ``meta`` and ``schema`` key a real Directus field has, so files have a
realistic size (a real 300-collection model is about 5 MB). Used by the tests that check the
fast diff against a full comparison and by ``bench/bench_diff.py``.
"""

from __future__ import annotations

import copy
import random
from typing import Any

TYPES = (
    ("string", "varchar", 255),
    ("text", "text", None),
    ("integer", "integer", None),
    ("boolean", "boolean", None),
    ("json", "json", None),
    ("timestamp", "datetime", None),
    ("decimal", "decimal", None),
)


def field(collection: str, name: str, type_: str, data_type: str, length: int | None, sort: int) -> dict[str, Any]:
    return {
        "collection": collection,
        "field": name,
        "type": type_,
        "meta": {
            "collection": collection,
            "conditions": None,
            "display": None,
            "display_options": None,
            "field": name,
            "group": None,
            "hidden": False,
            "interface": "input",
            "note": f"The {name} of a {collection} item.",
            "options": {"placeholder": f"Enter {name}", "trim": True} if type_ == "string" else None,
            "readonly": False,
            "required": False,
            "searchable": True,
            "sort": sort,
            "special": None,
            "translations": None,
            "validation": None,
            "validation_message": None,
            "width": "full",
        },
        "schema": {
            "name": name,
            "table": collection,
            "data_type": data_type,
            "default_value": None,
            "max_length": length,
            "numeric_precision": 10 if type_ == "decimal" else None,
            "numeric_scale": 5 if type_ == "decimal" else None,
            "is_nullable": True,
            "is_unique": False,
            "is_indexed": False,
            "is_primary_key": False,
            "is_generated": False,
            "generation_expression": None,
            "has_auto_increment": False,
            "foreign_key_table": None,
            "foreign_key_column": None,
        },
    }


def key_field(collection: str) -> dict[str, Any]:
    entry = field(collection, "id", "integer", "integer", None, 1)
    entry["meta"].update(hidden=True, interface="input", readonly=True, note=None)
    entry["schema"].update(is_nullable=False, is_primary_key=True, has_auto_increment=True, is_unique=True)
    return entry


def collection(name: str, group: str | None) -> dict[str, Any]:
    return {
        "collection": name,
        "meta": {
            "accountability": "all",
            "archive_app_filter": True,
            "archive_field": None,
            "collapse": "open",
            "collection": name,
            "color": None,
            "display_template": None,
            "group": group,
            "hidden": False,
            "icon": "box",
            "item_duplication_fields": None,
            "note": f"All {name}.",
            "preview_url": None,
            "singleton": False,
            "sort": None,
            "sort_field": None,
            "translations": None,
            "unarchive_value": None,
            "versioning": False,
        },
        "schema": {"name": name},
    }


def relation(many: str, name: str, one: str) -> dict[str, Any]:
    return {
        "collection": many,
        "field": name,
        "related_collection": one,
        "meta": {
            "junction_field": None,
            "many_collection": many,
            "many_field": name,
            "one_allowed_collections": None,
            "one_collection": one,
            "one_collection_field": None,
            "one_deselect_action": "nullify",
            "one_field": None,
            "sort_field": None,
        },
        "schema": {
            "table": many,
            "column": name,
            "foreign_key_table": one,
            "foreign_key_column": "id",
            "constraint_name": None,
            "on_update": "NO ACTION",
            "on_delete": "SET NULL",
        },
    }


def _plain_field(rng: random.Random, collection: str, name: str, sort: int) -> dict[str, Any]:
    type_, data_type, length = rng.choice(TYPES)
    return field(collection, name, type_, data_type, length, sort)


def model(collections: int = 300, fields: int = 20, seed: int = 0) -> dict[str, Any]:
    """``collections`` collections (in a few folders) of ``fields`` fields, every third one
    with a many-to-one relation to another collection."""
    rng = random.Random(seed)
    snapshot: dict[str, Any] = {
        "version": 1,
        "directus": "12.4.1",
        "vendor": "sqlite",
        "collections": [],
        "fields": [],
        "systemFields": [
            {"collection": "directus_activity", "field": "timestamp", "schema": {"is_indexed": True}},
            {"collection": "directus_revisions", "field": "parent", "schema": {"is_indexed": True}},
        ],
        "relations": [],
    }
    folders = [f"folder_{index}" for index in range(5)]
    for folder in folders:
        snapshot["collections"].append({**collection(folder, None), "schema": None})
    for index in range(collections):
        name = f"table_{index:03d}"
        snapshot["collections"].append(collection(name, rng.choice(folders)))
        snapshot["fields"].append(key_field(name))
        snapshot["fields"].extend(_plain_field(rng, name, f"field_{n:02d}", n + 2) for n in range(fields - 1))
        if index % 3 == 2:
            snapshot["fields"].append(field(name, "owner", "integer", "integer", None, fields + 2))
            snapshot["relations"].append(relation(name, "owner", f"table_{rng.randrange(index):03d}"))
    return snapshot


def edited(original: dict[str, Any], edits: int, seed: int = 1) -> dict[str, Any]:
    """A copy of ``original`` with about ``edits`` random changes of every kind a pull brings:
    collections and fields added and removed, notes, types and lengths changed, relations
    added and removed, fields turned into aliases."""
    rng = random.Random(seed)
    result = copy.deepcopy(original)
    tables = sorted({f["collection"] for f in result["fields"]})
    for number in range(edits):
        kind = rng.randrange(9)
        table = rng.choice(tables)
        own = [f for f in result["fields"] if f["collection"] == table and f["field"] not in ("id", "owner")]
        if kind == 0:  # a new collection with a few fields
            name = f"new_{seed}_{number}"
            result["collections"].append(collection(name, None))
            result["fields"].append(key_field(name))
            result["fields"].extend(_plain_field(rng, name, f"field_{n:02d}", n + 2) for n in range(5))
        elif kind == 1 and table in tables[1:]:  # drop a collection, its fields and relations
            tables.remove(table)
            for key in ("collections", "fields", "relations"):
                result[key] = [e for e in result[key] if e["collection"] != table]
            result["relations"] = [r for r in result["relations"] if r["related_collection"] != table]
        elif kind == 2:
            result["fields"].append(_plain_field(rng, table, f"added_{seed}_{number}", 99))
        elif kind == 3 and own:
            result["fields"].remove(rng.choice(own))
        elif kind == 4 and own:
            rng.choice(own)["meta"]["note"] = f"Changed in edit {number}."
        elif kind == 5 and own:
            entry = rng.choice(own)
            entry["type"], entry["schema"]["data_type"], entry["schema"]["max_length"] = "string", "varchar", 64
        elif kind == 6 and own:
            rng.choice(own)["meta"]["options"] = {"choices": [{"text": "A", "value": "a"}, {"text": "B", "value": "b"}]}
        elif kind == 7:
            other = rng.choice(tables)
            name = f"link_{seed}_{number}"
            result["fields"].append(field(table, name, "integer", "integer", None, 98))
            result["relations"].append(relation(table, name, other))
        elif kind == 8 and own:
            entry = rng.choice(own)
            entry.update(type="alias", schema=None)
            entry["meta"]["special"] = ["alias", "no-data"]
    return result
