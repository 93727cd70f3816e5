"""Ignore rules and what a push keeps on the target, offline (the real-server side is in
test_sync_rules.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from directus_gitops.base.errors import ConfigError
from directus_gitops.files import store
from directus_gitops.model import changes, config, selection
from tests.conftest import Project


def _collection(name: str) -> dict[str, Any]:
    return {"collection": name, "meta": {"note": None}, "schema": {"name": name}}


def _field(collection: str, name: str, type_: str = "string", **schema: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"collection": collection, "field": name, "type": type_, "meta": {"note": None}}
    if type_ != "alias":
        entry["schema"] = {"data_type": type_, **schema}
    return entry


def _relation(many: str, field: str, one: str, one_field: str | None = None) -> dict[str, Any]:
    return {
        "collection": many,
        "field": field,
        "related_collection": one,
        "meta": {"one_field": one_field},
        "schema": {"on_delete": "SET NULL"},
    }


def model() -> dict[str, Any]:
    """articles → logs_run (m2o), logs_run → authors with an o2m alias on authors."""
    return {
        "version": 1,
        "directus": "12.4.1",
        "vendor": "sqlite",
        "collections": [_collection(c) for c in ("articles", "authors", "logs_run")],
        "fields": [
            _field("articles", "id", "integer", is_primary_key=True),
            _field("articles", "title"),
            _field("articles", "secret_note"),
            _field("articles", "last_log", "integer"),
            _field("authors", "id", "integer", is_primary_key=True),
            _field("authors", "log_entries", "alias"),
            _field("logs_run", "id", "integer", is_primary_key=True),
            _field("logs_run", "author", "integer"),
        ],
        "relations": [
            _relation("articles", "last_log", "logs_run"),
            _relation("logs_run", "author", "authors", "log_entries"),
        ],
        "systemFields": [{"collection": "directus_users", "field": "email", "schema": {"is_indexed": True}}],
    }


def names(snapshot: dict[str, Any]) -> set[str]:
    return (
        {c["collection"] for c in snapshot["collections"]}
        | {f"{f['collection']}.{f['field']}" for f in snapshot["fields"]}
        | {f"rel:{r['collection']}.{r['field']}" for r in snapshot["relations"]}
    )


def test_an_ignored_collection_takes_its_relations_and_the_fields_holding_them() -> None:
    kept, left_out = selection.apply(model(), selection.Rules(collections=("logs_*",)))
    assert names(kept) == {"articles", "authors", "articles.id", "articles.title", "articles.secret_note", "authors.id"}
    assert left_out.collections == {"logs_run"}
    assert ("articles", "last_log") in left_out.fields and ("authors", "log_entries") in left_out.fields
    assert sorted(left_out.notes) == [
        "articles.last_log: relates to the ignored collection logs_run",
        "authors.log_entries: lists items of the ignored collection logs_run",
    ]
    assert selection.summary([left_out]) == "1 collection, 2 fields, 1 relation"


def test_field_rules_are_globs_on_collection_dot_field() -> None:
    kept, _ = selection.apply(model(), selection.Rules(fields=("*.secret_*",)))
    assert "articles.secret_note" not in names(kept)
    assert "articles.title" in names(kept)
    assert "systemFields" in kept


def test_ignoring_a_kind() -> None:
    kept, _ = selection.apply(model(), selection.Rules(kinds=("system_fields", "relations")))
    assert "systemFields" not in kept and kept["relations"] == []
    assert "articles.last_log" in names(kept)  # the fields stay synced


def test_no_rules_change_nothing() -> None:
    kept, left_out = selection.apply(model(), selection.Rules())
    assert kept == model() and not left_out


def _only(snapshot: dict[str, Any], drop: set[str]) -> dict[str, Any]:
    result = dict(snapshot)
    result["collections"] = [c for c in snapshot["collections"] if c["collection"] not in drop]
    result["fields"] = [
        f for f in snapshot["fields"] if f["collection"] not in drop and f"{f['collection']}.{f['field']}" not in drop
    ]
    result["relations"] = [
        r for r in snapshot["relations"] if r["collection"] not in drop and r["related_collection"] not in drop
    ]
    return result


def test_the_target_keeps_its_ignored_parts_in_mirror_mode() -> None:
    rules = selection.Rules(collections=("logs_*",), fields=("articles.secret_note",))
    target = model()
    source = _only(model(), {"logs_run", "articles.secret_note", "articles.last_log", "authors.log_entries"})
    source["fields"].append(_field("articles", "subtitle"))
    filtered, left_out = selection.apply(source, rules)
    sent, kept = selection.keep_on_target(filtered, target, rules, "mirror", left_out)
    assert kept == ()
    planned = changes.compare(target, sent)
    assert [(c.action, c.name) for c in planned] == [("create", "articles.subtitle")]
    # Without the rules, the same push drops them: the test above can fail.
    unruled = changes.compare(target, source)
    assert {c.name for c in unruled if c.action == "delete"} >= {"logs_run", "articles.secret_note"}


def test_an_ignored_part_in_the_source_is_never_created_and_the_targets_version_wins() -> None:
    rules = selection.Rules(fields=("articles.secret_note",))
    source = model()
    source["fields"][2] = {**source["fields"][2], "meta": {"note": "from git"}}
    target = _only(model(), {"articles.secret_note"})
    filtered, left_out = selection.apply(source, rules)
    sent, _ = selection.keep_on_target(filtered, target, rules, "mirror", left_out)
    assert not changes.compare(target, sent)


def test_merge_mode_keeps_what_only_the_target_has_and_says_why() -> None:
    target = model()
    target["collections"].append(_collection("prod_only"))
    target["fields"] += [_field("prod_only", "id", "integer", is_primary_key=True), _field("authors", "prod_extra")]
    source = model()
    source["fields"] = [f for f in source["fields"] if f["field"] != "title"]  # only the target has it now
    source["fields"].append(_field("articles", "subtitle"))
    before = copy.deepcopy(source)
    sent, kept = selection.keep_on_target(source, target, selection.Rules(), "merge")
    # What the target keeps goes into lists of the result's own: the source is left as it was.
    assert source == before and all(sent[key] is not source[key] for key in ("collections", "fields"))
    assert [k.line() for k in kept] == [
        f"collection prod_only: {selection.MERGE_REASON}, with its 1 field(s)",
        f"field articles.title: {selection.MERGE_REASON}",
        f"field authors.prod_extra: {selection.MERGE_REASON}",
    ]
    assert [(c.action, c.name) for c in changes.compare(target, sent)] == [("create", "articles.subtitle")]
    mirror, nothing = selection.keep_on_target(source, target, selection.Rules(), "mirror")
    assert nothing == () and changes.compare(target, mirror).to_destroy == 3


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "directus-gitops.yaml"
    path.write_text(text)
    return path


def test_rules_per_environment_add_to_the_shared_ones(tmp_path: Path) -> None:
    cfg = config.load(
        write(
            tmp_path,
            "ignore:\n  collections: [logs_*]\n"
            "environments:\n  staging: {url: 'http://s'}\n"
            "  production:\n    url: 'http://p'\n    mode: merge\n"
            "    ignore: {collections: [audit_*], fields: [articles.hotfix], kinds: [system_fields]}\n",
        )
    )
    staging = config.resolve(cfg, "staging", {"DIRECTUS_STAGING_TOKEN": "t"})
    production = config.resolve(cfg, "production", {"DIRECTUS_PRODUCTION_TOKEN": "t"})
    assert staging.ignore == selection.Rules(collections=("logs_*",)) and staging.mode == "mirror"
    assert production.ignore == selection.Rules(("logs_*", "audit_*"), ("articles.hotfix",), ("system_fields",))
    assert production.mode == "merge"
    assert cfg.rules_for(None) == staging.ignore
    with pytest.raises(ConfigError, match="unknown environment 'nope'"):
        cfg.rules_for("nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ignore: [logs_*]\n", "'ignore' must be a mapping"),
        ("ignore: {tables: [x]}\n", "unknown key 'ignore.tables'"),
        ("ignore: {fields: [title]}\n", "must be collection.field"),
        ("ignore: {kinds: [flows]}\n", "is not one of relations, system_fields"),
        ("ignore: {collections: logs}\n", "must be a list"),
        ("environments:\n  p: {url: 'http://p', mode: sync}\n", "mode must be one of mirror, merge"),
    ],
)
def test_malformed_rules_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(write(tmp_path, text))


def test_diff_leaves_out_what_the_rules_ignore(project: Project) -> None:
    before = model()
    store.write_tree(project.schema, store.render(before))
    (project.root / "directus-gitops.yaml").write_text(
        "ignore: {collections: [logs_*]}\n"
        "environments:\n  prod: {url: 'http://p', ignore: {fields: [articles.secret_note]}}\n"
    )
    project.git("add", ".")
    project.git("commit", "--quiet", "-m", "model")
    after = model()
    after["collections"] = [c for c in after["collections"] if c["collection"] != "logs_run"]
    # logs_run gone from the files, with the fields that held its relations and a kept field.
    gone = ("secret_note", "last_log", "log_entries")
    after["fields"] = [f for f in after["fields"] if f["collection"] != "logs_run" and f["field"] not in gone]
    after["relations"] = []
    store.write_tree(project.schema, store.render(after))

    shared = project.run("diff", "--format", "json")
    assert shared.code == 0, shared.output
    assert [c["name"] for c in json.loads(shared.out)["changes"]] == ["articles.secret_note"]
    with_prod = project.run("diff", "--format", "json", "--env", "prod")
    assert json.loads(with_prod.out)["changes"] == []
