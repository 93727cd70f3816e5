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
from directus_gitops.engine import plan as planning
from directus_gitops.engine import records, status
from directus_gitops.engine import rename as renaming
from directus_gitops.files import store, yamlio
from directus_gitops.files.gitrepo import NOT_COMMITTED, Repo
from directus_gitops.model import changes, renames, selection
from directus_gitops.model.config import Target
from directus_gitops.model.config import load as load_config
from directus_gitops.model.kinds import files, model
from directus_gitops.reports import status as shown
from directus_gitops.server.client import DirectusClient
from tests import samples
from tests.conftest import Project
from tests.test_output_schema import validate


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
    refused_unchanged(renamed, old, new, said)


def refused_unchanged(project: Project, old: str, new: str, said: str) -> None:
    """``rename OLD NEW`` refused in one line saying ``said``, the schema folder untouched."""
    before = store.owned(project.schema)
    result = project.run("rename", old, new)
    assert result.code == 1 and said in result.err and "Traceback" not in result.output, result.output
    assert store.owned(project.schema) == before


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


# --------------------------------------------------------------------------- flows and panels


def _flows_and_panels(title: str = "title", name: str = "name") -> dict[str, Any]:
    """A flow on articles' events (a condition on the item, an update of it, a script, a mail
    quoting it) and a dashboard with panels on articles and on authors."""
    operations = [
        {
            "id": "o-check",
            "key": "check",
            "type": "condition",
            "position_x": 19,
            "position_y": 1,
            "options": {"filter": {"$trigger": {"payload": {title: {"_nempty": True}}}}},
            "resolve": "stamp",
            "reject": None,
        },
        {
            "id": "o-stamp",
            "key": "stamp",
            "type": "item-update",
            "position_x": 37,
            "position_y": 1,
            "options": {
                "collection": "articles",
                "key": ["{{$trigger.key}}"],
                "payload": {title: "Checked", "author": {name: "Ann"}},
                "query": {"filter": {title: {"_null": True}}, "fields": ["id", f"author.{name}"]},
            },
            "resolve": "script",
            "reject": None,
        },
        {
            "id": "o-script",
            "key": "script",
            "type": "exec",
            "position_x": 55,
            "position_y": 1,
            "options": {"code": "module.exports = async ({ $trigger }) => $trigger.payload.title;"},
            "resolve": "mail",
            "reject": None,
        },
        {
            "id": "o-mail",
            "key": "mail",
            "type": "mail",
            "position_x": 73,
            "position_y": 1,
            "options": {"to": ["a@example.com"], "subject": "New: {{$trigger.payload.title}}", "body": "Hello"},
            "resolve": None,
            "reject": None,
        },
    ]
    panel = {"position_x": 1, "width": 12, "height": 6, "show_header": True}
    return {
        "flows": [
            {
                "id": "f-notify",
                "name": "Notify",
                "status": "active",
                "trigger": "event",
                "accountability": "all",
                "options": {"type": "action", "scope": ["items.create"], "collections": ["articles"]},
                "operation": "check",
                "operations": operations,
            }
        ],
        "dashboards": [
            {
                "id": "d-overview",
                "name": "Overview",
                "icon": "dashboard",
                "panels": [
                    {
                        **panel,
                        "id": "p-list",
                        "name": "Latest",
                        "type": "list",
                        "position_y": 1,
                        "options": {
                            "collection": "articles",
                            "sortField": title,
                            "displayTemplate": f"{{{{{title}}}}} by {{{{author.{name}}}}}",
                            "filter": {"_and": [{title: {"_nnull": True}}]},
                        },
                    },
                    {
                        **panel,
                        "id": "p-bars",
                        "name": "By author",
                        "type": "bar-chart",
                        "position_y": 7,
                        "options": {"collection": "articles", "xAxis": "author", "xAxisDisplayField": name},
                    },
                    {
                        **panel,
                        "id": "p-authors",
                        "name": "Authors",
                        "type": "metric",
                        "position_y": 13,
                        # authors' own "title" (say) is another field: left as it is
                        "options": {"collection": "authors", "field": name, "sortField": "title"},
                    },
                    {
                        **panel,
                        "id": "p-note",
                        "name": "Note",
                        "type": "label",
                        "position_y": 19,
                        "options": {"text": "Sorted by title"},
                    },
                ],
            }
        ],
    }


