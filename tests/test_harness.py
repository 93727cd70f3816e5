"""The real-server harness: servers start from templates, hold the demo model, and stop."""

from __future__ import annotations

import httpx
import pytest

from tests.directus_harness import ServerPool, databases, demo_model

pytestmark = pytest.mark.directus


def test_seeded_server_holds_the_demo_model(
    directus_pool: ServerPool, directus_version: str, directus_database: str
) -> None:
    with directus_pool.new_server(directus_version, seeded=True, vendor=directus_database) as server:
        snapshot = demo_model.snapshot(server.url, server.token)

    collections = {c["collection"]: c for c in snapshot["collections"]}
    assert set(collections) == set(demo_model.COLLECTIONS)
    relations = {(r["collection"], r["field"], r["related_collection"]) for r in snapshot["relations"]}
    assert relations == set(demo_model.RELATIONS)
    for folder in demo_model.FOLDERS:
        assert "schema" not in collections[folder]
    assert collections["articles"]["meta"]["group"] == "blog"
    assert collections["settings"]["meta"]["singleton"] is True
    fields = {(f["collection"], f["field"]): f for f in snapshot["fields"]}
    assert fields[("articles", "slug")]["schema"]["is_unique"] is True
    assert fields[("articles", "translations")]["meta"]["special"] == ["translations"]


def test_model_helpers_change_the_schema(
    directus_pool: ServerPool, directus_version: str, directus_database: str
) -> None:
    with directus_pool.new_server(directus_version, seeded=True, vendor=directus_database) as server:
        url, token = server.url, server.token
        demo_model.add_field(url, token, "authors", "website", note="Personal site.")
        demo_model.set_field_note(url, token, "articles", "title", "Changed.")
        demo_model.delete_collection(url, token, "products")
        snapshot = demo_model.snapshot(url, token)
    fields = {(f["collection"], f["field"]): f for f in snapshot["fields"]}
    assert fields[("authors", "website")]["meta"]["note"] == "Personal site."
    assert fields[("articles", "title")]["meta"]["note"] == "Changed."
    assert "products" not in {c["collection"] for c in snapshot["collections"]}


def test_empty_server_stops_for_good(directus_pool: ServerPool, directus_version: str, directus_database: str) -> None:
    server = directus_pool.new_server(directus_version, vendor=directus_database)
    assert demo_model.snapshot(server.url, server.token)["collections"] == []
    pid = server.pid
    assert pid is not None

    server.stop()

    assert not databases.pid_alive(pid)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/server/ping", timeout=2.0)


def test_api_errors_carry_the_response_body(
    directus_pool: ServerPool, directus_version: str, directus_database: str
) -> None:
    with (
        directus_pool.new_server(directus_version, vendor=directus_database) as server,
        pytest.raises(demo_model.DirectusAPIError) as error,
    ):
        demo_model.delete_collection(server.url, server.token, "no_such_collection")
    assert error.value.status in (403, 404)
    assert "errors" in error.value.body
