"""Renames on real Directus servers: a target with rows, three fields renamed in the repository
(a plain one shown by display templates, one with a unique index, an m2o), pushed without
data-loss consent; every row keeps its values under the new names.

By default on 12.4.1 with SQLite (one server, about half a minute). ``make test-renames`` runs it
on 12.4.1 with SQLite, PostgreSQL and MariaDB and on 10.13.4 with SQLite
(``DIRECTUS_RENAME_CELLS``). A field named by a permission rule and a display template: by
default on 12.4.1 and 11.17.4 with SQLite (``DIRECTUS_RENAME_RULE_CELLS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import data_seed
import httpx
import pytest

from directus_gitops.files import yamlio
from tests.conftest import Project
from tests.directus_harness import DirectusServer, ServerPool

CELLS = [cell.split(":") for cell in os.environ.get("DIRECTUS_RENAME_CELLS", "12.4.1:sqlite").split()]
ROWS = 450  # more than two batches of the copy


@pytest.fixture(params=CELLS, ids=[":".join(cell) for cell in CELLS])
def target(request: pytest.FixtureRequest, directus_pool: ServerPool) -> Iterator[DirectusServer]:
    version, vendor = request.param
    with directus_pool.new_server(version, seeded=True, vendor=vendor) as server:
        yield server


def _http(server: DirectusServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=120)


def _seed(server: DirectusServer) -> dict[str, dict[str, Any]]:
    """Authors and articles with values in every renamed field (a few authors left empty)."""
    with _http(server) as http:
        authors = http.post(
            "/items/authors", json=[{"name": f"Author {n}", "email": f"a{n}@example.com"} for n in range(3)]
        )
        assert authors.is_success, authors.text
        ids = [row["id"] for row in authors.json()["data"]]
        rows = [
            {"title": f"Title {n}", "slug": f"slug-{n}", "author": ids[n % 3] if n % 7 else None} for n in range(ROWS)
        ]
        created = http.post("/items/articles", json=rows)
        assert created.is_success, created.text
    return _articles(server, ("title", "slug", "author"))


def _articles(server: DirectusServer, fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    with _http(server) as http:
        response = http.get("/items/articles", params={"limit": "-1", "fields": ",".join(("id", *fields))})
        assert response.is_success, response.text
        return {row["id"]: {name: row.get(name) for name in fields} for row in response.json()["data"]}


def _fields(server: DirectusServer, collection: str) -> set[str]:
    with _http(server) as http:
        response = http.get(f"/fields/{collection}")
        assert response.is_success, response.text
        return {entry["field"] for entry in response.json()["data"]}


def test_renamed_fields_keep_every_value_on_push(project: Project, target: DirectusServer) -> None:
    before = _seed(target)
    assert len(before) == ROWS
    project.configure(prod=target.url)
    project.token("prod", target.token)
    pulled = project.run("pull", "--env", "prod", "--commit")
    assert pulled.code == 0, pulled.output

    for old, new in (("title", "headline"), ("slug", "permalink"), ("author", "writer")):
        renamed = project.run("rename", f"articles.{old}", f"articles.{new}")
        assert renamed.code == 0, renamed.output
    check = project.run("check")
    assert check.code == 0, check.output
    project.git("commit", "--quiet", "-am", "Rename three article fields")
    manifest = yamlio.load((project.schema / "manifest.yaml").read_text())
    assert manifest["renames"][0] == {"collection": "articles", "from": "title", "to": "headline"}
    articles = (project.schema / "collections" / "articles.yaml").read_text()
    assert "display_template: '{{headline}}'" in articles and "field: title" not in articles

    diff = project.run("diff", "HEAD~1", "HEAD")
    assert diff.code == 0, diff.output
    for old, new in (("title", "headline"), ("slug", "permalink"), ("author", "writer")):
        assert f"→ rename articles.{old} → articles.{new}" in diff.out, diff.out
    assert "data loss" not in diff.out and "can lose data" not in diff.out

    plan = project.run("plan", "--env", "prod")
    assert plan.code == 0, plan.output
    assert "→ rename articles.title → articles.headline" in plan.out, plan.out
    assert "→ rename relation articles.author → articles.writer → authors" in plan.out, plan.out
    assert "can lose data" not in plan.out

    pushed = project.run("push", "--env", "prod", "--yes")  # no --allow-data-loss
    # Directus 10 cannot make an existing SQLite column required (docs/renames.md, known limits):
    # the values are kept, and the two required fields read back nullable (exit 4).
    stays_nullable = target.version.startswith("10.") and target.connection is None  # SQLite
    if stays_nullable:
        assert pushed.code == 4, pushed.output
        assert pushed.out.count("schema.is_nullable: true → false") == 2, pushed.out
    else:
        assert pushed.code == 0, pushed.output
    assert f"renamed articles.title → articles.headline: {ROWS} row(s)" in pushed.err, pushed.err

    fields = _fields(target, "articles")
    assert {"headline", "permalink", "writer"} <= fields and not {"title", "slug", "author"} & fields
    after = _articles(target, ("headline", "permalink", "writer"))
    assert after == {
        key: {"headline": row["title"], "permalink": row["slug"], "writer": row["author"]}
        for key, row in before.items()
    }
    with _http(target) as http:  # the m2o still resolves, the unique index still holds
        nested = http.get("/items/articles", params={"fields": "writer.name", "filter[writer][_nnull]": "true"})
        assert nested.is_success and nested.json()["data"][0]["writer"]["name"].startswith("Author")
        twice = http.post("/items/articles", json={"headline": "x", "permalink": "slug-1"})
        assert twice.status_code == 400, twice.text

    again = project.run("plan", "--env", "prod")
    if stays_nullable:
        assert "Plan: 0 to add, 2 to change, 0 to destroy." in again.out, again.output
        return
    assert again.code == 0 and "No changes." in again.out, again.output
    pushed_again = project.run("push", "--env", "prod", "--yes")
    assert pushed_again.code == 0, pushed_again.output


# Directus 12 without a licence key refuses permissions with custom rules (docs/compatibility.md):
# there, the rule is left out and the display template alone is checked; 11.x holds policies
# with rules, 10.x roles with rules.
RULE_CELLS = [
    cell.split(":") for cell in os.environ.get("DIRECTUS_RENAME_RULE_CELLS", "12.4.1:sqlite 11.17.4:sqlite").split()
]


@pytest.fixture(params=RULE_CELLS, ids=[":".join(cell) for cell in RULE_CELLS])
def ruled(request: pytest.FixtureRequest, directus_pool: ServerPool) -> Iterator[DirectusServer]:
    version, vendor = request.param
    with directus_pool.new_server(version, seeded=True, vendor=vendor) as server:
        yield server


def _holder(server: DirectusServer, http: httpx.Client) -> tuple[dict[str, str], str]:
    """An Editors policy (a role before 11.x) to hold a permission: its reference and its file."""
    if int(server.version.split(".")[0]) < 11:
        role = http.post("/roles", json={"name": "Editors", "icon": "badge", "app_access": True})
        assert role.is_success, role.text
        return {"role": role.json()["data"]["id"]}, "roles/editors.yaml"
    policy = http.post("/policies", json={"name": "Editors", "icon": "badge", "app_access": True})
    assert policy.is_success, policy.text
    return {"policy": policy.json()["data"]["id"]}, "policies/editors.yaml"


def test_a_field_named_by_a_permission_rule_and_the_display_template(project: Project, ruled: DirectusServer) -> None:
    """A permission on articles filters on the renamed field and lists it; the collection's
    display template shows it: after the rename, the target's permission and template name
    the new field, every value is kept, and status and a second plan agree."""
    target = ruled
    rule = {"_and": [{"title": {"_nnull": True}}, {"title": {"_ncontains": "draft"}}]}
    with _http(target) as http:
        created = http.post("/items/articles", json=[{"title": f"Title {n}", "slug": f"s-{n}"} for n in range(5)])
        assert created.is_success, created.text
        holder, holder_file = _holder(target, http)
        permission = {
            **holder,
            "collection": "articles",
            "action": "read",
            "fields": ["id", "title"],
            "permissions": rule,
        }
        added = http.post("/permissions", json=permission)
        rules = added.is_success
        if not rules:  # 12.x without a licence key
            assert added.status_code == 403 and "custom_permission_rules_enabled" in added.text, added.text
        template = http.patch("/collections/articles", json={"meta": {"display_template": "{{title}} ({{slug}})"}})
        assert template.is_success, template.text
    before = _articles(target, ("title",))
    project.configure(prod=target.url)
    with (project.root / "directus-gitops.yaml").open("a") as config:
        config.write("sync: [schema, access]\n")
    project.git("commit", "--quiet", "-am", "Sync the access model")
    project.token("prod", target.token)
    pulled = project.run("pull", "--env", "prod", "--commit")
    assert pulled.code == 0, pulled.output

    renamed = project.run("rename", "articles.title", "articles.headline")
    assert renamed.code == 0, renamed.output
    assert (f"schema/config/{holder_file}" in renamed.err) == rules, renamed.err
    project.git("commit", "--quiet", "-am", "Rename the title")
    commit = project.git("rev-parse", "HEAD").strip()
    status = project.run("status")  # the target runs the commit before the rename
    assert status.code == 0 and "1 schema commit(s) behind" in status.out, status.output

    plan = project.run("plan", "--env", "prod")
    assert plan.code == 0, plan.output
    assert f"→ rename articles.title → articles.headline (recorded in {commit[:10]})" in plan.out, plan.out
    pushed = project.run("push", "--env", "prod", "--yes")
    # Directus 10 cannot make an existing SQLite column required (docs/renames.md, known limits).
    stays_nullable = target.version.startswith("10.") and target.connection is None
    assert pushed.code == (4 if stays_nullable else 0), pushed.output

    with _http(target) as http:
        meta = http.get("/collections/articles").json()["data"]["meta"]
        assert meta["display_template"] == "{{headline}} ({{slug}})"
        if rules:
            params = {f"filter[{key}][_eq]": value for key, value in holder.items()}
            found = http.get("/permissions", params={**params, "filter[collection][_eq]": "articles"})
            assert found.is_success, found.text
            (permission,) = found.json()["data"]
            assert sorted(permission["fields"]) == ["headline", "id"]
            assert permission["permissions"] == {
                "_and": [{"headline": {"_nnull": True}}, {"headline": {"_ncontains": "draft"}}]
            }
    assert _articles(target, ("headline",)) == {key: {"headline": row["title"]} for key, row in before.items()}

    again = project.run("plan", "--env", "prod")
    if stays_nullable:
        assert "Plan: 0 to add, 1 to change, 0 to destroy." in again.out, again.output
        assert "No configuration changes." in again.out, again.output
        return
    assert again.code == 0 and "No changes." in again.out, again.output
    status = project.run("status")
    assert status.code == 0 and "(the newest schema commit)" in status.out, status.output


def _rows(server: DirectusServer, collection: str, fields: str) -> list[dict[str, Any]]:
    with _http(server) as http:
        response = http.get(f"/items/{collection}", params={"limit": "-1", "fields": fields, "sort": "id"})
        assert response.is_success, response.text
        data = response.json()["data"]
        return [data] if isinstance(data, dict) else list(data)  # a singleton answers with its row


def _collections(server: DirectusServer) -> set[str]:
    with _http(server) as http:
        response = http.get("/collections")
        assert response.is_success, response.text
        return {entry["collection"] for entry in response.json()["data"]}


ARTICLE = "id,status,title,slug,author,published_at,body,metadata,date_created"


def test_renamed_collections_keep_every_row_and_link_on_push(project: Project, target: DirectusServer) -> None:
    """articles → posts (uuid keys, an m2m through articles_tags, translations, a creation date
    Directus fills in) and authors → writers (integer keys, pointed at by articles.author)."""
    with _http(target) as http:
        assert http.post("/items/languages", json={"code": "en-US", "name": "English"}).is_success
        authors = http.post("/items/authors", json=[{"name": f"A{n}", "email": f"a{n}@example.com"} for n in range(3)])
        tags = http.post("/items/tags", json=[{"name": f"tag {n}"} for n in range(4)])
        assert authors.is_success and tags.is_success, authors.text + tags.text
        author_ids = [row["id"] for row in authors.json()["data"]]
        tag_ids = [row["id"] for row in tags.json()["data"]]
        rows = [
            {
                "title": f"Title {n}",
                "slug": f"slug-{n}",
                "author": author_ids[n % 3] if n % 5 else None,
                "metadata": {"n": n},
                "tags": [{"tags_id": tag_ids[k]} for k in range(n % 4)],
                "translations": [{"languages_code": "en-US", "title": f"T{n}"}] if n % 2 else [],
            }
            for n in range(ROWS)
        ]
        created = http.post("/items/articles", json=rows)
        assert created.is_success, created.text
    articles = _rows(target, "articles", ARTICLE)
    links = _rows(target, "articles_tags", "id,articles_id,tags_id")
    translations = _rows(target, "articles_translations", "id,articles_id,languages_code,title")
    writers = _rows(target, "authors", "id,name,email")
    assert len(articles) == ROWS and len(links) == sum(n % 4 for n in range(ROWS))

    project.configure(prod=target.url)
    project.token("prod", target.token)
    assert project.run("pull", "--env", "prod", "--commit").code == 0
    for old, new in (("articles", "posts"), ("authors", "writers")):
        renamed = project.run("rename", old, new)
        assert renamed.code == 0, renamed.output
    assert project.run("check").code == 0
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "Rename articles to posts and authors to writers")

    plan = project.run("plan", "--env", "prod")
    assert plan.code == 0, plan.output
    assert "→ rename collection articles → posts" in plan.out, plan.out
    assert "→ rename collection authors → writers" in plan.out, plan.out
    assert "data loss" not in plan.out and "can lose data" not in plan.out, plan.out

    pushed = project.run("push", "--env", "prod", "--yes")  # no --allow-data-loss
    assert pushed.code == 0, pushed.output
    assert f"renamed collection articles → posts: {ROWS} row(s) copied" in pushed.err, pushed.err

    names = _collections(target)
    assert {"posts", "writers"} <= names and not {"articles", "authors"} & names
    assert _rows(target, "posts", ARTICLE) == articles
    assert _rows(target, "writers", "id,name,email") == writers
    assert _rows(target, "articles_tags", "id,articles_id,tags_id") == links
    assert _rows(target, "articles_translations", "id,articles_id,languages_code,title") == translations
    with _http(target) as http:  # the relations resolve through the new names
        nested = http.get(
            "/items/posts", params={"fields": "id,author.name,tags.tags_id.name,translations.title", "limit": "-1"}
        )
        assert nested.is_success, nested.text
        by_id = {row["id"]: row for row in nested.json()["data"]}
        for link in links:
            assert any(t["tags_id"]["name"] for t in by_id[link["articles_id"]]["tags"])
        assert sum(len(row["tags"]) for row in by_id.values()) == len(links)
        names = {writer["id"]: writer["name"] for writer in writers}
        for article in articles:
            assert (by_id[article["id"]]["author"] or {}).get("name") == names.get(article["author"])
        more = http.post("/items/writers", json={"name": "New", "email": "new@example.com"})  # its key counts on
        assert more.is_success, more.text

    again = project.run("plan", "--env", "prod")
    assert again.code == 0 and "No changes." in again.out, again.output


def test_a_renamed_singleton_collection_and_self_reference_keep_rows(project: Project, target: DirectusServer) -> None:
    """settings → site (a singleton: its one row) and categories → sections (a parent pointing
    at the same collection, products pointing at it)."""
    with _http(target) as http:
        assert http.patch("/items/settings", json={"site_name": "Renamed", "contact_email": "x@example.com"}).is_success
        top = http.post("/items/categories", json={"name": "Top"})
        assert top.is_success, top.text
        children = http.post(
            "/items/categories", json=[{"name": f"C{n}", "parent": top.json()["data"]["id"]} for n in range(3)]
        )
        assert children.is_success, children.text
        products = http.post(
            "/items/products", json=[{"name": f"P{n}", "sku": f"SKU-{n:04d}", "category": n + 1} for n in range(4)]
        )
        assert products.is_success, products.text
    settings = _rows(target, "settings", "id,site_name,contact_email")
    categories = _rows(target, "categories", "id,name,parent,sort")
    product_rows = _rows(target, "products", "id,name,category")

    project.configure(prod=target.url)
    project.token("prod", target.token)
    assert project.run("pull", "--env", "prod", "--commit").code == 0
    for old, new in (("settings", "site"), ("categories", "sections")):
        renamed = project.run("rename", old, new)
        assert renamed.code == 0, renamed.output
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "Rename settings and categories")

    pushed = project.run("push", "--env", "prod", "--yes")
    assert pushed.code == 0, pushed.output
    assert "renamed collection settings → site: 1 row(s) copied" in pushed.err, pushed.err
    assert not {"settings", "categories"} & _collections(target)
    assert _rows(target, "site", "id,site_name,contact_email") == settings
    assert _rows(target, "sections", "id,name,parent,sort") == categories
    assert _rows(target, "products", "id,name,category") == product_rows
    with _http(target) as http:
        site = http.get("/collections/site").json()["data"]
        assert site["meta"]["singleton"] is True
        nested = http.get("/items/products", params={"fields": "name,category.name,category.parent.name"})
        assert nested.is_success and nested.json()["data"][1]["category"]["parent"]["name"] == "Top", nested.text
    again = project.run("plan", "--env", "prod")
    assert again.code == 0 and "No changes." in again.out, again.output


def test_renames_copy_values_larger_than_one_request_holds(project: Project, directus_pool: ServerPool) -> None:
    """150 rows of 12 KB (1.8 MB of JSON) copied by a field rename, then by a collection rename:
    Directus's items endpoints take at most MAX_PAYLOAD_SIZE (1mb by default) a request. A page
    of 200 rows in one request was refused whole, and every push stopped at the same page."""
    with directus_pool.new_server("12.4.1") as server, _http(server) as http:
        rows = data_seed.large_notes(http)
        project.configure(prod=server.url)
        project.token("prod", server.token)
        assert project.run("pull", "--env", "prod", "--commit").code == 0

        assert project.run("rename", "notes.body", "notes.content").code == 0
        project.git("commit", "--quiet", "-am", "Rename notes.body")
        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        assert "renamed notes.body → notes.content: 150 row(s)" in pushed.err, pushed.err

        assert project.run("rename", "notes", "memos").code == 0
        project.git("add", "--all", "schema")
        project.git("commit", "--quiet", "-m", "Rename notes")
        moved = project.run("push", "--env", "prod", "--yes")
        assert moved.code == 0, moved.output
        copied = http.get("/items/memos", params={"limit": "-1", "fields": "code,content", "sort": "code"})
        assert copied.is_success and [(r["code"], r["content"]) for r in copied.json()["data"]] == [
            (r["code"], r["body"]) for r in rows
        ]
        assert project.run("plan", "--env", "prod", "--exit-code").code == 0
