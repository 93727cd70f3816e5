"""Pushes that cannot go through whole: refused before anything changes where that can be
known, else reported with what the target now holds, where the backup is, and an exit code
that says which happened.

Directus 12 without a licence allows 25 active collections; an apply that would create more
answers 403 LIMIT_EXCEEDED after part of it (on MySQL/MariaDB nothing rolls back). The server
reports its limit and usage, so push refuses such a push first: this runs on a real 12.4.1.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import config_seed
import demo_model
import httpx
import pytest

from directus_gitops.base.errors import ServerError
from directus_gitops.commands import push
from directus_gitops.files import store, yamlio
from directus_gitops.model.config import Target
from directus_gitops.server.client import DirectusClient
from tests import samples
from tests.conftest import Project
from tests.directus_harness import ServerPool

LICENSED_VERSION = "12.4.1"


def with_extra_collections(snapshot: dict[str, Any], count: int) -> dict[str, Any]:
    result = copy.deepcopy(snapshot)
    template_fields = [f for f in snapshot["fields"] if f["collection"] == "tags"]
    template = next(c for c in snapshot["collections"] if c["collection"] == "tags")
    for index in range(count):
        name = f"extra_{index:02d}"
        entry = copy.deepcopy(template)
        entry["collection"] = entry["meta"]["collection"] = entry["schema"]["name"] = name
        result["collections"].append(entry)
        for field in template_fields:
            copied = copy.deepcopy(field)
            copied["collection"] = copied["meta"]["collection"] = name
            if copied.get("schema"):
                copied["schema"]["table"] = name
            result["fields"].append(copied)
    return result


def test_a_push_over_the_licence_limit_is_refused_before_anything_changes(
    project: Project, directus_pool: ServerPool
) -> None:
    with (
        directus_pool.new_server(LICENSED_VERSION, seeded=True) as dev,
        directus_pool.new_server(LICENSED_VERSION) as prod,
    ):
        project.configure(dev=dev.url, prod=prod.url)
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "dev").code == 0
        bigger = with_extra_collections(store.load_path(project.schema).snapshot, 20)
        store.write_tree(project.schema, store.render(bigger))
        project.git("add", "schema")
        project.git("commit", "--quiet", "-m", "30 collections")

        result = project.run("push", "--env", "prod", "--yes")
        assert result.code == 3, result.output
        # 9 active collections in the demo model plus 20 more, against Directus's 25.
        assert "would leave 29 active collections on 'prod' (now 0), over its licence limit of 25" in result.err
        assert "meta.status: inactive" in result.err
        assert demo_model.snapshot(prod.url, prod.token)["collections"] == []
        assert not (project.root / ".directus-gitops").exists()  # refused before the backup too

        # Marked inactive, the extra collections don't count: the same push goes through.
        for entry in bigger["collections"]:
            if entry["collection"].startswith("extra_"):
                entry["meta"]["status"] = "inactive"
        store.write_tree(project.schema, store.render(bigger))
        project.git("add", "schema")
        project.git("commit", "--quiet", "-m", "extra collections inactive")
        result = project.run("push", "--env", "prod", "--yes")
        assert result.code == 0, result.output


def committed_project_against(project: Project, monkeypatch, handler, snapshot: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """``snapshot`` committed in ``project``, whose env 'prod' is a mocked Directus ``handler``
    (and /folders, where push keeps its lock)."""
    locks: dict[str, str] = {}

    def with_lock(request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/folders"):
            return handler(request)  # type: ignore[no-any-return]
        if request.method == "POST":
            assert not locks, "the previous push left its lock behind"
            body = json.loads(request.content)
            locks[body["id"]] = body["name"]
            return httpx.Response(200, json={"data": body})
        locks.clear()  # DELETE: the push released its lock
        return httpx.Response(204)

    class Mocked(DirectusClient):
        def __init__(self, target) -> None:  # type: ignore[no-untyped-def]
            super().__init__(target, transport=httpx.MockTransport(with_lock))

    monkeypatch.setattr(push, "DirectusClient", Mocked)

    monkeypatch.setattr(push, "DirectusClient", Mocked)
    project.configure(prod="http://directus.test")
    project.token("prod", "t")
    store.write_tree(project.schema, store.render(snapshot))
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "model")


def test_a_target_already_over_its_limit_still_takes_changes_that_add_no_collection(
    project: Project, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A licence downgraded under the target's usage: only a push that creates or activates a
    collection is refused, and GET /license is asked only for such a push."""
    desired = samples.base()
    note = {"kind": "E", "path": ["meta", "note"], "lhs": "old", "rhs": "new"}
    created = {"kind": "N", "rhs": samples.collection("extra")}
    answers: dict[str, Any] = {"diff": {"fields": [{"collection": "authors", "field": "name", "diff": [note]}]}}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/server/info":
            return httpx.Response(200, json={"data": {"version": "12.4.1"}})
        if request.url.path == "/schema/snapshot":
            return httpx.Response(200, json={"data": desired})
        if request.url.path == "/license":
            entitlements = {"collections": {"limit": 25, "overage": 0, "addon": 0}}
            return httpx.Response(200, json={"data": {"entitlements": entitlements, "usage": {"collections": 30}}})
        if request.url.path == "/schema/diff":
            if answers.get("applied"):
                return httpx.Response(204)  # the check after the apply: nothing left
            return httpx.Response(200, json={"data": {"hash": "abc", "diff": answers["diff"]}})
        if request.url.path == "/schema/apply":
            answers["applied"] = True
            return httpx.Response(204)
        raise AssertionError(f"unexpected request {request.method} {request.url.path}")

    committed_project_against(project, monkeypatch, handler, desired)
    result = project.run("push", "--env", "prod", "--yes")
    assert result.code == 0, result.output
    assert "GET /license" not in seen and "POST /schema/apply" in seen

    seen.clear()
    answers.update(applied=False, diff={"collections": [{"collection": "extra", "diff": [created]}]})
    result = project.run("push", "--env", "prod", "--yes")
    assert result.code == 3, result.output
    assert "would leave 31 active collections on 'prod' (now 30), over its licence limit of 25" in result.err
    assert "GET /license" in seen and "POST /schema/apply" not in seen