def test_flows_and_panels_tied_to_the_collection_are_rewritten() -> None:
    related = renames.relations_of(snapshot())
    heard: list[tuple[str, Any, str]] = []
    state = model.canonical({"model": "policies", **_flows_and_panels()})
    rewritten = renames.rename_config(
        state, renames.Rename("articles", "title", "headline"), related, lambda *at: heard.append(at)
    )
    expected = model.canonical({"model": "policies", **_flows_and_panels(title="headline")})
    # The script and the mail's template are free text: left as they were, and said so.
    assert rewritten == expected
    assert heard == [
        ("flows", "f-notify", "operation script: options.code"),
        ("flows", "f-notify", "operation mail: options.subject"),
    ]
    # Through a relation: authors.name in the item update's nested payload and query, the
    # list panel's template and the bar chart's display field of the author.
    by_name = renames.rename_config(state, renames.Rename("authors", "name", "full_name"), related)
    assert by_name == model.canonical({"model": "policies", **_flows_and_panels(name="full_name")})


def test_a_flow_on_another_collection_is_left_without_a_warning() -> None:
    flows = _flows_and_panels()["flows"]
    flows[0]["options"]["collections"] = ["authors"]
    flows[0]["operations"] = [op for op in flows[0]["operations"] if op["type"] != "item-update"]
    state = model.canonical({"model": "policies", "flows": flows})
    heard: list[Any] = []
    rewritten = renames.rename_config(
        state, renames.Rename("articles", "title", "headline"), renames.relations_of(snapshot()), heard.append
    )
    assert rewritten == state and heard == []


def test_the_command_names_the_file_and_option_it_left(project: Project) -> None:
    state = model.canonical({**config(), **_flows_and_panels()})
    rendered, entry = files.render(state)
    store.write_tree(project.schema, store.render(snapshot(), "split", entry) | rendered)
    result = project.run("rename", "articles.title", "articles.headline")
    assert result.code == 0, result.output
    assert "schema/config/flows/notify.yaml: operation script: options.code may name articles.title" in result.err
    assert "schema/config/flows/notify.yaml: operation mail: options.subject may name" in result.err
    flow = yamlio.load((project.schema / "config" / "flows" / "notify.yaml").read_text())
    stamp = next(op for op in flow["operations"] if op["key"] == "stamp")
    assert stamp["options"]["payload"] == {"headline": "Checked", "author": {"name": "Ann"}}
    assert project.run("check").code == 0


# --------------------------------------------------------------------------- status


def test_status_shows_a_recorded_rename_as_one_and_no_data_loss(renamed: Project) -> None:
    assert renamed.run("rename", "articles.title", "articles.headline").code == 0
    renamed.git("commit", "--quiet", "-am", "Rename")
    repo = Repo(renamed.root)
    infos = list(repo.history("schema"))
    live = status.Live(snapshot())  # the target as the commit before the rename left it
    rules = selection.Rules()
    behind = status.locate("prod", "u", live, status.history(repo, "schema", infos, print), rules=rules, mode="mirror")
    assert (behind.state, behind.behind) == ("behind", 1)

    # Searched against the rename's commit alone (a target set up by hand, or a short --limit):
    newest = status.history(repo, "schema", infos[:1], print)
    drifted = status.locate("prod", "u", live, newest, rules=rules, mode="mirror")
    assert drifted.state == "drifted"
    # The rename as the commit records it; beside it, what the rename rewrote (the collection's
    # display template and sort field), which the target has not either.
    assert [(c.action, c.name) for c in drifted.drift] == [
        ("update", "articles"),
        ("rename", "articles.title → articles.headline"),
    ]
    assert not drifted.drift.data_loss
    table = shown.text([drifted], "HEAD")
    assert "→ rename articles.title → articles.headline (not done on the target)" in table
    assert "data loss" not in table
    drift = json.loads(shown.as_json([drifted], "HEAD", None))["environments"][0]["drift"]
    (change,) = [c for c in drift if c["action"] == "rename"]
    assert change["renamed_from"] == "title" and change["field"] == "headline" and change["data_loss"] == []


