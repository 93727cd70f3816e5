"""rename offline: the files rewritten as a pull of the renamed model writes them, the record in
the manifest, diff and log showing one rename (and a hint for an unrecorded one), refusals, and
push's copy stopping part-way (mocked: a real server does not fail on cue)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from directus_gitops.base.errors import PartialApplyError
from directus_gitops.engine import rename as renaming
from directus_gitops.files import store, yamlio
from directus_gitops.model import changes, renames
from directus_gitops.model.config import Target
from directus_gitops.model.kinds import files, model
from directus_gitops.server.client import DirectusClient
from tests import samples
from tests.conftest import Project


def snapshot(title: str = "title", name: str = "name") -> dict[str, Any]:
    """The sample model, with references to articles.title and authors.name in it."""
    result = samples.base()
    for entry in result["fields"]:
        if entry["collection"] == "articles" and entry["field"] == "title":
            entry.update(samples.field("articles", title, max_length=200))
            entry["meta"]["conditions"] = [{"name": "locked", "rule": {title: {"_empty": True}}, "readonly": True}]
        if entry["collection"] == "authors" and entry["field"] == "name":
            entry.update(samples.field("authors", name))
        if entry["field"] == "author":
            entry["meta"]["options"] = {"template": f"{{{{{name}}}}} ({{{{id}}}})"}
    articles = samples.find(result, "collections", "articles")
    articles["meta"].update(display_template=f"{{{{{title}}}}} by {{{{author.{name}}}}}", sort_field=title)
    return result


def config(title: str = "title", name: str = "name") -> dict[str, Any]:
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
                        {
                            "collection": "articles",
                            "action": "update",
                            "fields": sorted(["id", title]),
                            "permissions": {"_and": [{title: {"_nnull": True}}, {"author": {name: {"_eq": "Ann"}}}]},
                            "validation": {title: {"_nempty": True}},
                            "presets": {title: "Untitled"},
                        },
                        {"collection": "authors", "action": "read", "fields": ["*"], "permissions": None},
                    ],
                }
            ],
            "presets": [
                {
                    "bookmark": "Long titles",
                    "role": None,
                    "collection": "articles",
                    "layout": "tabular",
                    "layout_query": {"tabular": {"fields": [title, f"author.{name}"], "sort": [f"-{title}"]}},
                    "layout_options": {"tabular": {"widths": {title: 240}}},
                    "filter": {title: {"_contains": "long"}},
                }
            ],
            "data": {
                "authors": {
                    "collection": "authors",
                    "primary": "id",
                    "key": [name],
                    "fields": sorted(["bio", name]),
                    "rows": [{name: "Ann", "bio": "Writes."}, {name: "Bo", "bio": None}],
                }
            },
        }
    )


def folder(title: str = "title", name: str = "name", record: list[dict[str, str]] | None = None) -> dict[str, bytes]:
    """The files a pull of this model and configuration writes."""
    rendered, entry = files.render(config(title, name))
    return store.render(snapshot(title, name), "split", entry, renames=record) | rendered


@pytest.fixture
def renamed(project: Project) -> Project:
    store.write_tree(project.schema, folder())
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "Base")
    return project


def test_the_files_are_what_a_pull_of_the_renamed_model_writes(renamed: Project) -> None:
    result = renamed.run("rename", "articles.title", "articles.headline")
    assert result.code == 0, result.output
    assert "Renamed articles.title → articles.headline" in result.err
    again = renamed.run("rename", "authors.name", "authors.full_name")
    assert again.code == 0, again.output
    record = [
        {"collection": "articles", "from": "title", "to": "headline"},
        {"collection": "authors", "from": "name", "to": "full_name"},
    ]
    assert store.owned(renamed.schema) == folder("headline", "full_name", record)  # byte for byte
    assert renamed.run("check").code == 0


def test_diff_and_log_show_one_rename_and_no_data_loss(renamed: Project) -> None:
    assert renamed.run("rename", "articles.title", "articles.headline").code == 0
    diff = renamed.run("diff")
    assert diff.code == 0, diff.output
    assert "  → rename articles.title → articles.headline" in diff.out
    assert "data loss" not in diff.out and "Plan: 0 to add, 1 to change, 1 to rename, 0 to destroy." in diff.out
    renamed.git("commit", "--quiet", "-am", "Rename")
    log = renamed.run("log", "-n", "1")
    assert "    → rename articles.title → articles.headline" in log.out, log.out
    document = json.loads(renamed.run("diff", "HEAD~1", "HEAD", "--format", "json").out)
    (change,) = [c for c in document["changes"] if c["action"] == "rename"]
    assert change["renamed_from"] == "title" and change["field"] == "headline" and not change["data_loss"]
    assert document["summary"]["rename"] == 1


def test_a_drop_and_an_add_of_the_same_shape_hint_at_the_command(project: Project) -> None:
    store.write_tree(project.schema, store.render(snapshot()))
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "Base")
    by_hand = snapshot()
    by_hand["fields"].remove(samples.find(by_hand, "fields", "authors", "bio"))
    by_hand["fields"].append(samples.field("authors", "biography", "text"))
    store.write_tree(project.schema, store.render(by_hand))
    diff = project.run("diff")
    assert "  - field authors.bio" in diff.out and "! data loss" in diff.out
    assert "authors.bio → authors.biography looks like a rename" in diff.out
    assert "directus-gitops rename authors.bio authors.biography" in diff.out


def test_pull_keeps_the_record(renamed: Project) -> None:
    assert renamed.run("rename", "articles.title", "articles.headline").code == 0
    manifest = store.read_manifest(store.dir_reader(renamed.schema), "schema")
    assert renamed.run("check", "--fix").code == 0
    assert store.read_manifest(store.dir_reader(renamed.schema), "schema") == manifest
    assert renames.recorded(manifest) == (renames.Rename("articles", "title", "headline"),)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("articles.nothing", "articles.x", "no field 'articles.nothing'"),
        ("articles.title", "articles.author", "already has a field 'author'"),
        ("articles.id", "articles.key", "is the primary key"),
        ("articles.title", "authors.title", "a field stays in its collection"),
        ("directus_users.nickname", "directus_users.nick", "system collection"),
        ("articles.ti tle", "articles.x", "is not COLLECTION.FIELD"),
    ],
)
def test_refusals_are_one_line_and_change_nothing(renamed: Project, old: str, new: str, said: str) -> None:
    before = store.owned(renamed.schema)
    result = renamed.run("rename", old, new)
    assert result.code == 1 and said in result.err and "Traceback" not in result.output, result.output
    assert store.owned(renamed.schema) == before


def test_a_rename_stopped_part_way_is_folded_with_a_warning() -> None:
    old = samples.field("articles", "title")
    found = changes.ChangeSet((changes.Change("field", "delete", "articles", "title", entry=old),))
    desired = {"fields": [samples.field("articles", "headline")]}
    folded = renames.fold(found, [renames.Rename("articles", "title", "headline")], desired)
    (change,) = folded.changes
    assert change.action == "rename" and not change.data_loss
    assert "holds both fields" in folded.warnings[0]
    assert renames.renamed_fields(folded) == [renames.Rename("articles", "title", "headline")]


def test_chained_renames_take_a_target_the_whole_way() -> None:
    chain = [renames.Rename("a", "x", "y"), renames.Rename("a", "y", "z")]
    assert renames.effective(chain) == [renames.Rename("a", "x", "z"), renames.Rename("a", "y", "z")]


def _client(fail_on: str) -> tuple[DirectusClient, dict[str, Any]]:
    """A target holding articles.title with three rows; ``fail_on`` answers 503."""
    state: dict[str, Any] = {"fields": ["id", "title"], "rows": [{"id": n, "title": f"t{n}"} for n in range(3)]}

    def handle(request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        if key == fail_on:
            return httpx.Response(503, json={"errors": [{"message": "down"}]})
        if key == "GET /fields/articles":
            entries = [
                {"field": name, "type": "string", "meta": {}, "schema": {"is_primary_key": name == "id"}}
                for name in state["fields"]
            ]
            return httpx.Response(200, json={"data": entries})
        if key == "POST /fields/articles":
            state["fields"].append(json.loads(request.content)["field"])
            return httpx.Response(200, json={"data": {}})
        if key == "GET /collections/articles":
            return httpx.Response(200, json={"data": {"meta": {"singleton": False}}})
        if key == "GET /items/articles":
            return httpx.Response(200, json={"data": state["rows"]})
        if key == "PATCH /items/articles":
            for change in json.loads(request.content):
                row = next(r for r in state["rows"] if r["id"] == change["id"])
                row.update(change)
            return httpx.Response(200, json={"data": []})
        if key == "DELETE /fields/articles/title":
            state["fields"].remove("title")
            return httpx.Response(204)
        return httpx.Response(404, json={"errors": [{"message": key}]})

    target = Target("prod", "http://prod.test", "TOKEN", "secret")
    return DirectusClient(target, transport=httpx.MockTransport(handle)), state


def test_a_copy_that_fails_leaves_both_fields_and_the_next_push_resumes() -> None:
    rename = renames.Rename("articles", "title", "headline")
    client, state = _client(fail_on="PATCH /items/articles")
    with pytest.raises(PartialApplyError) as failed:
        renaming.perform(client, [rename])
    assert failed.value.exit_code == 5 and "holds both fields" in failed.value.message
    assert state["fields"] == ["id", "title", "headline"]

    client, state = _client(fail_on="")
    state["fields"].append("headline")  # as the failed push left it
    lines: list[str] = []
    (done,) = renaming.perform(client, [rename], progress=lines.append)
    assert done.state == "renamed" and done.rows == 3 and done.written == 3
    assert state["fields"] == ["id", "headline"]
    assert [row["headline"] for row in state["rows"]] == ["t0", "t1", "t2"]
    assert "there already" in lines[0]


def test_a_target_that_has_only_the_new_name_is_left_alone() -> None:
    client, state = _client(fail_on="POST /fields/articles")
    state["fields"] = ["id", "headline"]
    (done,) = renaming.perform(client, [renames.Rename("articles", "title", "headline")])
    assert done.state == "already"


def test_the_record_is_checked_like_the_rest_of_the_manifest(tmp_path: Path) -> None:
    manifest = yamlio.load(folder(record=[{"collection": "a", "from": "x", "to": "y"}])[store.MANIFEST].decode())
    assert not store.manifest_problems(manifest)
    manifest["renames"] = [{"collection": "a", "from": "x"}]
    assert "each rename must hold exactly" in store.manifest_problems(manifest)[0].message
