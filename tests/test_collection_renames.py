"""rename of a collection offline: the files rewritten as a pull of the renamed model writes them
(written here with the new name in place, not renamed), the record in the manifest, diff and
log showing one rename and no data loss, chains, refusals."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from directus_gitops.base.errors import ConfigError, PartialApplyError
from directus_gitops.engine import collection_rename, merge
from directus_gitops.files import store, yamlio
from directus_gitops.model import changes, collection_renames, renames
from directus_gitops.model.config import Target
from directus_gitops.model.kinds import files, model
from directus_gitops.server.client import DirectusClient
from tests import samples
from tests import test_output_schema as output_schema
from tests.conftest import Project
from tests.test_renames import refused_unchanged


def snapshot(name: str = "articles", title: str = "title") -> dict[str, Any]:
    """Articles (called ``name``) with an m2o to authors (whose o2m alias is called
    ``articles`` whatever the collection's name), an m2m to tags through ``articles_tags``, and
    a collection grouped under it."""
    m2o = samples.relation(name, "author", "authors")
    m2o["meta"]["one_field"] = "articles"
    m2o["schema"]["constraint_name"] = f"{name}_author_foreign"
    junction = samples.relation("articles_tags", "articles_id", name, on_delete="CASCADE")
    junction["meta"].update(one_field="tags", junction_field="tags_id")
    junction["schema"]["constraint_name"] = "articles_tags_articles_id_foreign"
    tags = samples.relation("articles_tags", "tags_id", "tags", on_delete="CASCADE")
    tags["meta"]["junction_field"] = "articles_id"

    def alias(collection: str, field: str, special: str) -> dict[str, Any]:
        entry = samples.field(collection, field, "alias")
        entry["meta"]["special"] = [special]
        entry["schema"] = None
        return entry

    articles = samples.collection(name, group="content", display_template=f"{{{{{title}}}}}", sort_field=title)
    return {
        "version": 1,
        "directus": "12.4.1",
        "vendor": "sqlite",
        "collections": [
            samples.collection("content", folder=True),
            articles,
            samples.collection("authors"),
            samples.collection("tags"),
            samples.collection("articles_tags", hidden=True),
            samples.collection("notes", group=name),
        ],
        "fields": [
            samples.pk(name),
            samples.field(name, title),
            samples.field(name, "author", "integer", foreign_key_table="authors", foreign_key_column="id"),
            alias(name, "tags", "m2m"),
            samples.pk("authors"),
            samples.field("authors", "name"),
            alias("authors", "articles", "o2m"),
            samples.pk("tags"),
            samples.field("tags", "label"),
            samples.pk("articles_tags"),
            samples.field("articles_tags", "articles_id", "integer", foreign_key_table=name, foreign_key_column="id"),
            samples.field("articles_tags", "tags_id", "integer"),
            samples.pk("notes"),
        ],
        "relations": [m2o, junction, tags],
    }


def config(name: str = "articles", title: str = "title") -> dict[str, Any]:
    return model.canonical(
        {
            "model": "policies",
            "roles": [{"id": "r-editor", "name": "Editor", "parent": None, "policies": ["p-editors"]}],
            "policies": [
                {
                    "id": "p-editors",
                    "name": "Editors",
                    "admin_access": False,
                    "permissions": [
                        {"collection": name, "action": "read", "fields": sorted(["id", title]), "permissions": None},
                        {"collection": "authors", "action": "read", "fields": ["*"], "permissions": None},
                    ],
                }
            ],
            "presets": [
                {"bookmark": "Drafts", "role": None, "collection": name, "layout": "tabular", "filter": None},
            ],
            "flows": [
                {
                    "id": "f1",
                    "name": "Count",
                    "status": "active",
                    "trigger": "event",
                    "accountability": "all",
                    "options": {"type": "action", "scope": ["items.create"], "collections": [name, "authors"]},
                    "operation": "read",
                    "operations": [
                        {
                            "id": "o1",
                            "key": "read",
                            "name": "Read",
                            "type": "item-read",
                            "position_x": 19,
                            "position_y": 1,
                            "options": {"collection": name},
                            "resolve": None,
                            "reject": None,
                        }
                    ],
                }
            ],
            "dashboards": [
                {
                    "id": "d1",
                    "name": "Ops",
                    "panels": [
                        {
                            "id": "pa1",
                            "name": "Count",
                            "type": "metric",
                            "position_x": 1,
                            "position_y": 1,
                            "width": 8,
                            "height": 6,
                            "options": {"collection": name},
                        }
                    ],
                }
            ],
            "data": {
                name: {
                    "collection": name,
                    "primary": "id",
                    "key": ["id"],
                    "fields": sorted(["author", "id", title]),
                    "references": {"author": "authors"},
                    "rows": [{"id": 1, title: "Hello", "author": "Ann"}],
                },
                "authors": {
                    "collection": "authors",
                    "primary": "id",
                    "key": ["name"],
                    "fields": ["name"],
                    "rows": [{"name": "Ann"}],
                },
            },
        }
    )


def folder(
    name: str = "articles", title: str = "title", record: list[dict[str, str]] | None = None
) -> dict[str, bytes]:
    """The files a pull of this model and configuration writes."""
    rendered, entry = files.render(config(name, title))
    return store.render(snapshot(name, title), "split", entry, renames=record) | rendered


@pytest.fixture
def base(project: Project) -> Project:
    store.write_tree(project.schema, folder())
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "Base")
    return project


def test_the_files_are_what_a_pull_of_the_renamed_collection_writes(base: Project) -> None:
    result = base.run("rename", "articles", "posts")
    assert result.code == 0, result.output
    assert "Renamed articles → posts" in result.err
    assert "schema/collections/posts.yaml" in result.err and "schema/data/posts.yaml" in result.err
    assert store.owned(base.schema) == folder("posts", record=[{"collection": "articles", "to": "posts"}])
    assert not (base.schema / "collections" / "articles.yaml").exists()
    assert base.run("check").code == 0


def test_diff_and_log_show_one_rename_and_no_data_loss(base: Project) -> None:
    assert base.run("rename", "articles", "posts").code == 0
    diff = base.run("diff")
    assert diff.code == 0, diff.output
    assert "  → rename collection articles → posts" in diff.out, diff.out
    assert "data loss" not in diff.out and "- field" not in diff.out and "+ field" not in diff.out, diff.out
    assert "relation" not in diff.out, diff.out  # the m2o and the junction's link moved with it
    assert "Plan: 0 to add, " in diff.out and "1 to rename, 0 to destroy." in diff.out, diff.out
    base.git("add", "--all")
    base.git("commit", "--quiet", "-m", "Rename")
    log = base.run("log", "-n", "1")
    assert "→ rename collection articles → posts" in log.out, log.out
    commit = base.git("rev-parse", "HEAD").strip()
    committed = base.run("diff", "HEAD~1", "HEAD")
    assert f"→ rename collection articles → posts (recorded in {commit[:10]})" in committed.out, committed.out
    document = json.loads(base.run("diff", "HEAD~1", "HEAD", "--format", "json").out)
    (change,) = [c for c in document["changes"] if c["action"] == "rename"]
    assert change["renamed_from"] == "articles" and change["collection"] == "posts" and not change["data_loss"]
    output_schema.validate(document, "diff")


def test_a_field_renamed_then_its_collection_show_both_renames(base: Project) -> None:
    assert base.run("rename", "articles.title", "articles.headline").code == 0
    assert base.run("rename", "articles", "posts").code == 0
    manifest = store.read_manifest(store.dir_reader(base.schema), "schema")
    assert manifest is not None
    assert manifest["renames"] == [
        {"collection": "posts", "from": "title", "to": "headline"},  # met under the name it has by then
        {"collection": "articles", "to": "posts"},
    ]
    assert store.owned(base.schema) == folder("posts", "headline", manifest["renames"])
    diff = base.run("diff")
    assert "→ rename collection articles → posts" in diff.out, diff.out
    assert "→ rename posts.title → posts.headline" in diff.out, diff.out
    assert "data loss" not in diff.out, diff.out


def test_chained_collection_renames_take_a_target_the_whole_way(base: Project) -> None:
    assert base.run("rename", "articles", "posts").code == 0
    assert base.run("rename", "posts", "entries").code == 0
    diff = base.run("diff")
    assert "→ rename collection articles → entries" in diff.out and "data loss" not in diff.out, diff.out
    assert collection_renames.effective([("a", "b"), ("b", "c")]) == [("a", "c"), ("b", "c")]


def test_a_target_holding_both_names_is_a_rename_stopped_part_way() -> None:
    desired = snapshot("posts")
    target = snapshot()
    target["collections"].append(samples.find(desired, "collections", "posts"))
    target["fields"] += [f for f in desired["fields"] if f["collection"] == "posts"]
    folded = renames.fold(
        changes.compare(target, desired), [renames.Rename.of_collection("articles", "posts")], desired
    )
    assert [c.name for c in folded if c.action == "rename"] == ["articles → posts"]
    assert "holds both collections" in folded.warnings[0]
    assert not any(c.data_loss for c in folded)
    assert collection_renames.renamed_collections(folded) == [("articles", "posts")]


def test_a_change_made_with_the_rename_shows_under_the_new_name() -> None:
    renamed = snapshot("posts")
    samples.find(renamed, "fields", "posts", "title")["meta"]["note"] = "Shown on the site."
    samples.find(renamed, "collections", "posts")["meta"]["icon"] = "article"
    folded = renames.fold(changes.compare(snapshot(), renamed), [renames.Rename.of_collection("articles", "posts")])
    by_name = {(c.action, c.name): c for c in folded}
    assert set(by_name) == {("rename", "articles → posts"), ("update", "posts.title")}
    assert [p.path for p in by_name[("rename", "articles → posts")].properties] == ["meta.icon"]
    assert not any(c.data_loss for c in folded)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("nothing", "posts", "no collection 'nothing'"),
        ("articles", "authors", "there is a collection 'authors' already"),
        ("articles", "Authors", "there is a collection 'Authors' already"),
        ("directus_users", "people", "system collection"),
        ("articles", "directus_posts", "keeps for its own collections"),
        ("articles", "articles.title", "not both fields"),
    ],
)
def test_refusals_are_one_line_and_change_nothing(base: Project, old: str, new: str, said: str) -> None:
    refused_unchanged(base, old, new, said)


def test_a_hashed_field_or_a_many_to_any_refuses() -> None:
    hashed = snapshot()
    samples.find(hashed, "fields", "articles", "title")["meta"]["special"] = ["hash"]
    with pytest.raises(Exception, match="hashed or concealed"):
        collection_renames.check_renamable(hashed, "articles", "posts")
    m2a = snapshot()
    m2a["relations"].append(
        {
            "collection": "notes",
            "field": "item",
            "related_collection": None,
            "meta": {"one_allowed_collections": ["articles", "tags"], "one_collection_field": "collection"},
            "schema": None,
        }
    )
    with pytest.raises(Exception, match="many-to-any"):
        collection_renames.check_renamable(m2a, "articles", "posts")


def test_data_in_the_configuration_file_is_named_in_a_warning(base: Project) -> None:
    (base.root / "directus-gitops.yaml").write_text("data:\n  articles: {}\n  authors: {key: name}\n")
    result = base.run("rename", "articles", "posts")
    assert result.code == 0, result.output
    assert "data names 'articles': change it to 'posts'" in result.err


def test_the_record_is_checked_and_merged_like_field_records() -> None:
    manifest = yamlio.load(folder(record=[{"collection": "articles", "to": "posts"}])[store.MANIFEST].decode())
    assert not store.manifest_problems(manifest)
    assert renames.recorded(manifest) == (renames.Rename.of_collection("articles", "posts"),)
    manifest["renames"] = [{"collection": "articles", "to": "posts", "x": "y"}]
    assert "each rename must hold exactly" in store.manifest_problems(manifest)[0].message
    key = merge.RULES["manifest"].keyed[("renames",)]
    field, whole = {"collection": "articles", "from": "title", "to": "x"}, {"collection": "articles", "to": "posts"}
    assert key(field) != key(whole)  # a field's and its collection's renames on two branches are both kept


# --------------------------------------------------------------------------- push, stopped part-way


def _server(fail_on: str, rows: int = 450) -> tuple[DirectusClient, dict[str, Any]]:
    """A target holding ``articles`` (``rows`` rows; no relation), in memory; ``fail_on``
    ("METHOD /path") answers 503 once."""
    articles = samples.collection("articles")
    state: dict[str, Any] = {
        "collections": {"articles": articles},
        "fields": {"articles": [samples.pk("articles"), samples.field("articles", "title")]},
        "rows": {"articles": [{"id": n, "title": f"t{n}"} for n in range(rows)]},
    }

    def handle(request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        name = request.url.path.rsplit("/", 1)[-1]
        if key == fail_on:
            return httpx.Response(503, json={"errors": [{"message": "down"}]})
        if key == "GET /schema/snapshot":
            snapshot = {
                "version": 1,
                "directus": "12.4.1",
                "vendor": "sqlite",
                "collections": list(state["collections"].values()),
                "fields": [f for fields in state["fields"].values() for f in fields],
                "relations": [],
            }
            return httpx.Response(200, json={"data": snapshot})
        if key == "GET /collections":
            return httpx.Response(200, json={"data": list(state["collections"].values())})
        if key == "POST /collections":
            body = json.loads(request.content)
            state["collections"][body["collection"]] = samples.collection(body["collection"])
            state["fields"][body["collection"]] = [{**f, "collection": body["collection"]} for f in body["fields"]]
            state["rows"][body["collection"]] = []
            return httpx.Response(200, json={"data": {}})
        if key.startswith("DELETE /collections/"):
            for part in ("collections", "fields", "rows"):
                state[part].pop(name)
            return httpx.Response(204)
        if key.startswith("GET /items/"):
            params = request.url.params
            start, limit = int(params["offset"]), int(params["limit"])
            listed = sorted(state["rows"][name], key=lambda r: r["id"])[start : start + limit]
            wanted = params["fields"].split(",")
            return httpx.Response(200, json={"data": [{k: r.get(k) for k in wanted} for r in listed]})
        if key.startswith("POST /items/"):
            state["rows"][name].extend(json.loads(request.content))
            return httpx.Response(200, json={"data": []})
        return httpx.Response(404, json={"errors": [{"message": key}]})

    target = Target("prod", "http://prod.test", "TOKEN", "secret")
    return DirectusClient(target, transport=httpx.MockTransport(handle)), state


def test_a_copy_that_fails_leaves_both_collections_and_the_next_push_resumes() -> None:
    desired = {"relations": []}
    client, state = _server(fail_on="POST /items/posts")
    with pytest.raises(PartialApplyError) as failed:
        collection_rename.perform(client, [("articles", "posts")], desired)
    assert failed.value.exit_code == 5 and "holds both collections" in failed.value.message
    assert set(state["collections"]) == {"articles", "posts"} and len(state["rows"]["articles"]) == 450

    # What the failed push left, on a target that answers again: half the rows copied.
    client, fresh = _server(fail_on="")
    fresh.update(state)
    state["rows"]["posts"] = state["rows"]["articles"][:200]
    lines: list[str] = []
    (done,) = collection_rename.perform(client, [("articles", "posts")], desired, progress=lines.append)
    assert done.state == "renamed" and done.rows == 450
    assert "is there already" in lines[0]
    assert set(fresh["collections"]) == {"posts"}
    assert sorted(fresh["rows"]["posts"], key=lambda r: r["id"]) == [{"id": n, "title": f"t{n}"} for n in range(450)]


def test_a_target_that_has_only_the_new_name_is_left_alone() -> None:
    client, state = _server(fail_on="POST /collections")
    state["collections"] = {"posts": samples.collection("posts")}
    state["fields"] = {"posts": [samples.pk("posts")]}
    (done,) = collection_rename.perform(client, [("articles", "posts")], {"relations": []})
    assert done.state == "already" and "already done" in done.line()


def test_a_relation_the_files_do_not_move_is_refused_before_anything_changes() -> None:
    client, state = _server(fail_on="POST /collections")
    state["collections"]["notes"] = samples.collection("notes")
    relation = samples.relation("notes", "article", "articles")

    def snapshot_with_relation() -> dict[str, Any]:
        return {
            "collections": list(state["collections"].values()),
            "fields": [f for fields in state["fields"].values() for f in fields],
            "relations": [relation],
        }

    client.snapshot = snapshot_with_relation  # type: ignore[method-assign]
    with pytest.raises(ConfigError, match=r"notes\.article points at 'articles'"):
        collection_rename.perform(client, [("articles", "posts")], {"relations": []})
    assert set(state["collections"]) == {"articles", "notes"}


def test_markdown_and_the_diagram_show_the_rename(base: Project) -> None:
    assert base.run("rename", "articles", "posts").code == 0
    markdown = base.run("diff", "--format", "markdown")
    assert markdown.code == 0, markdown.output
    assert "*collection* `articles → posts` *(rename, not committed yet)*" in markdown.out, markdown.out
    diagram = base.run("diff", "--format", "mermaid")
    assert diagram.code == 0, diagram.output
    assert "renamed from articles" in diagram.out, diagram.out


def test_status_shows_a_collection_rename_not_done_on_the_target(base: Project) -> None:
    from directus_gitops.engine import status
    from directus_gitops.files.gitrepo import Repo
    from directus_gitops.model import selection
    from directus_gitops.reports import status as shown

    assert base.run("rename", "articles", "posts").code == 0
    base.git("add", "--all")
    base.git("commit", "--quiet", "-m", "Rename")
    repo = Repo(base.root)
    infos = list(repo.history("schema"))
    live = status.Live(snapshot())  # the target as the commit before the rename left it
    newest = status.history(repo, "schema", infos[:1], print)  # searched against the rename's commit alone
    drifted = status.locate("prod", "u", live, newest, rules=selection.Rules(), mode="mirror")
    assert drifted.state == "drifted"
    assert [(c.action, c.kind, c.name) for c in drifted.drift if c.action == "rename"] == [
        ("rename", "collection", "articles → posts")
    ]
    assert not drifted.drift.data_loss
    table = shown.text([drifted], "HEAD")
    assert "→ rename collection articles → posts (not done on the target)" in table, table
    assert "data loss" not in table, table
