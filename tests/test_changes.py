"""The change model: offline comparison, server diffs, and data-loss marks."""

from __future__ import annotations

from typing import Any

from directus_gitops.model import changes
from tests import samples


def names(changeset: changes.ChangeSet) -> set[tuple[str, str, str]]:
    return {(c.action, c.kind, c.name) for c in changeset}


def test_identical_snapshots_have_no_changes() -> None:
    assert not changes.compare(samples.base(), samples.base())


def test_added_field_and_changed_note() -> None:
    new = samples.base()
    new["fields"].append(samples.field("articles", "subtitle"))
    samples.find(new, "fields", "articles", "title")["meta"]["note"] = "Shown in lists"
    result = changes.compare(samples.base(), new)
    assert names(result) == {("create", "field", "articles.subtitle"), ("update", "field", "articles.title")}
    update = next(c for c in result if c.action == "update")
    assert [(p.path, p.old, p.new) for p in update.properties] == [("meta.note", None, "Shown in lists")]
    assert not result.data_loss
    assert result.summary() == "+1 field, ~1 field"


def test_deleted_collection_takes_its_fields_and_relations_along() -> None:
    new = samples.base()
    new["collections"] = [c for c in new["collections"] if c["collection"] != "articles"]
    new["fields"] = [f for f in new["fields"] if f["collection"] != "articles"]
    new["relations"] = []
    result = changes.compare(samples.base(), new)
    assert names(result) == {("delete", "collection", "articles")}
    assert result.data_loss[0].data_loss == ("drops the table and all its rows",)


def test_deleting_a_folder_or_an_alias_loses_nothing() -> None:
    old = samples.base()
    old["fields"].append({**samples.field("articles", "divider", "alias"), "schema": None})
    new = samples.base()
    new["collections"] = [c for c in new["collections"] if c["collection"] != "content"]
    result = changes.compare(old, new)
    assert names(result) == {("delete", "collection", "content"), ("delete", "field", "articles.divider")}
    assert not result.data_loss


def lossy(old_schema: dict[str, Any], new_schema: dict[str, Any], **top: Any) -> tuple[str, ...]:
    old, new = samples.base(), samples.base()
    samples.find(old, "fields", "authors", "name")["schema"].update(old_schema)
    entry = samples.find(new, "fields", "authors", "name")
    entry["schema"].update(new_schema)
    entry.update(top)
    (change,) = changes.compare(old, new)
    return change.data_loss


def test_data_loss_rules() -> None:
    assert lossy({}, {}, type="integer") == ("changes the type string → integer",)
    assert lossy({"max_length": 255}, {"max_length": 100}) == ("shrinks max_length 255 → 100",)
    assert lossy({"max_length": 100}, {"max_length": 255}) == ()
    assert lossy({"is_nullable": True}, {"is_nullable": False}) == ("makes a nullable column required",)
    assert lossy({"is_nullable": False}, {"is_nullable": True}) == ()
    assert lossy({"numeric_precision": 10}, {"numeric_precision": 8}) == ("shrinks numeric_precision 10 → 8",)
    # No precision before is not a shrink (it was reported as "shrinks numeric_precision none → 10");
    # a length limit where there was none is.
    assert lossy({"numeric_precision": None}, {"numeric_precision": 10}) == ()
    assert lossy({"numeric_scale": None}, {"numeric_scale": 2}) == ()
    assert lossy({"max_length": None}, {"max_length": 100}) == ("shrinks max_length none → 100",)
    assert lossy({"is_primary_key": False}, {"is_primary_key": True}) == ("changes the primary key",)


def test_cascading_relation_removal_is_data_loss() -> None:
    old = samples.base()
    old["relations"][0]["schema"]["on_delete"] = "CASCADE"
    new = samples.base()
    new["relations"] = []
    (change,) = changes.compare(old, new)
    assert change.data_loss == ("removes a foreign key that cascades deletes",)


def test_missing_system_fields_drop_directus_indexes() -> None:
    new = samples.base()
    del new["systemFields"]  # a snapshot from Directus before 11.13
    (change,) = changes.compare(samples.base(), new)
    assert change.kind == "system_field" and change.data_loss


def test_alias_switch_is_a_replacement() -> None:
    new = samples.base()
    entry = samples.find(new, "fields", "authors", "bio")
    entry.update(type="alias", schema=None)
    assert [(c.action, c.name) for c in changes.compare(samples.base(), new)] == [
        ("delete", "authors.bio"),
        ("create", "authors.bio"),
    ]


