"""The demo project's data model, created on a live Directus through its REST API.

A small blog and shop, chosen to exercise what a Directus schema can hold: folders, a
singleton, many-to-one, one-to-many, many-to-many through a junction, translations,
presentation fields, validation, unique and sort fields, defaults, notes, interface options,
status choices, uuid and string primary keys, json, decimal and sized varchar columns.
Eleven collections (two of them folders), well under Directus 12's unlicensed limit of 25.

Also small helpers the tests use to change a model: add, change and delete fields and
collections, and read the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

FOLDERS = ("blog", "shop")
COLLECTIONS = (
    "blog",
    "authors",
    "articles",
    "tags",
    "articles_tags",
    "languages",
    "articles_translations",
    "shop",
    "categories",
    "products",
    "settings",
)
# (collection, field, related collection) of every relation the model creates.
RELATIONS = (
    ("articles", "author", "authors"),
    ("articles_tags", "articles_id", "articles"),
    ("articles_tags", "tags_id", "tags"),
    ("articles_translations", "articles_id", "articles"),
    ("articles_translations", "languages_code", "languages"),
    ("categories", "parent", "categories"),
    ("products", "category", "categories"),
)


class DirectusAPIError(RuntimeError):
    """A Directus request answered outside 2xx; carries the response body."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.method = method
        self.path = path
        self.status = status
        self.body = body