def new(entry: dict[str, Any]) -> dict[str, Any]:
    """Directus's diff record of an entry the target lacks."""
    names = {key: entry[key] for key in ("collection", "field", "related_collection") if key in entry}
    return {**names, "diff": [{"kind": "N", "rhs": entry}]}


def test_a_half_applied_push_lists_what_got_through(project: Project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """MySQL commits each step of an apply: a 500 half-way leaves part of it behind."""
    desired = samples.base()
    before = {**samples.base(), "collections": [], "fields": [], "relations": []}
    half = {**before, "collections": [samples.collection("authors")], "fields": [samples.pk("authors")]}
    state = {"now": before}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/server/info":
            return httpx.Response(200, json={"data": {"version": "12.4.1"}})
        if request.url.path == "/schema/snapshot":
            return httpx.Response(200, json={"data": state["now"]})
        if request.url.path == "/schema/diff":
            # As Directus answers for an empty target: every entry is new. (The push plans from
            # the diff alone, as the target's view: the diff must show every difference.)
            diff = {key: [new(entry) for entry in desired[key]] for key in ("collections", "fields", "relations")}
            return httpx.Response(200, json={"data": {"hash": "abc", "diff": diff}})
        if request.url.path == "/utils/cache/clear":
            calls.append("cache cleared")
            return httpx.Response(204)
        if request.url.path == "/schema/apply":
            state["now"] = half  # the apply got half-way, then the database failed
            return httpx.Response(500, json={"errors": [{"message": "ER_LOCK_DEADLOCK", "extensions": {}}]})
        return httpx.Response(404, json={"errors": [{"message": "Route doesn't exist.", "extensions": {}}]})

    calls: list[str] = []
    committed_project_against(project, monkeypatch, handler, desired)

    result = project.run("push", "--env", "prod", "--yes")
    assert result.code == 5
    assert calls == ["cache cleared"]  # the server's cached schema is not trusted
    assert "already applied: +1 collection, +1 field" in result.err
    assert "not applied:     +" in result.err
    assert "+ collection authors" in result.out.split("Changes that did reach the target:")[1]
    assert (
        "error: the apply failed part-way: +1 collection, +1 field reached 'prod': "
        "POST /schema/apply on http://directus.test failed (500): ER_LOCK_DEADLOCK"
    ) in result.err


def test_residue_after_a_successful_apply_is_reported_not_hidden(project: Project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Directus 11.3.5 on SQLite reads a unique field back as not unique: the re-diff shows it."""
    residue = {
        "collections": [],
        "fields": [
            {
                "collection": "authors",
                "field": "name",
                "diff": [{"kind": "E", "path": ["schema", "is_unique"], "lhs": False, "rhs": True}],
            }
        ],
        "relations": [],
    }
    diffs = itertools.cycle(
        [
            {
                "collections": [{"collection": "authors", "diff": [{"kind": "N", "rhs": {}}]}],
                "fields": [],
                "relations": [],
            },
            residue,
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/server/info":
            return httpx.Response(200, json={"data": {"version": "12.4.1"}})
        if request.url.path == "/schema/snapshot":
            return httpx.Response(
                200, json={"data": {**samples.base(), "collections": [], "fields": [], "relations": []}}
            )
        if request.url.path == "/schema/diff":
            return httpx.Response(200, json={"data": {"hash": "abc", "diff": next(diffs)}})
        if request.url.path == "/schema/apply":
            return httpx.Response(204)
        return httpx.Response(404, json={"errors": [{"message": "Route doesn't exist.", "extensions": {}}]})

    committed_project_against(project, monkeypatch, handler, samples.base())

    as_json = project.run("push", "--env", "prod", "--yes", "--no-backup", "--format", "json")
    assert as_json.code == 4
    assert json.loads(as_json.out)["summary"]["add"] == 1  # stdout stays one JSON document
    assert "Read back differently on 'prod' after the apply:" in as_json.err

    result = project.run("push", "--env", "prod", "--yes", "--no-backup")
    assert result.code == 4
    assert "Read back differently on 'prod' after the apply:" in result.out
    assert "schema.is_unique: false → true" in result.out
    last = result.err.strip().splitlines()[-2]
    assert last == "error: applied, but 'prod' reads back differently from HEAD (" + last.split("(", 1)[1]
    assert "in 1 place(s) (~1 field)" in result.err
    # The plan made the collection; the field's unique flag is a change it did not ask for.
    assert "hint: the apply also changed 1 place(s) the plan did not ask for (authors.name)" in result.err


def _bad_default_model(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Two new collections; the second has an integer field whose default no database takes."""
    result = with_extra_collections(snapshot, 0)
    for name in ("alpha", "omega"):
        entry = copy.deepcopy(next(c for c in snapshot["collections"] if c["collection"] == "tags"))
        entry["collection"] = entry["meta"]["collection"] = entry["schema"]["name"] = name
        result["collections"].append(entry)
        key = copy.deepcopy(next(f for f in snapshot["fields"] if (f["collection"], f["field"]) == ("tags", "id")))
        key["collection"] = key["meta"]["collection"] = key["schema"]["table"] = name
        result["fields"].append(key)
    broken = copy.deepcopy(next(f for f in snapshot["fields"] if (f["collection"], f["field"]) == ("tags", "id")))
    broken["field"] = broken["meta"]["field"] = broken["schema"]["name"] = "amount"
    broken["collection"] = broken["meta"]["collection"] = broken["schema"]["table"] = "omega"
    broken["schema"].update(
        is_primary_key=False, has_auto_increment=False, is_nullable=True, default_value="not a number"
    )
    broken["meta"].update(special=None, hidden=False, readonly=False)
    result["fields"].append(broken)
    return result


@pytest.mark.parametrize(("vendor", "code"), [("mariadb", 5), ("postgres", 1)])
def test_a_real_apply_that_fails_part_way_says_what_reached_the_target(
    project: Project, directus_pool: ServerPool, vendor: str, code: int
) -> None:
    """MariaDB commits each schema change at once: a failing apply leaves its first part behind
    (exit 5, and the report reads the real state after clearing the server's cache);
    PostgreSQL rolls the whole apply back (exit 1, nothing reached the target)."""
    with (
        directus_pool.new_server(LICENSED_VERSION, seeded=True, vendor=vendor) as dev,
        directus_pool.new_server(LICENSED_VERSION, seeded=True, vendor=vendor) as prod,
    ):
        project.configure(dev=dev.url, prod=prod.url)
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "dev").code == 0
        store.write_tree(project.schema, store.render(_bad_default_model(store.load_path(project.schema).snapshot)))
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "a model whose apply fails half-way")

        result = project.run("push", "--env", "prod", "--yes")

        assert result.code == code, result.output
        now = {c["collection"] for c in demo_model.snapshot(prod.url, prod.token)["collections"]}
        assert "omega" not in now
        if code == 5:
            assert "alpha" in now  # what the report must not hide
            assert "already applied: +1 collection" in result.err
            assert "error: the apply failed part-way: +1 collection" in result.err
        else:
            assert "alpha" not in now
            assert "already applied: no changes" in result.err
            assert "error: the apply failed and nothing reached the target" in result.err
        assert "backup of its schema from before the push:" in result.err