# --------------------------------------------------------------------------- the commit that recorded it


def test_each_rename_says_the_commit_that_recorded_it(renamed: Project) -> None:
    assert renamed.run("rename", "articles.title", "articles.headline").code == 0
    uncommitted = renamed.run("diff")
    assert "→ rename articles.title → articles.headline (not committed yet)" in uncommitted.out, uncommitted.out
    document = json.loads(renamed.run("diff", "--format", "json").out)
    assert [c["recorded_in"] for c in document["changes"] if c["action"] == "rename"] == [None]
    renamed.git("commit", "--quiet", "-am", "Rename the title")
    first = renamed.git("rev-parse", "HEAD").strip()
    assert renamed.run("rename", "authors.name", "authors.full_name").code == 0
    renamed.git("commit", "--quiet", "-am", "Rename the name")
    second = renamed.git("rev-parse", "HEAD").strip()
    # A later commit that rewrites the manifest around the records (as a pull does) moves nothing.
    manifest = renamed.schema / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("layout: split", "layout: split\n# pulled again"))
    renamed.git("commit", "--quiet", "-am", "Pull")

    diff = renamed.run("diff", "HEAD~3", "HEAD")
    assert diff.code == 0, diff.output
    assert f"→ rename articles.title → articles.headline (recorded in {first[:10]})" in diff.out, diff.out
    assert f"→ rename authors.name → authors.full_name (recorded in {second[:10]})" in diff.out, diff.out
    document = json.loads(renamed.run("diff", "HEAD~3", "HEAD", "--format", "json").out)
    recorded = {c["renamed_from"]: c["recorded_in"] for c in document["changes"] if c["action"] == "rename"}
    assert recorded == {"title": first, "name": second}
    validate(document, "diff")
    markdown = renamed.run("diff", "HEAD~3", "HEAD", "--format", "markdown").out
    assert f"*(rename, recorded in {first[:10]})*" in markdown


def test_a_plan_says_where_its_renames_were_recorded(renamed: Project) -> None:
    assert renamed.run("rename", "articles.title", "articles.headline").code == 0
    renamed.git("commit", "--quiet", "-am", "Rename")
    sha = renamed.git("rev-parse", "HEAD").strip()
    config = load_config(cwd=renamed.root)
    rename = changes.Change("field", "rename", "articles", "headline", renamed_from="title")
    found = changes.ChangeSet((rename, changes.Change("field", "update", "articles", "body")))
    committed = planning.Source({}, "HEAD", ref="HEAD", commit=sha)
    assert [c.recorded_in for c in records.of_source(found, config, committed)] == [sha, None]
    working = planning.Source({}, "schema", path=str(renamed.schema))
    assert records.of_source(found, config, working).changes[0].recorded_in == sha
    # Outside a repository git cannot say: nothing is said.
    outside = renamed.root.parent / "copy"
    store.write_tree(outside, store.owned(renamed.schema))
    assert records.attributed(found, outside, None) == found


def test_a_new_repository_says_not_committed_yet(project: Project) -> None:
    store.write_tree(project.schema, folder())
    assert project.run("rename", "articles.title", "articles.headline").code == 0
    result = records.attributed(
        changes.ChangeSet((changes.Change("field", "rename", "articles", "headline", renamed_from="title"),)),
        project.schema,
        None,
    )
    assert result.changes[0].recorded_in == NOT_COMMITTED
