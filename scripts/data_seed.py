"""Seeds a real Directus with reference data through REST: the tables and their rows.

Used by the reference-data tests (tests/test_reference_data.py) and the demo:

- ``languages``: a string primary key (``code``);
- ``categories``: an auto-increment primary key, keyed by ``slug`` in the files, a tree
  (``parent`` points at another category); ``ml`` is created before its parent ``ai``, so
  its id is the lower one;
- ``tags``: a uuid primary key; ``categories_tags``: the junction of an m2m between
  categories and tags (``categories.tags``).
"""

from __future__ import annotations

from typing import Any

import httpx

TAGS = {"news": "0a7c5c43-0000-4000-8000-000000000001", "howto": "0a7c5c43-0000-4000-8000-000000000002"}
DATA = "data:\n  languages: {}\n  categories: {key: slug}\n  tags: {}\n  categories_tags: {}\n"


def _send(http: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    response = http.request(method, path, json=body)
    assert response.is_success, f"{method} {path}: {response.status_code} {response.text[:300]}"
    return response.json().get("data") if response.content else None


def _field(name: str, kind: str, **schema: Any) -> dict[str, Any]:
    return {"field": name, "type": kind, "schema": schema, "meta": {}}


def tables(http: httpx.Client, *, m2m: bool = True, languages: bool = True) -> None:
    """The collections, their fields and relations (no rows). ``languages``: create it (the
    demo model has its own, with the same fields)."""
    code = _field("code", "string", is_primary_key=True, length=16)
    if languages:
        fields = [code, _field("name", "string"), _field("direction", "string")]
        _send(http, "POST", "/collections", {"collection": "languages", "schema": {}, "meta": {}, "fields": fields})
    ident = {
        "field": "id",
        "type": "integer",
        "schema": {"is_primary_key": True, "has_auto_increment": True},
        "meta": {"hidden": True},
    }
    parent = {"field": "parent", "type": "integer", "schema": {}, "meta": {"special": ["m2o"]}}
    _send(
        http,
        "POST",
        "/collections",
        {
            "collection": "categories",
            "schema": {},
            "meta": {},
            "fields": [
                ident,
                _field("slug", "string", is_unique=True),
                _field("name", "string"),
                _field("sort", "integer"),
                parent,
            ],
        },
    )
    _send(
        http,
        "POST",
        "/relations",
        {
            "collection": "categories",
            "field": "parent",
            "related_collection": "categories",
            "schema": {"on_delete": "SET NULL"},
        },
    )
    if not m2m:
        return
    uuid = {"field": "id", "type": "uuid", "schema": {"is_primary_key": True}, "meta": {"special": ["uuid"]}}
    _send(
        http,
        "POST",
        "/collections",
        {"collection": "tags", "schema": {}, "meta": {}, "fields": [uuid, _field("label", "string")]},
    )
    junction_id = {**ident, "meta": {"hidden": True}}
    _send(
        http,
        "POST",
        "/collections",
        {
            "collection": "categories_tags",
            "schema": {},
            "meta": {"hidden": True},
            "fields": [junction_id, _field("categories_id", "integer"), _field("tags_id", "uuid")],
        },
    )
    _send(
        http,
        "POST",
        "/fields/categories",
        {"field": "tags", "type": "alias", "meta": {"special": ["m2m"], "interface": "list-m2m"}},
    )
    _send(
        http,
        "POST",
        "/relations",
        {
            "collection": "categories_tags",
            "field": "categories_id",
            "related_collection": "categories",
            "meta": {"one_field": "tags", "junction_field": "tags_id"},
            "schema": {"on_delete": "CASCADE"},
        },
    )
    _send(
        http,
        "POST",
        "/relations",
        {
            "collection": "categories_tags",
            "field": "tags_id",
            "related_collection": "tags",
            "meta": {"junction_field": "categories_id"},
            "schema": {"on_delete": "CASCADE"},
        },
    )


def rows(http: httpx.Client, *, m2m: bool = True) -> dict[str, int]:
    """The rows; returns the categories' ids by slug."""
    _send(
        http,
        "POST",
        "/items/languages",
        [
            {"code": "en-US", "name": "English", "direction": "ltr"},
            {"code": "de-DE", "name": "German", "direction": "ltr"},
            {"code": "ar-SA", "name": "Arabic", "direction": "rtl"},
        ],
    )
    ml = _send(http, "POST", "/items/categories", {"slug": "ml", "name": "Machine learning", "sort": 2})
    ai = _send(http, "POST", "/items/categories", {"slug": "ai", "name": "AI", "sort": 1})
    deep = _send(http, "POST", "/items/categories", {"slug": "deep", "name": "Deep learning", "parent": ml["id"]})
    _send(http, "PATCH", f"/items/categories/{ml['id']}", {"parent": ai["id"]})
    ids = {"ml": ml["id"], "ai": ai["id"], "deep": deep["id"]}
    if m2m:
        _send(
            http,
            "POST",
            "/items/tags",
            [{"id": TAGS["news"], "label": "News"}, {"id": TAGS["howto"], "label": "How-to"}],
        )
        _send(
            http,
            "POST",
            "/items/categories_tags",
            [
                {"categories_id": ai["id"], "tags_id": TAGS["news"]},
                {"categories_id": ml["id"], "tags_id": TAGS["howto"]},
                {"categories_id": ml["id"], "tags_id": TAGS["news"]},
            ],
        )
    return ids


def seed(http: httpx.Client, *, m2m: bool = True, languages: bool = True) -> dict[str, int]:
    tables(http, m2m=m2m, languages=languages)
    return rows(http, m2m=m2m)


DEMO_DATA = "data:\n  languages: {}\n  categories: {key: name}\n"


def demo_rows(http: httpx.Client) -> None:
    """Rows for the demo model's own ``languages`` and ``categories`` (a tree keyed by name in
    the files): "Machine learning" is created before its parent "AI"."""
    _send(http, "POST", "/items/languages", [
        {"code": "en-US", "name": "English", "direction": "ltr"},
        {"code": "de-DE", "name": "German", "direction": "ltr"},
    ])  # fmt: skip
    ml = _send(http, "POST", "/items/categories", {"name": "Machine learning", "sort": 2})
    ai = _send(http, "POST", "/items/categories", {"name": "AI", "sort": 1})
    _send(http, "PATCH", f"/items/categories/{ml['id']}", {"parent": ai["id"]})


def large_notes(http: httpx.Client, count: int = 150, size: int = 12_000) -> list[dict[str, Any]]:
    """A collection ``notes`` (a string key ``code``, a text ``body``) of ``count`` rows of about
    ``size`` characters each: with the defaults 1.8 MB of JSON, more than Directus's default
    MAX_PAYLOAD_SIZE (1mb) takes in one request. Sent 40 rows a request (about 480 KB); the rows."""
    code = _field("code", "string", is_primary_key=True, length=16)
    _send(http, "POST", "/collections", {"collection": "notes", "schema": {}, "meta": {}, "fields": [code]})
    _send(http, "POST", "/fields/notes", _field("body", "text"))
    notes = [{"code": f"note-{n:03d}", "body": f"{n} " + "x" * size} for n in range(count)]
    for start in range(0, count, 40):
        _send(http, "POST", "/items/notes", notes[start : start + 40])
    return notes
