"""The offline diff names the same changes as Directus's own ``POST /schema/diff``.

For each kind of change, a seeded server is changed through the REST API and snapshotted
before and after. The server (now in the after state) diffs the before snapshot, and an
untouched seeded server (the before state) diffs the after snapshot: both directions must
give the same (kind, action, collection, field) set as ``changes.compare`` offline, with the
same changed properties. Directus compares its current schema with the snapshot it is sent,
so the offline equivalent is ``compare(old=server's snapshot, new=sent snapshot)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from directus_gitops.model import changes
from tests.directus_harness import ServerPool, demo_model

pytestmark = pytest.mark.directus

Key = tuple[str, str, str, str | None]
Change = Callable[[str, str], None]


def _api(url: str, token: str, method: str, path: str, payload: Any = None) -> None:
    response = httpx.request(
        method, f"{url}{path}", json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"


def add_collection(url: str, token: str) -> None:
    field = {"field": "rating", "type": "integer", "meta": {"interface": "input", "note": "1 to 5"}, "schema": {}}
    demo_model.create_collection(url, token, "reviews", fields=[field], meta={"icon": "star", "group": "blog"})


def remove_collection(url: str, token: str) -> None:
    demo_model.delete_collection(url, token, "settings")


def remove_related_collection(url: str, token: str) -> None:
    # Tags are the far side of the articles ↔ tags many-to-many: relations point at them.
    try:
        demo_model.delete_collection(url, token, "tags")
    except demo_model.DirectusAPIError as error:
        # PostgreSQL and MariaDB keep the junction's foreign key, and Directus does not drop it
        # with the collection ("cannot drop table tags because other objects depend on it"):
        # as a user would, remove the junction's field first.
        if error.status != 500:
            raise
        demo_model.delete_field(url, token, "articles_tags", "tags_id")
        demo_model.delete_collection(url, token, "tags")


def add_field(url: str, token: str) -> None:
    demo_model.add_field(url, token, "authors", "website", note="Personal site.", schema={"max_length": 300})


def remove_field(url: str, token: str) -> None:
    demo_model.delete_field(url, token, "articles", "body")


def change_note(url: str, token: str) -> None:
    demo_model.set_field_note(url, token, "articles", "title", "Shown as the page heading and in lists.")


def change_collection(url: str, token: str) -> None:
    _api(url, token, "PATCH", "/collections/authors", {"meta": {"note": "People who write.", "icon": "face"}})


def change_type(url: str, token: str) -> None:
    _api(url, token, "PATCH", "/fields/authors/bio", {"type": "string", "schema": {"max_length": 500}})


def change_options(url: str, token: str) -> None:
    # One choice fewer, and a new option key: Directus 12 then reports the whole `meta`.
    choices = [{"text": "Draft", "value": "draft"}, {"text": "Live", "value": "published"}]
    options = {"choices": choices, "allowOther": True}
    demo_model.update_field(url, token, "articles", "status", meta={"options": options})


def add_relation(url: str, token: str) -> None:
    demo_model.add_field(url, token, "products", "featured_in", "uuid", meta={"interface": "select-dropdown-m2o"})
    relation = {"collection": "products", "field": "featured_in", "related_collection": "articles"}
    _api(url, token, "POST", "/relations", {**relation, "schema": {"on_delete": "SET NULL"}})


def remove_relation(url: str, token: str) -> None:
    _api(url, token, "DELETE", "/relations/products/category")


def alias_switch(url: str, token: str) -> None:
    # A presentation field (an alias, no column) becomes a real column of the same name.
    demo_model.delete_field(url, token, "articles", "publishing_notice")
    demo_model.add_field(url, token, "articles", "publishing_notice", note="Now a column.")


CHANGES: list[Change] = [
    add_collection,
    remove_collection,
    remove_related_collection,
    add_field,
    remove_field,
    change_note,
    change_collection,
    change_type,
    change_options,
    add_relation,
    remove_relation,
    alias_switch,
]


def keys(changeset: changes.ChangeSet) -> set[Key]:
    return {(c.kind, c.action, c.collection, c.field) for c in changeset}


def properties(changeset: changes.ChangeSet) -> dict[Key, set[str]]:
    return {(c.kind, c.action, c.collection, c.field): {p.path for p in c.properties} for c in changeset}


def server_diff(server: Any, snapshot: dict[str, Any]) -> changes.ChangeSet:
    """What ``server`` reports it would change to match ``snapshot``."""
    response = httpx.post(
        f"{server.url}/schema/diff", json=snapshot, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    )
    if response.status_code == 204:
        return changes.ChangeSet()
    assert response.status_code == 200, response.text
    return changes.from_server(response.json()["data"]["diff"])


@pytest.fixture(scope="module")
def reference(directus_pool: ServerPool, directus_version: str, directus_database: str) -> Iterator[Any]:
    """A seeded server nobody changes: the before state of every test (stopped after them)."""
    with directus_pool.new_server(directus_version, seeded=True, vendor=directus_database) as server:
        yield server


def assert_agreement(server: Any, reference: Any, before: dict[str, Any], after: dict[str, Any]) -> None:
    # The changed server goes back: it holds `after` and is sent `before`.
    backwards = server_diff(server, before)
    offline_backwards = changes.compare(after, before)
    assert keys(offline_backwards) == keys(backwards)
    assert properties(offline_backwards) == properties(backwards)

    # The untouched server goes forward: it holds the seeded model and is sent `after`.
    current = demo_model.snapshot(reference.url, reference.token)
    forwards = server_diff(reference, after)
    offline_forwards = changes.compare(current, after)
    assert keys(offline_forwards) == keys(forwards)
    assert properties(offline_forwards) == properties(forwards)


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__ for change in CHANGES])
def test_offline_diff_names_what_directus_names(
    directus_pool: ServerPool, directus_version: str, directus_database: str, reference: Any, change: Change
) -> None:
    with directus_pool.new_server(directus_version, seeded=True, vendor=directus_database) as server:
        before = demo_model.snapshot(server.url, server.token)
        change(server.url, server.token)
        after = demo_model.snapshot(server.url, server.token)
        assert changes.compare(before, after), "the change did not change the schema"
        assert_agreement(server, reference, before, after)


def test_a_table_directus_does_not_manage(
    directus_pool: ServerPool, directus_version: str, directus_database: str, reference: Any
) -> None:
    """A table made outside Directus: 10.x lists it (meta null) and would drop it when a
    snapshot lacks it; from 11.10 snapshots leave such tables out altogether."""
    with directus_pool.new_server(directus_version, seeded=True, vendor=directus_database) as server:
        before = demo_model.snapshot(server.url, server.token)
        directus_pool.execute_sql(server, "CREATE TABLE legacy_import (id INTEGER PRIMARY KEY, payload TEXT)")
        after = demo_model.snapshot(server.url, server.token)
        listed = any(c["collection"] == "legacy_import" for c in after["collections"])
        assert listed == (int(directus_version.split(".")[0]) < 11)
        assert_agreement(server, reference, before, after)


def test_a_snapshot_without_system_indexes(reference: Any, directus_version: str) -> None:
    """A snapshot from before 11.13 has no systemFields: 11.13+ then plans to drop Directus's
    own indexes, and the offline diff must show (and mark) exactly those."""
    current = demo_model.snapshot(reference.url, reference.token)
    if "systemFields" not in current:
        assert tuple(int(part) for part in directus_version.split(".")[:2]) < (11, 13)
        return
    older = {key: value for key, value in current.items() if key != "systemFields"}
    offline = changes.compare(current, older)
    assert offline and all(c.kind == "system_field" and c.data_loss for c in offline)
    served = server_diff(reference, older)
    assert keys(offline) == keys(served)
    assert properties(offline) == properties(served)
