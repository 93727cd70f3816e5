"""The target as a diff shows it (targetview): undoing Directus's diff records on what was sent.

The unit tests feed records shaped as Directus writes them; the real-server test is the proof:
a server's own diff of the view against itself must be empty, and the translation made
against the view must be the one made against the server's full snapshot.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from directus_gitops.engine import targetview, translate
from directus_gitops.files.snapshot import entry_key

FIELD = {
    "collection": "articles",
    "field": "title",
    "type": "string",
    "meta": {"note": "new note", "special": None, "options": {"choices": [{"value": "a"}, {"value": "b"}]}},
    "schema": {"data_type": "varchar", "max_length": 255, "is_nullable": True},
}


def sent_with(*fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 1,
        "directus": "12.4.1",
        "vendor": "sqlite",
        "collections": [{"collection": "articles", "meta": {"note": None}, "schema": {"name": "articles"}}],
        "fields": list(fields),
        "relations": [],
    }


def test_no_diff_means_the_target_holds_what_was_sent() -> None:
    sent = sent_with(FIELD)
    assert targetview.view(sent, None) == sent
    assert targetview.view(sent, None) is not sent


def test_edits_and_list_records_are_undone_in_reverse() -> None:
    sent = sent_with(FIELD)
    diff = {
        "collections": [],
        "fields": [
            {
                "collection": "articles",
                "field": "title",
                "diff": [
                    {"kind": "E", "path": ["meta", "note"], "lhs": "old note", "rhs": "new note"},
                    {"kind": "E", "path": ["schema", "max_length"], "lhs": 100, "rhs": 255},
                    # the target's list is longer: deep-diff records the extra items from the end
                    {
                        "kind": "A",
                        "path": ["meta", "options", "choices"],
                        "index": 3,
                        "item": {"kind": "D", "lhs": {"value": "d"}},
                    },
                    {
                        "kind": "A",
                        "path": ["meta", "options", "choices"],
                        "index": 2,
                        "item": {"kind": "D", "lhs": {"value": "c"}},
                    },
                    {"kind": "E", "path": ["meta", "options", "choices", 1, "value"], "lhs": "B", "rhs": "b"},
                    {"kind": "N", "path": ["meta", "special"], "rhs": None},
                ],
            }
        ],
        "relations": [],
    }
    untouched = copy.deepcopy(sent)
    field = targetview.view(sent, diff)["fields"][0]  # type: ignore[index]
    assert sent == untouched  # only what the records name is copied, and changed in the copy
    assert field["meta"] == {
        "note": "old note",
        "options": {"choices": [{"value": "a"}, {"value": "B"}, {"value": "c"}, {"value": "d"}]},
    }
    assert field["schema"]["max_length"] == 100
    assert sent["fields"][0] == FIELD  # what was sent is left alone


@pytest.mark.parametrize("order", [1, -1], ids=["ascending", "descending"])
def test_a_shorter_target_list_drops_the_sent_items(order: int) -> None:
    sent = sent_with(FIELD)
    records = [
        {"kind": "A", "path": ["meta", "options", "choices"], "index": 0, "item": {"kind": "N", "rhs": {"value": "a"}}},
        {"kind": "A", "path": ["meta", "options", "choices"], "index": 1, "item": {"kind": "N", "rhs": {"value": "b"}}},
    ]
    diff = {"fields": [{"collection": "articles", "field": "title", "diff": records[::order]}]}
    untouched = copy.deepcopy(sent)
    view = targetview.view(sent, diff)
    assert view is not None and view["fields"][0]["meta"]["options"]["choices"] == []
    assert sent == untouched


def test_entries_on_one_side_only() -> None:
    only_sent = {**FIELD, "field": "subtitle"}
    only_target = {**FIELD, "field": "body", "type": "text"}
    sent = sent_with(FIELD, only_sent)
    diff = {
        "collections": [{"collection": "old", "diff": [{"kind": "D", "lhs": {"collection": "old", "meta": None}}]}],
        "fields": [
            {"collection": "articles", "field": "subtitle", "diff": [{"kind": "N", "rhs": only_sent}]},
            {"collection": "articles", "field": "body", "diff": [{"kind": "D", "lhs": only_target}]},
        ],
        "relations": [],
    }
    view = targetview.view(sent, diff)
    assert view is not None
    assert [entry_key(f) for f in view["fields"]] == [("articles", "title"), ("articles", "body")]
    assert [c["collection"] for c in view["collections"]] == ["articles", "old"]


def test_a_field_turned_into_an_alias_is_the_target_s_field() -> None:
    alias = {**FIELD, "type": "alias", "schema": None, "meta": {"special": ["o2m"]}}
    sent = sent_with(alias)
    diff = {
        "fields": [
            {"collection": "articles", "field": "title", "diff": [{"kind": "D", "lhs": FIELD}]},
            {"collection": "articles", "field": "title", "diff": [{"kind": "N", "rhs": alias}]},
        ]
    }
    view = targetview.view(sent, diff)
    assert view is not None and view["fields"] == [FIELD]


def test_system_indexes_the_target_has_or_not() -> None:
    sent = {
        **sent_with(FIELD),
        "systemFields": [
            {"collection": "directus_activity", "field": "timestamp", "schema": {"is_indexed": True}},
            {"collection": "directus_revisions", "field": "item", "schema": {"is_indexed": True}},
        ],
    }
    diff = {
        "systemFields": [
            # sent indexed, target not (or without the field): left out of the view
            {
                "collection": "directus_activity",
                "field": "timestamp",
                "diff": [{"kind": "E", "path": ["schema", "is_indexed"], "lhs": False, "rhs": True}],
            },
            # only the target lists it, indexed
            {
                "collection": "directus_users",
                "field": "email",
                "diff": [{"kind": "E", "path": ["schema", "is_indexed"], "lhs": True, "rhs": False}],
            },
        ]
    }
    view = targetview.view(sent, diff)
    assert view is not None
    assert [(e["collection"], e["field"], e["schema"]["is_indexed"]) for e in view["systemFields"]] == [
        ("directus_revisions", "item", True),
        ("directus_users", "email", True),
    ]


@pytest.mark.parametrize(
    "record",
    [
        {"kind": "X", "path": ["meta", "note"], "lhs": 1},
        {"kind": "E", "path": ["nowhere", "note"], "lhs": 1},
        {"kind": "A", "path": ["meta", "note"], "index": 0, "item": {"kind": "N", "rhs": 1}},
    ],
)
def test_records_that_cannot_be_undone_give_no_view(record: dict[str, Any]) -> None:
    diff = {"fields": [{"collection": "articles", "field": "title", "diff": [record]}]}
    assert targetview.view(sent_with(FIELD), diff) is None


def test_a_record_for_an_entry_nobody_sent_gives_no_view() -> None:
    diff = {
        "fields": [{"collection": "articles", "field": "ghost", "diff": [{"kind": "E", "path": ["type"], "lhs": 1}]}]
    }
    assert targetview.view(sent_with(FIELD), diff) is None


# --------------------------------------------------------------------------- on a real server


def _diff(client: httpx.Client, snapshot: dict[str, Any]) -> dict[str, Any] | None:
    response = client.post("/schema/diff", json=snapshot)
    assert response.status_code in (200, 204), response.text
    return response.json()["data"]["diff"] if response.status_code == 200 else None


def _edited(target: dict[str, Any]) -> dict[str, Any]:
    """The target's snapshot with a change of every kind a diff records."""
    sent = copy.deepcopy(target)
    user_fields = [f for f in sent["fields"] if not f["collection"].startswith("directus_")]
    plain = [
        f
        for f in user_fields
        if f.get("meta") and f["type"] != "alias" and not (f.get("schema") or {}).get("is_primary_key")
    ]
    assert len(plain) >= 6, "the demo model has enough plain fields"
    plain[0]["meta"]["note"] = "a note only the sent snapshot has"
    plain[1]["meta"]["options"] = {"choices": [{"text": "One", "value": "1"}]}  # shorter than the target's
    plain[2]["meta"]["options"] = {"choices": [{"text": str(i), "value": str(i)} for i in range(5)]}  # longer
    if isinstance(plain[3].get("schema"), dict):
        plain[3]["schema"]["is_nullable"] = not plain[3]["schema"].get("is_nullable")
    plain[4]["type"] = "alias"  # Directus drops the target's field and creates this one
    plain[4]["schema"] = None
    plain[4]["meta"]["special"] = ["no-data"]
    sent["fields"].remove(plain[5])  # only the target has it
    first = plain[0]["collection"]
    sent["fields"].append(
        {**copy.deepcopy(plain[0]), "field": "only_sent", "meta": {**plain[0]["meta"], "field": "only_sent"}}
    )
    sent["collections"].append(
        {
            "collection": "only_sent_collection",
            "meta": {
                **next(c["meta"] for c in sent["collections"] if c["collection"] == first),
                "collection": "only_sent_collection",
            },
            "schema": {"name": "only_sent_collection"},
        }
    )
    for relation in sent["relations"]:
        if isinstance(relation.get("meta"), dict):
            relation["meta"]["one_deselect_action"] = "delete"
            break
    if sent.get("systemFields"):
        sent["systemFields"][0]["schema"]["is_indexed"] = not sent["systemFields"][0]["schema"]["is_indexed"]
        sent["systemFields"].pop()
    return sent


