"""Reference data on real Directus servers: rows pulled into files, reviewed offline, pushed
into a target whose ids differ, removals behind --allow-data-loss, drift in status.

By default on 12.4.1 with SQLite (two servers, about a minute). ``make test-data`` runs it on
9.26.0, 10.13.4, 11.17.4 and 12.4.1 (SQLite) and on 12.4.1 with PostgreSQL and MariaDB
(``DIRECTUS_DATA_CELLS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import data_seed
import httpx
import pytest

from directus_gitops.files import yamlio
from tests import commonmark
from tests.conftest import Project
from tests.directus_harness import DirectusServer, ServerPool

CELLS = [cell.split(":") for cell in os.environ.get("DIRECTUS_DATA_CELLS", "12.4.1:sqlite").split()]


@pytest.fixture(params=CELLS, ids=[":".join(cell) for cell in CELLS])
def pair(request: pytest.FixtureRequest, directus_pool: ServerPool) -> Iterator[tuple[DirectusServer, DirectusServer]]:
    version, vendor = request.param
    with (
        directus_pool.new_server(version, vendor=vendor) as source,
        directus_pool.new_server(version, vendor=vendor) as target,
    ):
        yield source, target


def _http(server: DirectusServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60)


def _rows(server: DirectusServer, collection: str) -> list[dict[str, Any]]:
    with _http(server) as http:
        response = http.get(f"/items/{collection}", params={"limit": "-1"})
        assert response.is_success, response.text
        return list(response.json()["data"])


def _configure(project: Project, source: DirectusServer, target: DirectusServer, data: str = data_seed.DATA) -> None:
    project.configure(dev=source.url, prod=target.url)
    with (project.root / "directus-gitops.yaml").open("a") as config:
        config.write(data)
    project.git("commit", "--quiet", "-am", "sync reference data")
    project.token("dev", source.token)
    project.token("prod", target.token)


def test_rows_travel_by_key_into_a_target_whose_ids_differ(project: Project, pair: Any) -> None:
    source, target = pair
    with _http(source) as http:
        source_ids = data_seed.seed(http)
    assert source_ids["ml"] < source_ids["ai"]  # the child was created before its parent
    _configure(project, source, target)

    pulled = project.run("pull", "--env", "dev", "--commit")
    assert pulled.code == 0, pulled.output
    assert "rows in 4 collections" in pulled.output
    categories = yamlio.load((project.schema / "data" / "categories.yaml").read_text())
    assert categories["key"] == "slug" and categories["references"] == {"parent": "categories"}
    assert [row["slug"] for row in categories["rows"]] == ["ai", "deep", "ml"]  # sorted by key
    by_slug = {row["slug"]: row for row in categories["rows"]}
    assert by_slug["ml"]["parent"] == "ai" and by_slug["deep"]["parent"] == "ml"  # keys, not ids
    assert all("id" not in row and "tags" not in row for row in categories["rows"])  # no id, no alias
    junction = yamlio.load((project.schema / "data" / "categories_tags.yaml").read_text())
    assert junction["key"] == ["categories_id", "tags_id"]
    assert {"categories_id": "ml", "tags_id": data_seed.TAGS["news"]} in junction["rows"]
    languages = (project.schema / "data" / "languages.yaml").read_text()
    assert "code: de-DE" in languages
    again = project.run("pull", "--env", "dev")
    assert again.code == 0 and "nothing changed" in again.output, again.output  # byte-stable

    plan = project.run("plan", "--env", "prod", "--format", "markdown")
    assert plan.code == 0, plan.output
    assert commonmark.check(plan.out) == [] and "+ categories ml" in plan.out
    assert "drift" not in plan.out  # a first push into an empty target: nothing to tell apart

    pushed = project.run("push", "--env", "prod", "--yes")
    assert pushed.code == 0, pushed.output
    rows = {row["slug"]: row for row in _rows(target, "categories")}
    ids = {slug: row["id"] for slug, row in rows.items()}
    assert ids["ai"] < ids["ml"], "parents are created first, so the target's ids differ"
    assert rows["ml"]["parent"] == ids["ai"] and rows["deep"]["parent"] == ids["ml"] and rows["ai"]["parent"] is None
    links = {(r["categories_id"], r["tags_id"]) for r in _rows(target, "categories_tags")}
    assert links == {
        (ids["ai"], data_seed.TAGS["news"]),
        (ids["ml"], data_seed.TAGS["howto"]),
        (ids["ml"], data_seed.TAGS["news"]),
    }
    assert {row["code"] for row in _rows(target, "languages")} == {"en-US", "de-DE", "ar-SA"}

    second = project.run("plan", "--env", "prod", "--exit-code")
    assert second.code == 0, second.output
    status = project.run("status", "--env", "prod", "--exit-code")
    assert status.code == 0, status.output

    # A row changed by hand on the target is drift, named row by row.
    with _http(target) as http:
        assert http.patch(f"/items/categories/{ids['ai']}", json={"name": "Artificial intelligence"}).is_success
    drifted = project.run("status", "--env", "prod", "--exit-code")
    assert drifted.code == 2 and "categories ai" in drifted.output, drifted.output

    # A language renamed in the repository shows in the offline diff, row by row.
    path = project.schema / "data" / "languages.yaml"
    path.write_text(path.read_text().replace("name: German", "name: Deutsch"))
    project.git("commit", "--quiet", "-am", "rename a language")
    diff = project.run("diff", "HEAD~1", "HEAD")
    assert diff.code == 0, diff.output
    assert "~ languages de-DE" in diff.out and '"German" → "Deutsch"' in diff.out, diff.out
    log = project.run("log")
    assert log.code == 0 and "~ languages de-DE" in log.out, log.output

    # Removing a category loses its values: refused without --allow-data-loss.
    path = project.schema / "data" / "categories.yaml"
    document = yamlio.load(path.read_text())
    document["rows"] = [row for row in document["rows"] if row["slug"] != "deep"]
    path.write_text(path.read_text().split("kind:", 1)[0] + yamlio.dump(document))
    project.git("commit", "--quiet", "-am", "drop a category")
    check = project.run("check")
    assert check.code == 0, check.output
    refused = project.run("push", "--env", "prod", "--yes", "--allow-config-removal")
    assert refused.code == 3 and "categories deep" in refused.output, refused.output
    assert "deep" in {row["slug"] for row in _rows(target, "categories")}
    # The reviewed plan, saved and pushed as it is.
    saved = project.run("plan", "--env", "prod", "--out", "plan.json")
    assert saved.code == 0, saved.output
    applied = project.run("push", "--plan", "plan.json", "--yes", "--allow-data-loss")
    assert applied.code == 0 and "categories deep" in applied.output, applied.output
    assert {row["slug"] for row in _rows(target, "categories")} == {"ai", "ml"}
    assert {row["name"] for row in _rows(target, "languages")} >= {"Deutsch"}
    assert project.run("plan", "--env", "prod", "--exit-code").code == 0


def test_rows_larger_than_one_request_holds_go_in_batches_that_fit(project: Project, pair: Any) -> None:
    """150 rows of 12 KB: 1.8 MB of JSON, where Directus takes at most MAX_PAYLOAD_SIZE (1mb by
    default) a request on its items endpoints (no upload there). 100 rows a request were refused
    whole (400 `request entity too large`) after the schema was applied: exit 5."""
    source, target = pair
    with _http(source) as http:
        rows = data_seed.large_notes(http)
    _configure(project, source, target, "data:\n  notes: {}\n")

    assert project.run("pull", "--env", "dev", "--commit").code == 0
    pushed = project.run("push", "--env", "prod", "--yes")
    assert pushed.code == 0, pushed.output
    assert sorted((r["code"], r["body"]) for r in _rows(target, "notes")) == [(r["code"], r["body"]) for r in rows]
    assert project.run("plan", "--env", "prod", "--exit-code").code == 0