def test_permissions_the_licence_restricts_are_refused_before_anything_changes(
    project: Project, directus_pool: ServerPool
) -> None:
    """Unlicensed Directus 12 refuses permissions with custom rules (403 RESOURCE_RESTRICTED),
    which a push sends after the schema: it reads the entitlement first and refuses whole."""
    with (
        directus_pool.new_server(LICENSED_VERSION, seeded=True) as dev,
        directus_pool.new_server(LICENSED_VERSION) as prod,
    ):
        with config_seed.client(dev.url, dev.token) as http:
            config_seed.seed(http, policies=True, filtered=False)
        project.configure(dev=dev.url, prod=prod.url)
        with (project.root / "directus-gitops.yaml").open("a") as config:
            config.write("sync: [schema, access]\n")
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "dev").code == 0
        # Filtered permissions, as a licensed server (or an older release) would hold them.
        policy = project.schema / "config" / "policies" / "editors.yaml"
        document = yamlio.load(policy.read_text())
        for permission in document["permissions"]:
            if permission["action"] in ("update", "delete"):
                permission["permissions"] = {"status": {"_eq": "draft"}}
        policy.write_text(yamlio.dump(document))
        project.git("add", ".")
        project.git("commit", "--quiet", "-m", "filtered permissions")
        before = demo_model.snapshot(prod.url, prod.token)

        planned = project.run("plan", "--env", "prod")
        assert planned.code == 0, planned.output
        assert "a push would refuse: 2 permission(s) with custom rules" in planned.err

        result = project.run("push", "--env", "prod", "--yes")
        assert result.code == 3, result.output
        assert (
            "2 permission(s) with custom rules (policy Editors: articles.delete, policy Editors: articles.update)"
            in result.err
        )
        assert "custom_permission_rules_enabled" in result.err and "add a licence key" in result.err
        assert demo_model.snapshot(prod.url, prod.token) == before
        assert not (project.root / ".directus-gitops").exists()  # refused before the backup too

        # Were such a permission sent anyway, the answer names the licence, not the token.
        target = Target("prod", prod.url, "DIRECTUS_PROD_TOKEN", prod.token)
        with DirectusClient(target) as client, pytest.raises(ServerError) as refused:
            client.write("POST", "/permissions", {"collection": "articles", "action": "read", "fields": ["id"]})
        assert "refused by the Directus licence (403)" in refused.value.message
        assert "admin token" not in refused.value.message and "fields: ['*']" in (refused.value.hint or "")