def test_vendor_specific_properties_are_ignored_like_directus_does() -> None:
    new = samples.base()
    samples.find(new, "collections", "authors")["schema"]["comment"] = "only on some databases"
    assert not changes.compare(samples.base(), new)


def test_server_diff_records_become_the_same_model() -> None:
    diff = {
        "collections": [{"collection": "tags", "diff": [{"kind": "N", "rhs": {"collection": "tags", "meta": {}}}]}],
        "fields": [
            {
                "collection": "articles",
                "field": "title",
                "diff": [{"kind": "E", "path": ["meta", "note"], "lhs": "A", "rhs": "B"}],
            },
            {
                "collection": "articles",
                "field": "body",
                "diff": [{"kind": "D", "lhs": {"type": "text", "schema": {"name": "body"}}}],
            },
            {
                "collection": "articles",
                "field": "status",
                "diff": [
                    {"kind": "A", "path": ["meta", "options", "choices"], "index": 2,
                     "item": {"kind": "N", "rhs": {"value": "x"}}}
                ],
            },
        ],
        "relations": [],
    }  # fmt: skip
    result = changes.from_server(diff)
    assert names(result) == {
        ("create", "collection", "tags"),
        ("update", "field", "articles.title"),
        ("delete", "field", "articles.body"),
        ("update", "field", "articles.status"),
    }
    status = next(c for c in result if c.field == "status")
    assert status.properties[0].path == "meta.options.choices.2"
    assert [c.name for c in result.data_loss] == ["articles.body"]
    assert (result.to_add, result.to_change, result.to_destroy) == (1, 2, 1)


def test_alias_switch_is_an_update_before_directus_11_3() -> None:
    old, new = samples.base(), samples.base()
    samples.find(new, "fields", "authors", "bio").update(type="alias", schema=None)
    del old["systemFields"], new["systemFields"]
    # "12.1.2" without systemFields is a 10.x server reporting a package version.
    for release in ("10.13.4", "11.2.2", "12.1.2"):
        old["directus"] = release
        (change,) = changes.compare(old, new)
        assert (change.action, change.name) == ("update", "authors.bio"), release
        assert {p.path for p in change.properties} >= {"type", "schema"}


def test_a_table_directus_does_not_manage_is_dropped_like_directus_10_does() -> None:
    old = samples.base()
    old["collections"].append({"collection": "legacy", "meta": None, "schema": {"name": "legacy"}})
    old["fields"].append({**samples.field("legacy", "payload"), "meta": None})
    (change,) = changes.compare(old, samples.base())
    assert (change.action, change.name) == ("delete", "legacy")
    assert change.data_loss == ("drops the table and all its rows",)


def test_a_whole_meta_from_the_server_shows_the_properties_that_changed() -> None:
    record = {
        "kind": "E",
        "path": ["meta"],
        "lhs": {"note": None, "width": "full"},
        "rhs": {"note": "A", "width": "full", "x": 1},
    }
    diff = {"fields": [{"collection": "articles", "field": "title", "diff": [record]}]}
    (change,) = changes.from_server(diff)
    assert [(p.path, p.old, p.new) for p in change.properties] == [
        ("meta.note", None, "A"),
        ("meta.x", changes.ABSENT, 1),
    ]


def test_no_meta_and_meta_null_are_one_for_fields_and_relations() -> None:
    """Directus writes an untracked field's (or a bare relation's) meta as null; a hand-written
    file leaves it out. Directus's diff reports that (`meta: - null`, old and new both nothing):
    it is no change, offline or from the server, and a real one beside it still shows."""
    old, new = samples.base(), samples.base()
    samples.find(old, "fields", "authors", "bio")["meta"] = None
    del samples.find(new, "fields", "authors", "bio")["meta"]
    samples.find(old, "relations", "articles", "author")["meta"] = None
    del samples.find(new, "relations", "articles", "author")["meta"]
    assert not changes.compare(old, new)
    samples.find(new, "fields", "authors", "bio")["type"] = "integer"
    (change,) = changes.compare(old, new)
    assert [p.path for p in change.properties] == ["type"]

    nothing = [{"kind": "D", "path": ["meta"], "lhs": None}]
    made = [{"kind": "E", "path": ["meta"], "lhs": None, "rhs": {"note": "A"}}]
    diff = {
        "fields": [
            {"collection": "authors", "field": "bio", "diff": nothing},
            {"collection": "authors", "field": "name", "diff": made},
        ],
        "relations": [{"collection": "articles", "field": "author", "related_collection": "authors", "diff": nothing}],
    }
    (change,) = changes.from_server(diff)
    assert change.name == "authors.name" and [(p.path, p.old) for p in change.properties] == [("meta", None)]