@pytest.mark.directus
def test_the_view_is_the_target_as_directus_compares_it(seeded: Any) -> None:
    headers = {"Authorization": f"Bearer {seeded.token}"}
    with httpx.Client(base_url=seeded.url, headers=headers, timeout=60) as client:
        # A list in the target for the sent snapshot to make shorter or longer.
        target = client.get("/schema/snapshot").json()["data"]
        sent = _edited(target)
        for field in sent["fields"]:
            if field["meta"] and field["meta"].get("options", {}) and "choices" in (field["meta"].get("options") or {}):
                name = (field["collection"], field["field"])
                original = next((f for f in target["fields"] if entry_key(f) == name), None)
                if original is None or not original.get("meta"):
                    continue
                choices = [{"text": str(i), "value": str(i)} for i in range(3)]
                response = client.patch(
                    f"/fields/{name[0]}/{name[1]}",
                    json={"meta": {"options": {**(original["meta"].get("options") or {}), "choices": choices}}},
                )
                assert response.status_code == 200, response.text
        target = client.get("/schema/snapshot").json()["data"]
        diff = _diff(client, sent)
        assert diff is not None
        kinds = {change["kind"] for record in diff["fields"] for change in record["diff"]}
        assert {"E", "A", "N", "D"} <= kinds, kinds  # every kind of record is undone here
        view = targetview.view(sent, diff)
        assert view is not None
        # Directus itself finds nothing between the view and the target...
        assert _diff(client, view) is None
        # ... and the translation made against the view is the one made against the target.
        release = target["directus"]
        assert (
            translate.translate(sent, view, target_release=release).snapshot
            == translate.translate(sent, target, target_release=release).snapshot
        )


