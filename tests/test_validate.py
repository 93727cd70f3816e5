"""Every reader is as strict as ``check``: a snapshot ``check`` rejects is refused by ``diff``,
``plan`` and ``push`` alike, with file and line, before any request reaches a server."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from directus_gitops.base.errors import InvalidSnapshotError
from directus_gitops.files import store, yamlio
from directus_gitops.model import validate
from tests import samples, synthetic
from tests.conftest import Project


def _file(project: Project, relpath: str) -> Path:
    return project.schema / relpath


def _rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    content = yamlio.load(path.read_text())
    change(content)
    path.write_text(yamlio.dump(content))


def _field(content: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in content["fields"] if item["field"] == name)


def duplicate_yaml_key(project: Project) -> None:
    path = _file(project, "collections/articles.yaml")
    path.write_text(path.read_text().replace("  group: content\n", "  group: content\n  group: other\n", 1))


def duplicated_field(project: Project) -> None:
    _rewrite(_file(project, "collections/articles.yaml"), lambda c: c["fields"].append(dict(_field(c, "title"))))


def wrong_property_type(project: Project) -> None:
    _rewrite(
        _file(project, "collections/articles.yaml"), lambda c: _field(c, "title")["schema"].update(is_nullable="yes")
    )


def unknown_field_type(project: Project) -> None:
    _rewrite(_file(project, "collections/articles.yaml"), lambda c: _field(c, "title").update(type="integr"))


def unknown_property(project: Project) -> None:
    _rewrite(_file(project, "collections/articles.yaml"), lambda c: _field(c, "title").update(colour="red"))


def snapshot_version(project: Project) -> None:
    _rewrite(_file(project, "manifest.yaml"), lambda c: c["snapshot"].update(version=999))


def inner_name(project: Project) -> None:
    _rewrite(_file(project, "collections/authors.yaml"), lambda c: c.update(collection="writers"))


def missing_related_collection(project: Project) -> None:
    def change(content: dict[str, Any]) -> None:
        content["relations"][0]["related_collection"] = "publishers"

    _rewrite(_file(project, "collections/articles.yaml"), change)


BREAKAGES: dict[str, tuple[Callable[[Project], None], str, str]] = {
    # name: (breakage, file it is in, what the message says)
    "duplicate YAML key": (duplicate_yaml_key, "collections/articles.yaml", "duplicate key 'group'"),
    "duplicated field": (duplicated_field, "collections/articles.yaml", "field articles.title is defined again"),
    "wrong property type": (wrong_property_type, "collections/articles.yaml", "schema.is_nullable must be true or"),
    "unknown field type": (unknown_field_type, "collections/articles.yaml", "type 'integr' is not a Directus"),
    "unknown property": (unknown_property, "collections/articles.yaml", "unknown property 'colour'"),
    "snapshot version": (snapshot_version, "manifest.yaml", "snapshot version 999 is not one Directus accepts"),
    "inner name": (inner_name, "collections/authors.yaml", "holds collection 'writers'"),
    "missing collection": (missing_related_collection, "collections/articles.yaml", "'publishers' is not defined"),
}


@pytest.fixture
def committed(project: Project, counting_server: tuple[str, list[str]]) -> Project:
    project.configure(staging=counting_server[0])
    project.token("staging", "secret-token-value")
    store.write_tree(project.schema, store.render(samples.base()))
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "A valid model")
    return project


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_every_reader_refuses_what_check_rejects(
    committed: Project, counting_server: tuple[str, list[str]], name: str
) -> None:
    project = committed
    breakage, relpath, message = BREAKAGES[name]
    breakage(project)
    project.git("commit", "--quiet", "-am", f"Break: {name}")
    finding = re.compile(rf"schema/{re.escape(relpath)}:\d+: .*{re.escape(message)}")

    runs = {
        "check": project.run("check"),
        "diff of two revisions": project.run("diff", "HEAD~1", "HEAD"),
        "diff of the working tree": project.run("diff", "HEAD~1"),
        "plan": project.run("plan", "--env", "staging"),
        "push": project.run("push", "--env", "staging", "--yes"),
    }
    for command, result in runs.items():
        assert result.code == 1, f"{command}: {result.output}"
        assert finding.search(result.err), f"{command} does not name file and line:\n{result.err}"
        assert result.out == "", f"{command} printed results for a snapshot it refuses"
        assert "secret-token-value" not in result.output
    assert counting_server[1] == [], "a request reached the server"


def test_a_saved_plan_with_an_invalid_snapshot_is_refused_before_any_request(
    committed: Project, counting_server: tuple[str, list[str]]
) -> None:
    import json

    snapshot = samples.base()
    snapshot["fields"][1]["schema"]["is_nullable"] = "yes"
    plan = committed.root / "plan.json"
    plan.write_text(
        json.dumps(
            {"format": "directus-gitops-plan", "format_version": 1, "hash": "h", "diff": {}, "snapshot": snapshot}
        )
    )
    result = committed.run("push", "--env", "staging", "--plan", str(plan), "--yes")
    assert result.code == 1, result.output
    assert "is_nullable must be true or false" in result.err
    assert counting_server[1] == []


def test_directus_own_single_file_with_a_duplicate_key_is_refused_everywhere(committed: Project) -> None:
    project = committed
    text = yamlio.dump(samples.base()).replace("vendor: sqlite\n", "vendor: sqlite\nvendor: postgres\n", 1)
    own = project.root / "snapshot.yaml"
    own.write_text(text)
    line = text.splitlines().index("vendor: postgres") + 1
    for args in (
        ("check", "snapshot.yaml"),
        ("diff", "schema", "snapshot.yaml"),
        ("plan", "--env", "staging", "--from", "snapshot.yaml"),
    ):
        result = project.run(*args)
        assert result.code == 1, result.output
        assert f"snapshot.yaml:{line}: duplicate key 'vendor'" in result.err, (args, result.err)


def test_directus_own_json_file_with_a_key_twice_is_read_as_directus_reads_it_everywhere(committed: Project) -> None:
    from tests.test_check import exported_with_a_key_twice

    project = committed
    _, first, last = exported_with_a_key_twice(project.root, "false", "true")
    said = f"key 'is_unique' given twice (also at line {first}), with different values"
    for args, warning in (
        (("check", "snapshot.json"), f"snapshot.json:{last}: warning: {said}"),  # as check says each finding
        (("diff", "schema", "snapshot.json"), f"warning: snapshot.json:{last}: {said}"),
        # (its server answers 503 to everything: the warning comes first)
        (("plan", "--env", "staging", "--from", "snapshot.json"), f"warning: snapshot.json:{last}: {said}"),
    ):
        result = project.run(*args)
        assert warning in result.err, (args, result.err)
        assert "duplicate key" not in result.err, (args, result.err)
    diff = project.run("diff", "schema", "snapshot.json", "--format", "json")
    assert diff.code == 0, diff.output
    assert "is_unique" in diff.out  # the last value, true: a change from the committed model


def test_check_json_is_the_machine_output(committed: Project) -> None:
    import json

    unknown_field_type(committed)
    result = committed.run("check", "--format", "json")
    assert result.code == 1
    document = json.loads(result.out)
    assert document["format_version"] == "1" and document["ok"] is False
    (problem,) = document["checked"][0]["problems"]
    assert problem["path"] == "schema/collections/articles.yaml" and isinstance(problem["line"], int)
    assert "integr" in problem["message"] and problem["cosmetic"] is False


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(
    committed: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = committed
    articles = project.schema / "collections/articles.yaml"
    articles.write_text(articles.read_text() + "# " + "x" * 4000 + "\n")
    project.git("commit", "--quiet", "-am", "A large file")
    monkeypatch.setattr(store, "MAX_FILE_BYTES", 3000)
    parsed: list[str] = []
    real = store.parse_document
    monkeypatch.setattr(store, "parse_document", lambda data, name: parsed.append(name) or real(data, name))
    for args in (("check",), ("diff", "HEAD~1", "HEAD"), ("diff", "HEAD~1"), ("plan", "--env", "staging")):
        result = project.run(*args)
        assert result.code == 1, (args, result.output)
        assert re.search(r"collections/articles\.yaml: 0 MB, over the 0 MB limit for a snapshot file", result.err), (
            args,
            result.err,
        )
    assert not any(name.endswith("articles.yaml") and "HEAD:" in name for name in parsed)


def test_a_section_like_one_found_right_but_with_a_value_of_another_type_is_still_refused() -> None:
    """Sections are remembered by their property names and value types once found right: the
    same names with another type are checked again, whatever was checked before."""
    model = synthetic.model(collections=3, fields=4, seed=9)
    validate.load_document(model, "right")  # every section of this model found right
    fields = [entry for entry in model["fields"] if entry["field"] != "id"]
    fields[0]["meta"]["hidden"] = "no"
    fields[-1]["meta"]["hidden"] = 2  # (0 and 1 are read as false and true)
    with pytest.raises(InvalidSnapshotError) as refused:
        validate.load_document(model, "wrong")
    assert [problem for problem in refused.value.problems if "meta.hidden" in problem] == [
        f"wrong: {fields[0]['collection']}.{fields[0]['field']}: meta.hidden must be true or false or null, not 'no'",
        f"wrong: {fields[-1]['collection']}.{fields[-1]['field']}: meta.hidden must be true or false or null, not 2",
    ]
    with pytest.raises(InvalidSnapshotError):  # and again: a wrong section is never remembered
        validate.load_document(model, "wrong")


def _problems(snapshot: dict[str, Any]) -> list[str]:
    """What validation says of ``snapshot``, the same read whole and entry by entry (a backup)."""
    found = validate.document_problems(snapshot)[1]
    by_entry = validate.EntryByEntry()
    for key, value in snapshot.items():
        by_entry.member(key, value)
    assert by_entry.problems() == found
    return found


def test_only_directus_own_collections_count_as_defined_without_an_entry() -> None:
    # Saltefant/PrintStore: a relation to directus_languages, which no release has (12.4.1: 400
    # `Collection "directus_languages" doesn't exist`, tests/test_validation_servers.py).
    snapshot = samples.base()
    samples.find(snapshot, "relations", "articles", "author")["related_collection"] = "directus_languages"
    assert _problems(snapshot) == [
        "articles.author: related collection 'directus_languages' is not defined: add it, or remove the relation"
    ]
    samples.find(snapshot, "relations", "articles", "author")["related_collection"] = "directus_users"
    assert _problems(snapshot) == []  # Directus's own, in every release
    samples.find(snapshot, "relations", "articles", "author")["related_collection"] = "directus_versions"
    assert _problems(snapshot) == []  # Directus's own from 10.x on: a snapshot does not say its target


def test_column_fields_of_a_folder_are_refused_with_the_way_out() -> None:
    # johann-b82/kpi-dashboard: tables written as folders (schema: null). 12.4.1 applies such a
    # field (204) and drops it; the relations on them: 400 `Collection "x" doesn't exist`.
    snapshot = samples.base()
    samples.find(snapshot, "collections", "authors")["schema"] = None
    assert _problems(snapshot) == [
        "authors: collection 'authors' is a folder (schema: null), which has no table for its column fields "
        "(bio, id, name): Directus drops them, and refuses relations on them; give it a table "
        "(schema: {name: authors}), or remove the fields"
    ]
    content = samples.find(snapshot, "collections", "content")
    assert content.get("schema") is None  # a folder holding only alias fields is what Directus writes
    divider = {"collection": "content", "field": "divider", "type": "alias", "meta": {}, "schema": None}
    snapshot["fields"].append(divider)
    assert len(_problems(snapshot)) == 1


def test_a_field_id_in_a_table_without_a_primary_key_is_refused() -> None:
    # Rafamaro/Gastos02: Directus adds its own primary key `id` to a table created without one,
    # beside the file's `id` (11.17.4 and 12.4.1 on SQLite: 500 duplicate column name).
    snapshot = samples.base()
    key = samples.find(snapshot, "fields", "authors", "id")
    key["schema"] = None
    assert _problems(snapshot) == [
        "authors.id: collection 'authors' has no primary key field, so Directus adds one named 'id' when it "
        "creates the table, beside this one: make this field the primary key (schema.is_primary_key: true), "
        "or rename it"
    ]
    key["field"] = key["meta"]["field"] = "uid"
    assert _problems(snapshot) == []  # Directus's own `id` then is the key, as in any table made without one


def test_table_rules_hold_in_a_folder_checked_file_by_file(project: Project) -> None:
    snapshot = samples.base()
    samples.find(snapshot, "collections", "authors")["schema"] = None
    store.write_tree(project.schema, store.render(snapshot))
    report = validate.check_folder(project.schema, "split")
    assert [problem.message for problem in report.errors] == [
        "authors: collection 'authors' is a folder (schema: null), which has no table for its column fields "
        "(bio, id, name): Directus drops them, and refuses relations on them; give it a table "
        "(schema: {name: authors}), or remove the fields"
    ]
