"""Small hand-made snapshots in Directus's shape, for tests that need no server.

Real-server tests use real snapshots; these cover shapes a test server rarely produces
(odd collection names, fields on system collections, multi-line notes).
"""

from __future__ import annotations

import copy
from typing import Any


def field(collection: str, name: str, type_: str = "string", **schema: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "collection": collection,
        "field": name,
        "type": type_,
        "meta": {"collection": collection, "field": name, "interface": "input", "note": None, "sort": 1},
        "schema": {
            "name": name,
            "table": collection,
            "data_type": "varchar" if type_ == "string" else type_,
            "default_value": None,
            "max_length": 255 if type_ == "string" else None,
            "is_nullable": True,
            "is_primary_key": False,
            "has_auto_increment": False,
        },
    }
    entry["schema"].update(schema)
    return entry


def collection(name: str, folder: bool = False, **meta: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"collection": name, "meta": {"collection": name, "note": None, **meta}}
    if not folder:
        entry["schema"] = {"name": name}
    return entry


def relation(collection: str, name: str, related: str, on_delete: str = "SET NULL") -> dict[str, Any]:
    return {
        "collection": collection,
        "field": name,
        "related_collection": related,
        "meta": {"many_collection": collection, "many_field": name, "one_collection": related},
        "schema": {"table": collection, "column": name, "foreign_key_table": related, "on_delete": on_delete},
    }


def pk(collection: str) -> dict[str, Any]:
    return field(collection, "id", "integer", is_primary_key=True, has_auto_increment=True, is_nullable=False)


BASE: dict[str, Any] = {
    "version": 1,
    "directus": "12.4.1",
    "vendor": "sqlite",
    "collections": [
        collection("content", folder=True),
        collection("articles", group="content"),
        collection("authors"),
        collection("Mixed Case/Name"),
    ],
    "fields": [
        pk("articles"),
        field("articles", "title", note=None),
        field("articles", "author", "integer"),
        pk("authors"),
        field("authors", "name"),
        field("authors", "bio", "text"),
        pk("Mixed Case/Name"),
        field("directus_users", "nickname"),
    ],
    "relations": [relation("articles", "author", "authors")],
    "systemFields": [{"collection": "directus_activity", "field": "timestamp", "schema": {"is_indexed": True}}],
}
BASE["fields"][5]["meta"]["note"] = "Multi-line\nnote: with colon\n"


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def find(snapshot: dict[str, Any], key: str, collection: str, name: str | None = None) -> dict[str, Any]:
    for entry in snapshot[key]:
        if entry["collection"] == collection and entry.get("field") == name:
            return entry  # type: ignore[no-any-return]
    raise KeyError((key, collection, name))