# --------------------------------------------------------------------------- the requests made


def test_plan_and_push_ask_only_what_they_need(project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan of the target's own release asks for its release and the diff, nothing else; a
    push reads the target in full only for its backup, and checks with one more diff."""
    import json

    from directus_gitops.commands import plan, push
    from tests import samples
    from tests.test_push_failures import committed_project_against

    desired = samples.base()
    for entry in desired["fields"]:  # every property Directus writes (a file without some is read in full)
        if isinstance(entry.get("meta"), dict):
            entry["meta"] = {"special": None, "options": None, "hidden": False, "width": "full", **entry["meta"]}
    field = next(f for f in desired["fields"] if f["meta"] and f["meta"].get("note") is not None)
    before = copy.deepcopy(desired)
    next(f for f in before["fields"] if entry_key(f) == entry_key(field))["meta"]["note"] = "old"
    state = {"now": before}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/server/info":
            return httpx.Response(200, json={"data": {"version": "12.4.1"}})
        if request.url.path == "/schema/snapshot":
            return httpx.Response(200, json={"data": state["now"]})
        if request.url.path == "/license":
            return httpx.Response(404)
        if request.url.path == "/schema/diff":
            if state["now"] is desired:
                return httpx.Response(204)
            change = {"kind": "E", "path": ["meta", "note"], "lhs": "old", "rhs": field["meta"]["note"]}
            record = {"collection": field["collection"], "field": field["field"], "diff": [change]}
            return httpx.Response(200, json={"data": {"hash": "abc", "diff": {"fields": [record]}}})
        if request.url.path == "/schema/apply":
            assert json.loads(request.content)["hash"] == "abc"
            state["now"] = desired
            return httpx.Response(204)
        raise AssertionError(f"unexpected request {request.method} {request.url.path}")

    committed_project_against(project, monkeypatch, handler, desired)
    monkeypatch.setattr(plan, "DirectusClient", push.DirectusClient)
    result = project.run("plan", "--env", "prod")
    assert result.code == 0, result.output
    assert f'meta.note: "old" → {json.dumps(field["meta"]["note"])}' in result.out
    assert seen == ["GET /server/info", "POST /schema/diff"]

    seen.clear()
    result = project.run("push", "--env", "prod", "--yes")
    assert result.code == 0, result.output
    # (the lock's POST and DELETE on /folders are answered, and checked, by the helper)
    assert sorted(seen) == sorted(
        [
            "GET /server/info",
            "POST /schema/diff",
            "GET /schema/snapshot",  # the backup, read alongside the diff
            # (no GET /license: no collection is created, dropped or (de)activated)
            "POST /schema/apply",
            "POST /schema/diff",  # the check: nothing left
        ]
    )
    backup = next((project.root / ".directus-gitops").rglob("prod-*.yaml"))
    assert "old" in backup.read_text()