@contextmanager
def _client(url: str, token: str) -> Iterator[httpx.Client]:
    # Schema changes on SQLite rebuild tables; a generous timeout keeps loaded CI machines safe.
    with httpx.Client(base_url=url, timeout=60.0, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _call(client: httpx.Client, method: str, path: str, payload: Any = None) -> Any:
    response = client.request(method, path, json=payload)
    if not response.is_success:
        raise DirectusAPIError(method, path, response.status_code, response.text)
    return response.json().get("data") if response.content else None


# --------------------------------------------------------------------------------------------
# Field builders: they spell out only what differs from Directus's defaults.


def _integer_key() -> dict[str, Any]:
    return {
        "field": "id",
        "type": "integer",
        "meta": {"hidden": True, "readonly": True, "interface": "input"},
        "schema": {"is_primary_key": True, "has_auto_increment": True},
    }


def _uuid_key() -> dict[str, Any]:
    return {
        "field": "id",
        "type": "uuid",
        "meta": {"hidden": True, "readonly": True, "interface": "input", "special": ["uuid"]},
        "schema": {"is_primary_key": True, "length": 36},
    }


def _string(
    field: str,
    *,
    length: int = 255,
    required: bool = False,
    unique: bool = False,
    default: str | None = None,
    **meta: Any,
) -> dict[str, Any]:
    return {
        "field": field,
        "type": "string",
        "meta": {"interface": "input", "required": required, **meta},
        "schema": {"max_length": length, "is_unique": unique, "is_nullable": not required, "default_value": default},
    }


def _m2o(field: str, type_: str, template: str, **meta: Any) -> dict[str, Any]:
    return {
        "field": field,
        "type": type_,
        "meta": {
            "interface": "select-dropdown-m2o",
            "special": ["m2o"],
            "display": "related-values",
            "display_options": {"template": template},
            "options": {"template": template},
            **meta,
        },
        "schema": {},
    }


def _alias(field: str, special: str, interface: str, **meta: Any) -> dict[str, Any]:
    return {"field": field, "type": "alias", "meta": {"special": [special], "interface": interface, **meta}}


def _presentation(field: str, interface: str, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "field": field,
        "type": "alias",
        "meta": {"special": ["alias", "no-data"], "interface": interface, "options": options, "width": "full"},
    }


def _status(choices: list[tuple[str, str]], default: str) -> dict[str, Any]:
    return {
        "field": "status",
        "type": "string",
        "meta": {
            "interface": "select-dropdown",
            "width": "half",
            "display": "labels",
            "options": {"choices": [{"text": text, "value": value} for value, text in choices]},
            "note": "Only published items are visible on the site.",
        },
        "schema": {"max_length": 32, "default_value": default, "is_nullable": False},
    }


def _sort() -> dict[str, Any]:
    return {"field": "sort", "type": "integer", "meta": {"interface": "input", "hidden": True}, "schema": {}}


def _slug_rule(field: str) -> dict[str, Any]:
    return {
        "validation": {"_and": [{field: {"_regex": "^[a-z0-9]+(?:-[a-z0-9]+)*$"}}]},
        "validation_message": "Lowercase letters, digits and single dashes only.",
    }


def _email_rule(field: str) -> dict[str, Any]:
    return {
        "validation": {"_and": [{field: {"_regex": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"}}]},
        "validation_message": "Not an e-mail address.",
    }


def _collection(name: str, fields: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {"collection": name, "meta": meta, "schema": {}, "fields": fields}


def _folder(name: str, icon: str, note: str) -> dict[str, Any]:
    # A folder is a collection without a table.
    return {"collection": name, "meta": {"icon": icon, "note": note, "collapse": "open"}, "schema": None}


def _collections() -> list[dict[str, Any]]:
    """Every collection with its fields, in an order where groups exist before members."""
    article_statuses = [("draft", "Draft"), ("published", "Published"), ("archived", "Archived")]
    return [
        _folder("blog", "article", "Everything the blog publishes."),
        _folder("shop", "storefront", "Products on sale."),
        _collection(
            "languages",
            [
                {
                    "field": "code",
                    "type": "string",
                    "meta": {"interface": "input", "note": "BCP 47 tag, e.g. en-US."},
                    "schema": {"is_primary_key": True, "max_length": 16, "is_nullable": False},
                },
                _string("name", length=64, required=True),
                _string(
                    "direction",
                    length=3,
                    default="ltr",
                    interface="select-dropdown",
                    options={
                        "choices": [
                            {"text": "Left to right", "value": "ltr"},
                            {"text": "Right to left", "value": "rtl"},
                        ]
                    },
                ),
            ],
            icon="translate",
            group="blog",
            display_template="{{name}}",
        ),
        _collection(
            "authors",
            [
                _integer_key(),
                _string("name", length=120, required=True),
                _string(
                    "email", length=254, unique=True, note="Used for the byline's contact link.", **_email_rule("email")
                ),
                {
                    "field": "bio",
                    "type": "text",
                    "meta": {"interface": "input-multiline", "options": {"trim": True}},
                    "schema": {},
                },
                _alias(
                    "articles",
                    "o2m",
                    "list-o2m",
                    note="Articles written by this author.",
                    options={"template": "{{title}}"},
                ),
            ],
            icon="person",
            group="blog",
            display_template="{{name}}",
        ),
        _collection(
            "tags",
            [
                _integer_key(),
                _string("name", length=64, required=True, unique=True),
            ],
            icon="label",
            group="blog",
            display_template="{{name}}",
        ),
        _collection(
            "articles",
            [
                _uuid_key(),
                _status(article_statuses, "draft"),
                _sort(),
                _string(
                    "title",
                    length=200,
                    required=True,
                    note="Shown as the page heading.",
                    options={"placeholder": "A catchy title", "trim": True},
                ),
                _string(
                    "slug",
                    length=200,
                    required=True,
                    unique=True,
                    note="The address of the article: /blog/<slug>.",
                    **_slug_rule("slug"),
                ),
                _m2o("author", "integer", "{{name}}", note="Who wrote it."),
                {
                    "field": "published_at",
                    "type": "timestamp",
                    "meta": {"interface": "datetime", "width": "half"},
                    "schema": {},
                },
                _presentation(
                    "publishing_notice",
                    "presentation-notice",
                    {"color": "warning", "text": "Published articles appear on the site immediately."},
                ),
                _presentation(
                    "content_divider",
                    "presentation-divider",
                    {"title": "Content", "icon": "article", "inlineTitle": True},
                ),
                {
                    "field": "body",
                    "type": "text",
                    "meta": {"interface": "input-rich-text-md", "note": "Markdown."},
                    "schema": {},
                },
                _alias("tags", "m2m", "list-m2m", options={"template": "{{tags_id.name}}"}),
                _alias(
                    "translations",
                    "translations",
                    "translations",
                    options={"languageField": "name", "defaultLanguage": "en-US"},
                ),
                {
                    "field": "metadata",
                    "type": "json",
                    "meta": {
                        "interface": "input-code",
                        "special": ["cast-json"],
                        "options": {"language": "JSON"},
                        "note": "Free-form SEO data.",
                    },
                    "schema": {},
                },
                {
                    "field": "date_created",
                    "type": "timestamp",
                    "meta": {"special": ["date-created"], "readonly": True, "hidden": True, "interface": "datetime"},
                    "schema": {},
                },
            ],
            icon="article",
            group="blog",
            sort_field="sort",
            archive_field="status",
            archive_value="archived",
            unarchive_value="draft",
            display_template="{{title}}",
        ),
        _collection(
            "articles_tags",
            [
                _integer_key(),
                {"field": "articles_id", "type": "uuid", "meta": {"hidden": True}, "schema": {}},
                {"field": "tags_id", "type": "integer", "meta": {"hidden": True}, "schema": {}},
            ],
            hidden=True,
            icon="import_export",
            group="blog",
        ),
        _collection(
            "articles_translations",
            [
                _integer_key(),
                {"field": "articles_id", "type": "uuid", "meta": {"hidden": True}, "schema": {}},
                {"field": "languages_code", "type": "string", "meta": {"hidden": True}, "schema": {"max_length": 16}},
                _string("title", length=200),
                {"field": "summary", "type": "text", "meta": {"interface": "input-multiline"}, "schema": {}},
            ],
            hidden=True,
            icon="import_export",
            group="blog",
        ),
        _collection(
            "categories",
            [
                _integer_key(),
                _string("name", length=100, required=True),
                _sort(),
                _m2o("parent", "integer", "{{name}}", note="Leave empty for a top-level category."),
            ],
            icon="category",
            group="shop",
            sort_field="sort",
            display_template="{{name}}",
        ),
        _collection(
            "products",
            [
                _integer_key(),
                _status([("draft", "Draft"), ("published", "On sale"), ("retired", "Retired")], "draft"),
                _string("name", length=150, required=True),
                _string(
                    "sku",
                    length=32,
                    required=True,
                    unique=True,
                    note="Stock keeping unit, as printed on the label.",
                    validation={"_and": [{"sku": {"_regex": "^[A-Z0-9-]{4,32}$"}}]},
                    validation_message="4 to 32 capital letters, digits or dashes.",
                ),
                {
                    "field": "price",
                    "type": "decimal",
                    "meta": {
                        "interface": "input",
                        "width": "half",
                        "options": {"min": 0},
                        "note": "In euros, VAT included.",
                    },
                    "schema": {"numeric_precision": 10, "numeric_scale": 2, "default_value": 0, "is_nullable": False},
                },
                {
                    "field": "stock",
                    "type": "integer",
                    "meta": {"interface": "input", "width": "half", "options": {"min": 0}},
                    "schema": {"default_value": 0},
                },
                {
                    "field": "specs",
                    "type": "json",
                    "meta": {
                        "interface": "list",
                        "special": ["cast-json"],
                        "options": {
                            "fields": [
                                {"field": "label", "name": "Label", "type": "string", "meta": {"interface": "input"}},
                                {"field": "value", "name": "Value", "type": "string", "meta": {"interface": "input"}},
                            ]
                        },
                    },
                    "schema": {},
                },
                _m2o("category", "integer", "{{name}}"),
            ],
            icon="inventory_2",
            group="shop",
            archive_field="status",
            archive_value="retired",
            unarchive_value="draft",
            display_template="{{name}} ({{sku}})",
        ),
        _collection(
            "settings",
            [
                _integer_key(),
                _string("site_name", length=100, required=True, default="My Blog & Shop"),
                _string(
                    "contact_email",
                    length=254,
                    note="Where the contact form sends mail.",
                    **_email_rule("contact_email"),
                ),
                {
                    "field": "maintenance_mode",
                    "type": "boolean",
                    "meta": {
                        "interface": "boolean",
                        "special": ["cast-boolean"],
                        "options": {"label": "Show the maintenance page"},
                    },
                    "schema": {"default_value": False, "is_nullable": False},
                },
            ],
            icon="settings",
            singleton=True,
            note="Site-wide settings.",
        ),
    ]


def _relation(
    collection: str,
    field: str,
    related: str,
    *,
    one_field: str | None = None,
    junction_field: str | None = None,
    on_delete: str = "SET NULL",
) -> dict[str, Any]:
    return {
        "collection": collection,
        "field": field,
        "related_collection": related,
        "meta": {
            "one_field": one_field,
            "junction_field": junction_field,
            "sort_field": None,
            "one_deselect_action": "nullify",
        },
        "schema": {"on_delete": on_delete},
    }


def _relations() -> list[dict[str, Any]]:
    return [
        _relation("articles", "author", "authors", one_field="articles"),
        _relation(
            "articles_tags", "articles_id", "articles", one_field="tags", junction_field="tags_id", on_delete="CASCADE"
        ),
        _relation("articles_tags", "tags_id", "tags", junction_field="articles_id", on_delete="CASCADE"),
        _relation(
            "articles_translations",
            "articles_id",
            "articles",
            one_field="translations",
            junction_field="languages_code",
            on_delete="CASCADE",
        ),
        _relation(
            "articles_translations", "languages_code", "languages", junction_field="articles_id", on_delete="CASCADE"
        ),
        _relation("categories", "parent", "categories"),
        _relation("products", "category", "categories"),
    ]


def seed(url: str, token: str, version: str) -> None:
    """Create the demo model on the (empty) Directus at ``url``.

    The same payloads serve every supported ``version`` (9.x to 12.x); it is part of the
    signature so every seeder can be called alike.
    """
    del version
    with _client(url, token) as client:
        for collection in _collections():
            _call(client, "POST", "/collections", collection)
        for relation in _relations():
            _call(client, "POST", "/relations", relation)


# --------------------------------------------------------------------------------------------
# Helpers for tests that change a model.


def snapshot(url: str, token: str) -> dict[str, Any]:
    with _client(url, token) as client:
        data: dict[str, Any] = _call(client, "GET", "/schema/snapshot")
        return data


def add_field(
    url: str,
    token: str,
    collection: str,
    field: str,
    type: str = "string",
    *,
    note: str | None = None,
    meta: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add a field; ``schema=None`` gives a regular column (pass ``type="alias"`` for none)."""
    payload: dict[str, Any] = {"field": field, "type": type, "meta": {"interface": "input", **(meta or {})}}
    if note is not None:
        payload["meta"]["note"] = note
    if type != "alias":
        payload["schema"] = schema or {}
    with _client(url, token) as client:
        created: dict[str, Any] = _call(client, "POST", f"/fields/{collection}", payload)
        return created


def update_field(
    url: str,
    token: str,
    collection: str,
    field: str,
    *,
    meta: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Change part of a field's ``meta`` and/or ``schema`` (what Directus leaves out stays)."""
    payload: dict[str, Any] = {}
    if meta is not None:
        payload["meta"] = meta
    if schema is not None:
        payload["schema"] = schema
    with _client(url, token) as client:
        updated: dict[str, Any] = _call(client, "PATCH", f"/fields/{collection}/{field}", payload)
        return updated


def set_field_note(url: str, token: str, collection: str, field: str, note: str | None) -> None:
    update_field(url, token, collection, field, meta={"note": note})


def delete_field(url: str, token: str, collection: str, field: str) -> None:
    with _client(url, token) as client:
        _call(client, "DELETE", f"/fields/{collection}/{field}")


def add_relation(
    url: str, token: str, collection: str, field: str, related: str, *, on_delete: str = "SET NULL"
) -> None:
    """Relate ``collection.field`` (an existing field) to ``related``, many-to-one."""
    with _client(url, token) as client:
        _call(client, "POST", "/relations", _relation(collection, field, related, on_delete=on_delete))


def create_collection(
    url: str,
    token: str,
    collection: str,
    *,
    fields: list[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    """Create a collection with an integer key plus ``fields`` (Directus field payloads)."""
    payload = _collection(collection, [_integer_key(), *(fields or [])], **(meta or {}))
    with _client(url, token) as client:
        _call(client, "POST", "/collections", payload)


def delete_collection(url: str, token: str, collection: str) -> None:
    with _client(url, token) as client:
        _call(client, "DELETE", f"/collections/{collection}")
