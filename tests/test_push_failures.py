"""A failed apply is reported with what the target now holds and where the backup is.

Directus 12 without a licence allows 25 active collections; an apply that would create more
answers 403 LIMIT_EXCEEDED. This is a real failing apply, so the test runs on 12.4.1
whatever DIRECTUS_VERSIONS says. On SQLite Directus rolls the apply back (nothing applied);
on MySQL/MariaDB it can stop half-way, and the same report then lists what got through.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import demo_model
import httpx

from directus_gitops import store
from directus_gitops.client import DirectusClient
from directus_gitops.commands import push
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


def test_apply_stopped_by_the_licence_limit_is_reported(project: Project, directus_pool: ServerPool) -> None:
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
        assert result.code == 1, result.output
        assert "licence limit" in result.err
        assert "The apply to 'prod' failed; the target now:" in result.err
        now = demo_model.snapshot(prod.url, prod.token)
        if now["collections"]:  # half-applied: the report must say what got through
            assert "already applied: +" in result.err, result.err
            assert "Changes that did reach the target:" in result.out
        else:
            assert "already applied: no changes" in result.err, result.err
        assert "not applied:     +" in result.err
        backup = result.err.split("backup of its schema from before the push: ")[1].split()[0]
        assert store.load_path(Path(backup)).snapshot["collections"] == []
        assert result.err.strip().splitlines()[-1].startswith("error: the apply failed: ")


def committed_project_against(project: Project, monkeypatch, handler, snapshot: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """``snapshot`` committed in ``project``, whose env 'prod' is a mocked Directus ``handler``."""

    class Mocked(DirectusClient):
        def __init__(self, target) -> None:  # type: ignore[no-untyped-def]
            super().__init__(target, transport=httpx.MockTransport(handler))

    monkeypatch.setattr(push, "DirectusClient", Mocked)
    project.configure(prod="http://directus.test")
    project.token("prod", "t")
    store.write_tree(project.schema, store.render(snapshot))
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "model")


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
            diff = {"collections": [{"collection": "authors", "diff": [{"kind": "N", "rhs": {}}]}]}
            return httpx.Response(200, json={"data": {"hash": "abc", "diff": diff}})
        state["now"] = half  # the apply got half-way, then the database failed
        return httpx.Response(500, json={"errors": [{"message": "ER_LOCK_DEADLOCK", "extensions": {}}]})

    committed_project_against(project, monkeypatch, handler, desired)

    result = project.run("push", "--env", "prod", "--yes")
    assert result.code == 1
    assert "already applied: +1 collection, +1 field" in result.err
    assert "not applied:     +" in result.err
    assert "+ collection authors" in result.out.split("Changes that did reach the target:")[1]
    assert (
        "error: the apply failed: POST /schema/apply on http://directus.test failed (500): ER_LOCK_DEADLOCK"
        in result.err
    )


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
        return httpx.Response(204)

    committed_project_against(project, monkeypatch, handler, samples.base())

    as_json = project.run("push", "--env", "prod", "--yes", "--no-backup", "--format", "json")
    assert as_json.code == 1
    assert json.loads(as_json.out)["summary"]["add"] == 1  # stdout stays one JSON document
    assert "Still different on 'prod' after the apply:" in as_json.err

    result = project.run("push", "--env", "prod", "--yes", "--no-backup")
    assert result.code == 1
    assert "Still different on 'prod' after the apply:" in result.out
    assert "schema.is_unique: false → true" in result.out
    assert "applied, but 'prod' still differs from HEAD" in result.err and "~1 field" in result.err
