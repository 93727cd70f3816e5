"""The translation rules, one by one: each makes a representation difference go away and says
so, and leaves a real difference alone. Real-server convergence is in test_cross_origin.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from directus_gitops.base.errors import SnapshotError
from directus_gitops.engine import translate
from directus_gitops.model import changes
from tests import samples
from tests.samples import find


def on(vendor: str, snapshot: dict[str, Any] | None = None, directus: str = "12.4.1") -> dict[str, Any]:
    result = copy.deepcopy(snapshot) if snapshot is not None else samples.base()
    result["vendor"], result["directus"] = vendor, directus
    return result


def rules(translation: translate.Translation) -> set[str]:
    return {note.rule for note in translation.notes}


def remaining(source: dict[str, Any], target: dict[str, Any], **options: Any) -> changes.ChangeSet:
    return changes.compare(target, translate.translate(source, target, **options).snapshot)


def test_the_same_origin_is_left_alone() -> None:
    snapshot = samples.base()
    translation = translate.translate(snapshot, copy.deepcopy(snapshot))
    assert translation.snapshot == snapshot
    assert not translation


def test_column_names_and_sizes_are_the_targets_across_databases() -> None:
    source, target = on("sqlite"), on("postgres")
    ours = find(source, "fields", "articles", "author")["schema"]
    theirs = find(target, "fields", "articles", "author")["schema"]
    ours.update(data_type="integer", numeric_precision=None, numeric_scale=None)
    theirs.update(data_type="integer", numeric_precision=32, numeric_scale=0)
    find(target, "fields", "authors", "bio")["schema"].update(data_type="text", max_length=None)
    find(source, "fields", "authors", "bio")["schema"].update(data_type="longtext", max_length=4294967295)

    translation = translate.translate(source, target)

    assert not changes.compare(target, translation.snapshot)
    assert rules(translation) == {"column-representation"}
    assert "articles.author" in translation.lines()[0]


def test_a_real_type_or_length_change_still_shows() -> None:
    source, target = on("sqlite"), on("postgres")
    find(source, "fields", "authors", "bio")["type"] = "integer"
    find(source, "fields", "authors", "name")["schema"]["max_length"] = 100

    left = remaining(source, target)

    assert {c.name for c in left} == {"authors.bio", "authors.name"}
    assert any("changes the type text → integer" in r for c in left for r in c.data_loss)


def test_a_uuid_reads_back_as_a_string_on_sqlite() -> None:
    source, target = on("postgres"), on("sqlite")
    for snapshot, type_, data_type, length in ((source, "uuid", "uuid", None), (target, "string", "char", 36)):
        entry = find(snapshot, "fields", "articles", "author")
        entry["type"] = type_
        entry["schema"].update(data_type=data_type, max_length=length)
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert "uuid-as-string" in rules(translation)

    # A string of another length is a real change.
    find(target, "fields", "articles", "author")["schema"]["max_length"] = 255
    assert remaining(source, target)


def test_sqlite_reads_decimal_as_float_but_other_databases_do_not() -> None:
    source, target = on("postgres"), on("sqlite")
    decimal = samples.field("authors", "fee", "decimal", numeric_precision=10, numeric_scale=2)
    floating = samples.field("authors", "fee", "float", numeric_precision=None, numeric_scale=None)
    source["fields"].append(decimal)
    target["fields"].append(floating)
    assert not remaining(source, target)
    assert remaining(source, on("mysql", target))  # MySQL keeps decimals: a real change


def test_a_csv_or_hash_length_is_the_targets_as_directus_sizes_them_itself() -> None:
    """A csv a 9.x PostgreSQL made (varchar, max_length 255) is text without a length on 10.7 and
    later: a push cannot shrink it (the plan said `shrinks max_length none → 255` after every push)."""
    source, target = on("postgres", directus="11.15.4"), on("sqlite", directus="11.17.4")
    source["fields"].append(samples.field("authors", "tags", "csv", data_type="character varying", max_length=255))
    target["fields"].append(samples.field("authors", "tags", "csv", data_type="text", max_length=None))
    source["fields"].append(samples.field("authors", "secret", "hash", data_type="character varying", max_length=64))
    target["fields"].append(samples.field("authors", "secret", "hash", data_type="varchar", max_length=255))
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert {n.subject for n in translation.notes if n.rule == "column-representation"} == {
        "authors.tags",
        "authors.secret",
    }

    # A string's length is the user's, and a csv that is not one on the target is a real change.
    find(source, "fields", "authors", "name")["schema"]["max_length"] = 100
    find(source, "fields", "authors", "tags")["type"] = "string"
    assert {c.name for c in remaining(source, target)} == {"authors.name", "authors.tags"}


def test_sqlite_makes_every_auto_increment_key_an_integer() -> None:
    """knex writes bigIncrements as SQLite's only auto-increment column, `integer`: a bigInteger key
    from PostgreSQL read back as integer on every push (10.13.4)."""
    source, target = on("postgres"), on("sqlite")
    big = find(source, "fields", "articles", "id")
    big["type"] = "bigInteger"
    big["schema"].update(data_type="bigint", numeric_precision=64)
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert [n.subject for n in translation.notes if n.rule == "sqlite-integer-keys"] == ["articles.id"]

    # Another database keeps a bigint; a bigInteger that is no auto-increment key stays one on SQLite.
    assert [c.name for c in remaining(source, on("postgres", target))] == ["articles.id"]
    find(source, "fields", "articles", "author")["type"] = "bigInteger"
    assert [c.name for c in remaining(source, target)] == ["articles.author"]

    # A new one is named before the apply.
    source["collections"].append(samples.collection("orders"))
    source["fields"].append({**copy.deepcopy(big), "collection": "orders"})
    notes = translate.translate(source, target).notes
    assert [n.subject for n in notes if n.rule == "sqlite-integer-keys"] == ["articles.id", "orders.id"]
    assert "sqlite-integer-keys" not in rules(translate.translate(source, on("mysql", target)))


def test_directus_before_10_11_makes_every_foreign_key_without_its_on_update() -> None:
    """9.26.0 passes only on_delete to the constraint: a RESTRICT from a MySQL file read back NO ACTION
    on SQLite on every push, and so would a CASCADE; 10.11 and later make what the file says."""
    source, target = on("sqlite", directus="9.18.1"), on("sqlite", directus="9.26.0")
    source["vendor"] = None  # as the corpus file: no vendor, its constraints from MySQL
    find(source, "relations", "articles", "author")["schema"]["on_update"] = "RESTRICT"
    find(target, "relations", "articles", "author")["schema"]["on_update"] = "NO ACTION"
    translation = translate.translate(source, target, target_release="9.26.0")
    assert not changes.compare(target, translation.snapshot)
    assert [(n.rule, n.subject) for n in translation.notes] == [
        ("vendor-inferred", "vendor"),  # (no column type of one database: the target's)
        ("on-update-ignored", "articles.author"),
    ]
    find(source, "relations", "articles", "author")["schema"]["on_update"] = "CASCADE"
    assert not remaining(source, target, target_release="9.26.0")

    # Where Directus makes what the file says, it is a change; so is one on_delete it passes.
    assert [c.name for c in remaining(source, on("sqlite", target, "10.11.1"))] == ["articles.author → authors"]
    find(source, "relations", "articles", "author")["schema"]["on_delete"] = "CASCADE"
    assert [c.name for c in remaining(source, target)] == ["articles.author → authors"]

    # A new relation asking for another on_update is named before the apply.
    source["fields"].append(samples.field("articles", "editor", "integer"))
    editor = samples.relation("articles", "editor", "authors")
    editor["schema"]["on_update"] = "CASCADE"
    source["relations"].append(editor)
    notes = translate.translate(source, target).notes
    assert ("on-update-ignored", "articles.editor") in [(n.rule, n.subject) for n in notes]
    assert "on-update-ignored" not in rules(translate.translate(source, on("sqlite", target, "10.11.1")))


def test_mysql_indexes_foreign_keys_and_says_restrict() -> None:
    source, target = on("postgres"), on("mysql")
    find(source, "fields", "articles", "author")["schema"].update(is_indexed=False, foreign_key_table="authors")
    find(target, "fields", "articles", "author")["schema"].update(is_indexed=True, foreign_key_table="authors")
    find(source, "relations", "articles", "author")["schema"].update(on_update="NO ACTION", constraint_name=None)
    find(target, "relations", "articles", "author")["schema"].update(
        on_update="RESTRICT", constraint_name="articles_author_foreign"
    )
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert {"foreign-key-index", "restrict-is-no-action", "foreign-key-names"} <= rules(translation)

    # CASCADE is not RESTRICT anywhere.
    find(source, "relations", "articles", "author")["schema"]["on_delete"] = "CASCADE"
    assert [c.name for c in remaining(source, target)] == ["articles.author → authors"]


def test_constraint_names_are_the_targets_on_the_same_database_too() -> None:
    """Directus names the constraints it makes: a name the file chose can never be applied."""
    for vendor in ("postgres", "mysql", "sqlite"):
        source, target = on(vendor), on(vendor)
        find(source, "relations", "articles", "author")["schema"]["constraint_name"] = "articles_authors_id_foreign"
        named = "articles_author_foreign" if vendor != "sqlite" else None
        find(target, "relations", "articles", "author")["schema"]["constraint_name"] = named
        translation = translate.translate(source, target)
        assert not changes.compare(target, translation.snapshot), vendor
        assert [(n.rule, n.subject) for n in translation.notes] == [("foreign-key-names", "articles.author")]
        # Another relation (another related collection, another action) is still a change.
        find(source, "relations", "articles", "author")["schema"]["on_delete"] = "CASCADE"
        assert [c.name for c in remaining(source, target)] == ["articles.author → authors"]


def _json_field(special: list[str] | None, type_: str = "json", data_type: str = "json") -> dict[str, Any]:
    entry = samples.field("authors", "extra", type_, data_type=data_type, max_length=None)
    entry["meta"]["special"] = special
    return entry


def test_mariadb_reads_a_json_field_without_cast_json_as_text() -> None:
    """Directus 11.3.5 on MariaDB: `type: json` without `cast-json` reads back as `text`, so a
    plan never proposes the `text → json` no apply makes (and that looked like data loss)."""
    source, target = on("mysql", directus="11.3.5"), on("mysql", directus="11.3.5")
    source["fields"].append(_json_field(None))
    target["fields"].append(_json_field(None, "text", "longtext"))
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert "json-as-text" in rules(translation)
    assert find(translation.snapshot, "fields", "authors", "extra")["type"] == "text"

    # From another database too; and a field with cast-json, or a real text → json, is left alone.
    assert not remaining(on("postgres", source), target)
    with_cast = on("mysql", source, directus="11.3.5")
    find(with_cast, "fields", "authors", "extra")["meta"]["special"] = ["cast-json"]
    assert "json-as-text" not in rules(translate.translate(with_cast, target))
    varchar = on("mysql", target, directus="11.3.5")
    find(varchar, "fields", "authors", "extra").update(type="string")
    find(varchar, "fields", "authors", "extra")["schema"]["data_type"] = "varchar"
    assert [c.name for c in remaining(source, varchar)] == ["authors.extra"]
    # PostgreSQL and SQLite keep json: nothing to translate there.
    assert "json-as-text" not in rules(translate.translate(on("postgres", source), on("postgres")))


def test_a_new_json_field_without_cast_json_is_named_before_the_apply() -> None:
    source, target = on("sqlite"), on("mysql")
    source["fields"].append(_json_field(None))
    translation = translate.translate(source, target)
    notes = [n for n in translation.notes if n.rule == "json-as-text"]
    assert [(n.subject, n.detail) for n in notes] == [
        ("authors.extra", "json without cast-json: MariaDB will read it back as text")
    ]
    assert find(translation.snapshot, "fields", "authors", "extra")["type"] == "json"  # sent as written
    assert "json-as-text" not in rules(translate.translate(source, on("postgres")))


def test_sqlite_11_reports_a_unique_column_as_indexed() -> None:
    """Directus 11.3.5 on SQLite: unique columns (uuid and text keys included) read back
    `is_indexed: true`, and asking for false fails ('no such index'): the target's flag stays."""
    source, target = on("postgres", directus="11.3.5"), on("sqlite", directus="11.3.5")
    for snapshot, indexed in ((source, False), (target, True)):
        find(snapshot, "fields", "authors", "name")["schema"].update(is_unique=True, is_indexed=indexed)
        find(snapshot, "fields", "articles", "title")["schema"].update(is_unique=False, is_indexed=indexed)
    translation = translate.translate(on("sqlite", source, directus="11.3.5"), target)
    assert [(n.rule, n.subject) for n in translation.notes] == [("sqlite-unique-indexed", "authors.name")]
    # A plain (not unique) index is a real difference; so is any on 12.x, which reports none.
    assert [c.name for c in changes.compare(target, translation.snapshot)] == ["articles.title"]
    assert "sqlite-unique-indexed" not in rules(translate.translate(source, on("sqlite", target)))
    assert "sqlite-unique-indexed" not in rules(translate.translate(source, on("postgres", target, "11.3.5")))


def test_a_new_unique_field_is_sent_to_sqlite_11_without_its_index() -> None:
    """A file from Directus 11 on SQLite says unique and indexed; asking that target for both makes
    it read the column back as not unique, while the unique alone reads back as both."""
    source, target = on("sqlite", directus="11.3.5"), on("sqlite", directus="11.3.5")
    source["fields"].append(samples.field("authors", "email", is_unique=True, is_indexed=True))
    source["fields"].append(samples.field("authors", "code", is_indexed=True))
    translation = translate.translate(source, target)
    assert find(translation.snapshot, "fields", "authors", "email")["schema"]["is_indexed"] is False
    assert find(translation.snapshot, "fields", "authors", "code")["schema"]["is_indexed"] is True  # a plain index
    assert [(n.rule, n.subject) for n in translation.notes] == [("sqlite-unique-indexed", "authors.email")]
    for other in (on("sqlite"), on("postgres", directus="11.3.5")):  # 12.x SQLite and other databases
        assert "sqlite-unique-indexed" not in rules(translate.translate(source, other))


def test_sqlite_from_11_4_keeps_a_unique_and_indexed_field_as_it_is() -> None:
    """11.7.2 on SQLite reads a unique and indexed field back as both (@directus/schema 13, from
    11.4.0): sent without its index, a push from 11.7.2 to 11.7.2 left it a change."""
    source = on("sqlite", directus="11.7.2")
    source["fields"].append(samples.field("authors", "handle", is_unique=True, is_indexed=True))
    targets = {}
    for release in ("11.3.5", "11.4.0", "11.7.2", "11.17.4"):
        targets[release] = on("sqlite", directus=release)
        for entry in targets[release]["fields"]:
            entry["schema"].update(is_unique=False, is_indexed=False)  # releases that write them
    for release in ("11.4.0", "11.7.2", "11.17.4"):
        translation = translate.translate(source, targets[release])
        assert find(translation.snapshot, "fields", "authors", "handle")["schema"]["is_indexed"] is True, release
    assert "sqlite-unique-indexed" in rules(translate.translate(source, targets["11.3.5"]))


def test_the_table_of_properties_by_release_is_ordered_and_each_release_lacks_the_newer_ones() -> None:
    """Each property is written from the release the table names: a target of that release knows
    it, one of the release before does not, and nothing in the table is unknown to 12.4.1."""
    table = translate.RELEASE_PROPERTIES
    assert len({prop.path for prop in table}) == len(table)
    assert [translate.release(p.since) for p in table] == sorted(translate.release(p.since) for p in table)
    for prop in table:
        assert prop.section in ("meta", "schema") and prop.entries in ("collections", "fields", "relations")
        assert prop.evidence
        major, minor, _ = translate.release(prop.since) or (0, 0, 0)
        assert prop not in translate.unknown_to(prop.since)
        before = f"{major}.{minor - 1}.99" if minor else f"{major - 1}.99.99"
        assert prop in translate.unknown_to(before)
    assert translate.unknown_to("12.4.1") == []
    assert translate.unknown_to("not a release") == []
    assert {p.path for p in translate.unknown_to("11.3.5")} == {
        "fields.meta.searchable",
        "collections.meta.status",
        "collections.meta.autosave_revision_interval",
    }
    assert translate.unknown_to("11.7.2") == translate.unknown_to("11.3.5")  # 11.7.2 writes nothing 11.3.5 lacks


def test_an_empty_older_target_is_sent_no_property_its_release_lacks() -> None:
    """Into an empty 11.3.5 (no entries to tell its properties from), 11.17.4's meta.searchable
    and 12.x's collection status are still left out, by the table, and the plan says so."""
    source = on("sqlite", directus="12.4.1")
    for entry in source["fields"]:
        entry["meta"]["searchable"] = False
    for entry in source["collections"]:
        entry["meta"]["status"] = "active"
    empty = {"version": 1, "directus": "11.3.5", "vendor": "sqlite", "collections": [], "fields": [], "relations": []}
    translation = translate.translate(source, empty)
    assert not any("searchable" in entry["meta"] for entry in translation.snapshot["fields"])
    assert not any("status" in entry["meta"] for entry in translation.snapshot["collections"])
    details = {note.detail for note in translation.notes if note.rule == "release-only-properties"}
    assert {"meta.searchable: false left out", 'meta.status: "active" left out'} <= details
    # A target that knows them gets them; without the target's release nothing is dropped by the table.
    for knows in ("11.13.0", "12.0.2"):
        kept = translate.translate(source, {**empty, "directus": knows}).snapshot
        assert all("searchable" in entry["meta"] for entry in kept["fields"]), knows
    # A snapshot of the target's own release is sent as it is; one that only says so loses what
    # that release lacks all the same (GemeinschaftswerkNachhaltigkeit/landingpage: "9.26.0" with
    # 10.x collection properties, which 9.26.0 ignored: exit 4 on every push).
    own = on("sqlite", directus="11.3.5")
    assert "release-only-properties" not in rules(translate.translate(own, empty))
    claimed = translate.translate(on("sqlite", source, directus="11.3.5"), empty)
    assert not any("searchable" in entry["meta"] for entry in claimed.snapshot["fields"])
    assert "release-only-properties" in rules(claimed)


def test_a_primary_key_is_unique_whatever_the_database_says() -> None:
    source, target = on("sqlite"), on("mysql")
    find(source, "fields", "authors", "id")["schema"]["is_unique"] = True
    find(target, "fields", "authors", "id")["schema"]["is_unique"] = False
    assert not remaining(source, target)
    find(source, "fields", "authors", "name")["schema"]["is_unique"] = True
    assert [c.name for c in remaining(source, target)] == ["authors.name"]  # not a key: real


def test_sqlite_cast_timestamp_and_release_sorted_specials() -> None:
    source, target = on("sqlite"), on("postgres")
    find(source, "fields", "authors", "name")["meta"]["special"] = ["date-created", "cast-timestamp"]
    find(target, "fields", "authors", "name")["meta"]["special"] = ["date-created"]
    assert not remaining(source, target)

    older, newer = on("sqlite", directus="10.13.4"), on("sqlite")
    find(older, "fields", "authors", "name")["meta"]["special"] = ["a", "b"]
    find(newer, "fields", "authors", "name")["meta"]["special"] = ["b", "a"]
    assert rules(translate.translate(older, newer)) == {"special-order"}
    assert remaining(on("sqlite", older, directus="12.4.1"), newer)  # same release: order is kept as a change


def test_release_only_properties_take_the_targets_value_or_go() -> None:
    older, newer = on("sqlite", directus="10.13.4"), on("sqlite")
    for entry in newer["fields"]:
        entry["meta"]["searchable"] = True
        entry["schema"]["is_indexed"] = False
    for entry in newer["collections"]:
        entry["meta"]["status"] = "active"
    translation = translate.translate(older, newer)
    assert not changes.compare(newer, translation.snapshot)
    assert rules(translation) == {"release-only-properties"}

    back = translate.translate(newer, older)
    assert not changes.compare(older, back.snapshot)
    # A new collection loses the properties the older release does not have.
    newer["collections"].append(samples.collection("fresh", status="active"))
    fresh = find(translate.translate(newer, older).snapshot, "collections", "fresh")
    assert "status" not in fresh["meta"]


def test_leaked_system_relations_go_and_custom_system_fields_stay() -> None:
    source = samples.base()
    source["relations"].append(samples.relation("directus_settings", "public_registration_role", "directus_roles"))
    source["fields"].append(samples.field("directus_settings", "public_registration_role", "uuid"))
    translation = translate.translate(source, samples.base())
    kept = {(f["collection"], f["field"]) for f in translation.snapshot["fields"]}
    assert ("directus_users", "nickname") in kept  # a field a user added to a system collection
    assert ("directus_settings", "public_registration_role") not in kept
    assert not [r for r in translation.snapshot["relations"] if r["collection"] == "directus_settings"]
    assert rules(translation) == {"system-collections"}


def test_nineteen_collection_schema_keys_are_left_out() -> None:
    source = samples.base()
    find(source, "collections", "authors")["schema"].update(schema="public", comment=None)
    translation = translate.translate(source, samples.base())
    assert find(translation.snapshot, "collections", "authors")["schema"] == {"name": "authors"}
    assert [(n.rule, n.subject) for n in translation.notes] == [("collection-schema", "authors")]


def test_system_indexes_are_never_removed_without_the_flag() -> None:
    target = samples.base()
    target["systemFields"].append({"collection": "directus_users", "field": "role", "schema": {"is_indexed": True}})
    source = samples.base()
    source["systemFields"] = []

    kept = translate.translate(source, target)
    assert not changes.compare(target, kept.snapshot)
    assert rules(kept) == {"system-index-kept"}

    removed = remaining(source, target, system_index_changes=True)
    assert {c.name for c in removed} == {"directus_activity.timestamp", "directus_users.role"}
    assert all(c.data_loss for c in removed)


def test_system_indexes_for_fields_the_target_lacks_are_left_out() -> None:
    source = samples.base()
    source["systemFields"].append({"collection": "directus_new", "field": "thing", "schema": {"is_indexed": True}})
    translation = translate.translate(
        source, samples.base(), target_has_field=lambda collection, _: collection != "directus_new"
    )
    assert [e["collection"] for e in translation.snapshot["systemFields"]] == ["directus_activity"]
    assert rules(translation) == {"system-index-unknown"}


def test_mysql_system_indexes_do_not_travel_to_other_databases() -> None:
    source = on("mysql")
    source["systemFields"].append({"collection": "directus_users", "field": "role", "schema": {"is_indexed": True}})
    translation = translate.translate(source, on("postgres"))
    assert not changes.compare(on("postgres"), translation.snapshot)
    assert rules(translation) >= {"mysql-system-indexes"}


def test_system_fields_are_left_out_for_a_target_before_11_13() -> None:
    older = on("sqlite", directus="10.13.4")
    del older["systemFields"]
    translation = translate.translate(samples.base(), older)
    assert "systemFields" not in translation.snapshot
    assert "system-fields-key" in rules(translation)


def test_a_snapshot_claiming_a_release_it_cannot_be_from_is_named() -> None:
    claimed = samples.base()
    del claimed["systemFields"]
    claimed["directus"] = "12.1.2"  # what a 10.5.2 server wrote (an internal package version)
    for entry in claimed["fields"]:
        (entry.get("schema") or {}).pop("is_indexed", None)  # 10.x writes none
    (warning,) = translate.origin_warnings(claimed)
    assert "says Directus 12.1.2, but nothing in it shows a release from 11.1 on wrote it" in warning
    assert "written by hand or by another tool, or by a 10.x server" in warning
    assert not translate.origin_warnings(samples.base())


def test_a_snapshot_without_system_fields_but_with_is_indexed_is_taken_at_its_word() -> None:
    # directus-template-cli exports (AnalogElk/muster 11.15.1, royalswe/Directus-Nuxt 11.14.0)
    # have no systemFields, but is_indexed on every column: from 11.1 on, as they say.
    exported = samples.base()
    del exported["systemFields"]
    exported["directus"] = "11.15.1"
    assert translate.origin_warnings(exported) != []  # nothing in it says otherwise...
    samples.find(exported, "fields", "articles", "title")["schema"]["is_indexed"] = False
    assert translate.origin_warnings(exported) == []  # ...but a column's is_indexed does


def test_fields_of_a_directus_collection_the_target_release_lacks_are_left_out_with_it() -> None:
    # GemeinschaftswerkNachhaltigkeit/landingpage (9.26.0): tables a newer release's migrations
    # made, a user's to 9.26.0; a field Directus never defined (directus_extensions.name) too.
    source = on("postgres", directus="9.26.0")
    source["collections"].append({"collection": "directus_extensions", "meta": None, "schema": {}})
    field = {"collection": "directus_extensions", "field": "name", "type": "string", "meta": None}
    source["fields"].append({**field, "schema": {"name": "name", "is_nullable": False}})
    older = on("sqlite", directus="9.26.0")
    del older["systemFields"]
    translation = translate.translate(source, older)
    assert not [e for e in translation.snapshot["fields"] if e["collection"] == "directus_extensions"]
    left_out = {note.subject for note in translation.notes if note.rule == "system-collections"}
    assert "directus_extensions.name" in left_out
    # 12.4.1 has directus_extensions: a field added to Directus's own collection is the user's, and kept.
    kept = translate.translate(source, on("sqlite")).snapshot["fields"]
    assert [e["field"] for e in kept if e["collection"] == "directus_extensions"] == ["name"]
    assert [e["field"] for e in kept if e["collection"] == "directus_users"] == ["nickname"]


def test_a_partial_snapshot_is_refused_before_directus_12() -> None:
    partial = {**samples.base(), "version": 2}
    with pytest.raises(SnapshotError, match="partial one"):
        translate.translate(partial, on("sqlite", directus="11.17.4"))
    assert translate.translate(partial, samples.base()).snapshot["version"] == 2


def test_every_rule_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "translation.md").read_text()
    for rule in translate.RULES:
        assert f"`{rule.id}`" in doc, rule.id
        assert rule.summary in doc, rule.id


def test_a_nine_x_folder_with_a_null_schema_loses_the_key() -> None:
    source = samples.base()
    find(source, "collections", "content")["schema"] = None
    translation = translate.translate(source, samples.base())
    assert "schema" not in find(translation.snapshot, "collections", "content")
    assert not changes.compare(samples.base(), translation.snapshot)


def test_a_target_before_11_sorts_plain_lists_when_it_reads_them_back() -> None:
    source, target = on("sqlite", directus="9.5.2"), on("sqlite", directus="10.13.4")
    find(source, "fields", "authors", "bio")["meta"]["options"] = {"toolbar": ["bold", "link", "image"]}
    find(target, "fields", "authors", "bio")["meta"]["options"] = {"toolbar": ["bold", "image", "link"]}
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert "sorted-lists" in rules(translation)

    # Another item is a real change; on 11+ the order is kept and compared.
    find(source, "fields", "authors", "bio")["meta"]["options"]["toolbar"].append("code")
    assert remaining(source, target)
    assert remaining(on("sqlite", source, directus="12.4.1"), on("sqlite", target, directus="12.4.1"))


def test_char_and_varchar_of_one_length_are_one_column_for_directus() -> None:
    source, target = on("mysql"), on("mysql")
    find(source, "fields", "authors", "name")["schema"].update(data_type="varchar", max_length=36)
    find(target, "fields", "authors", "name")["schema"].update(data_type="char", max_length=36)
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert rules(translation) == {"char-varchar"}
    find(source, "fields", "authors", "name")["schema"]["max_length"] = 40
    assert remaining(source, target)  # another length is a real change


def test_mariadb_reads_a_mysql_json_column_as_longtext() -> None:
    source, target = on("mysql", directus="10.9.3"), on("mysql", directus="10.13.4")
    source["fields"].append(samples.field("authors", "tags", "json", data_type="json", max_length=None))
    target["fields"].append(samples.field("authors", "tags", "json", data_type="longtext", max_length=4294967295))
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert "column-representation" in rules(translation)
    assert not rules(translate.translate(on("sqlite", source), on("sqlite", source)))  # same origin: nothing


def test_a_directus_collection_entry_is_left_out_but_its_custom_fields_stay() -> None:
    source = samples.base()
    source["collections"].append(samples.collection("directus_users"))
    translation = translate.translate(source, samples.base())
    assert "directus_users" not in {c["collection"] for c in translation.snapshot["collections"]}
    assert ("directus_users", "nickname") in {(f["collection"], f["field"]) for f in translation.snapshot["fields"]}


def test_json_casts_directus_adds_by_itself_are_the_targets() -> None:
    source, target = on("mysql", directus="11.14.0"), on("sqlite", directus="11.17.4")
    find(source, "fields", "authors", "bio")["meta"]["special"] = None
    find(target, "fields", "authors", "bio")["meta"]["special"] = ["cast-json"]
    assert not remaining(source, target)
    find(source, "fields", "authors", "bio")["meta"]["special"] = ["cast-csv"]
    assert remaining(source, target)  # any other special is a real change


def test_a_uuid_foreign_key_reads_back_differently_across_releases_on_one_database() -> None:
    older, newer = on("sqlite", directus="12.0.2"), on("sqlite")
    find(older, "fields", "articles", "author").update(type="string")
    find(older, "fields", "articles", "author")["schema"].update(data_type="char", max_length=36)
    find(newer, "fields", "articles", "author").update(type="uuid")
    find(newer, "fields", "articles", "author")["schema"].update(data_type="char", max_length=36)
    assert not remaining(older, newer)
    assert remaining(on("sqlite", older, directus="12.4.1"), newer)  # the same release: a real change


def test_a_relation_without_a_constraint_gets_the_one_directus_makes() -> None:
    # Directus makes a foreign key for every relation it creates, whatever `schema` says
    # (seen on 12.4.1 with `schema: null` and with no `schema` at all).
    source, target = samples.base(), samples.base()
    del find(source, "relations", "articles", "author")["schema"]
    find(source, "fields", "articles", "author")["schema"].update(foreign_key_table=None, foreign_key_column=None)
    find(target, "fields", "articles", "author")["schema"].update(foreign_key_table="authors", foreign_key_column="id")

    translation = translate.translate(source, target)

    assert not changes.compare(target, translation.snapshot)
    assert rules(translation) == {"foreign-keys-from-relations"}
    assert {note.subject for note in translation.notes} == {"articles.author"}
    # A relation to another collection is still a change.
    find(source, "relations", "articles", "author")["related_collection"] = "Mixed Case/Name"
    assert remaining(source, target)


def test_a_relation_without_meta_is_the_one_directus_writes() -> None:
    """Directus writes a meta for every relation it creates (RelationsService.createOne), so a
    relation the snapshot holds with `meta: null` or none reads back with that one."""
    source, target = samples.base(), samples.base()
    theirs = find(target, "relations", "articles", "author")
    theirs["meta"] = {
        **theirs["meta"],
        **dict.fromkeys(("one_field", "one_collection_field", "one_allowed_collections", "junction_field")),
        "sort_field": None,
        "one_deselect_action": "nullify",
    }
    find(source, "relations", "articles", "author")["meta"] = None
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert {(n.rule, n.subject) for n in translation.notes} == {("relation-meta-made", "articles.author")}
    del find(source, "relations", "articles", "author")["meta"]  # no meta at all: the same
    assert not remaining(source, target)
    # A meta holding anything Directus does not write by itself is a real difference.
    for key, value in (("one_field", "articles"), ("one_deselect_action", "delete"), ("one_collection", "x")):
        changed = copy.deepcopy(target)
        find(changed, "relations", "articles", "author")["meta"][key] = value
        assert [c.name for c in remaining(source, changed)] == ["articles.author → authors"], key
    # A new relation: the plan names the meta Directus will write.
    target["relations"].remove(theirs)
    notes = translate.translate(source, target).notes
    assert ("relation-meta-made", "articles.author") in {(n.rule, n.subject) for n in notes}


def test_a_property_the_snapshot_lacks_is_the_targets_on_every_release() -> None:
    """A hand-written collection meta with 2 of its keys (devspelunk/personal-site) read back
    differently on its own release, not on another (release-only-properties took the target's):
    now the same on both. A value the snapshot holds is still compared."""
    for directus in ("12.4.1", "10.13.4"):
        source, target = on("sqlite", directus=directus), on("sqlite")
        find(target, "collections", "authors")["meta"].update(icon="person", hidden=False)
        find(source, "collections", "authors")["meta"] = {"collection": "authors", "hidden": False}
        find(source, "fields", "authors", "name")["schema"].pop("default_value")
        translation = translate.translate(source, target)
        assert not changes.compare(target, translation.snapshot), directus
        details = {(n.subject, n.detail) for n in translation.notes if n.rule == "absent-properties"}
        assert details == {
            ("authors", 'meta.icon: (absent) → "person"'),
            ("authors", "meta.note: (absent) → null"),
            ("authors.name", "schema.default_value: (absent) → null"),
        }, directus
        find(source, "collections", "authors")["meta"]["hidden"] = True
        assert [c.name for c in remaining(source, target)] == ["authors"], directus
    # A field written without `schema` at all (antikkorps/siteCorpo3: 63 of them) takes the column's.
    source, target = on("sqlite"), on("sqlite")
    del find(source, "fields", "authors", "name")["schema"]
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    noted = {n.detail.split(":")[0] for n in translation.notes if n.rule == "absent-properties"}
    assert {"schema.data_type", "schema.is_nullable"} <= noted
    find(source, "fields", "authors", "name")["meta"]["note"] = "changed"
    assert [c.name for c in remaining(source, target)] == ["authors.name"]


def test_a_foreign_key_no_relation_backs_is_not_made() -> None:
    source, target = samples.base(), samples.base()
    find(source, "fields", "authors", "name")["schema"].update(
        foreign_key_table="directus_files", foreign_key_column="id"
    )
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert {(n.rule, n.subject) for n in translation.notes} == {("foreign-keys-from-relations", "authors.name")}


def test_new_entries_name_the_constraint_directus_will_or_will_not_make() -> None:
    source, target = samples.base(), samples.base()
    source["fields"].append(samples.field("authors", "avatar", "uuid", foreign_key_table="directus_files"))
    source["fields"].append(samples.field("authors", "mentor", "integer"))
    mentor = samples.relation("authors", "mentor", "authors")
    mentor["schema"] = None
    source["relations"].append(mentor)

    translation = translate.translate(source, target)

    assert translation.snapshot == source  # nothing to align yet: the notes say what will happen
    details = {note.subject: note.detail for note in translation.notes}
    assert details == {
        "authors.mentor": "no constraint in the snapshot: Directus will make one",
        "authors.avatar": "foreign key to directus_files without a relation: Directus will make none",
    }


def test_which_origin_differences_the_rules_carry_across() -> None:
    source = {"directus": "10.13.4", "vendor": "sqlite"}
    origins = {o.kind: o for o in translate.compatibility(source, {"directus": "12.4.1", "vendor": "postgres"})}
    assert set(origins) == {"release", "vendor"}
    assert translate.covered(origins["vendor"], source, ())
    assert not translate.covered(origins["release"], source, ())
    assert translate.covered(origins["release"], source, ("10.*",))
    assert not translate.covered(origins["release"], source, ("11.*",))
    # A snapshot without vendor whose column types belong to two databases: --force only.
    mixed = {"directus": "12.4.1", "fields": [_typed("character varying"), _typed("int unsigned")]}
    [unknown] = translate.compatibility(mixed, {"directus": "12.4.1", "vendor": "sqlite"})
    assert unknown.kind == "unknown vendor" and not translate.covered(unknown, mixed, ("*",))


def _typed(data_type: str | None) -> dict[str, Any]:
    return {"collection": "c", "field": f"f{data_type}", "type": "string", "schema": {"data_type": data_type}}


@pytest.mark.parametrize(
    ("types", "read_as"),
    [
        (["character varying", "integer", "text"], "postgres"),  # a 9.x PostgreSQL file
        (["uuid", "timestamp with time zone"], "postgres"),
        (["varchar", "int unsigned", "timestamp"], "mysql"),  # a 9.x MySQL file
        (["longtext", "text"], "mysql"),
        (["varchar", "char", "integer", "datetime", "text"], "sqlite"),  # a 9.x SQLite file
        (["integer", "text", "boolean"], "target"),  # every database reads these alike
        ([None, None], "target"),  # a hand-written file without schema details
        (["varchar", "text"], None),  # SQLite or MySQL: no integer column tells
        (["character varying", "varchar"], None),  # two databases (a file edited by hand)
        (["uuid", "tinyint"], None),
    ],
)
def test_a_snapshot_without_vendor_is_read_as_the_database_its_column_types_name(
    types: list[str | None], read_as: str | None
) -> None:
    """Directus refuses a snapshot without `vendor` unless forced (older 9.x wrote none; 25 of 184 public
    files): its column types tell the database (rule vendor-inferred), and the plan says so."""
    source = {"directus": "9.22.4", "collections": [], "fields": [_typed(t) for t in types], "relations": []}
    for target_vendor in ("sqlite", "postgres", "mysql"):
        target = {"directus": "9.22.4", "vendor": target_vendor}
        wanted = target_vendor if read_as == "target" else read_as
        found = translate.inferred_vendor(source, target)
        assert (found[0] if found else None) == wanted, (types, target_vendor)
        origins = {o.kind: o for o in translate.compatibility(source, target)}
        if wanted is None:
            assert set(origins) == {"unknown vendor"}
            continue
        assert "vendor-inferred" in origins and translate.covered(origins["vendor-inferred"], source, ())
        assert ("vendor" in origins) is (wanted != target_vendor)
        translation = translate.translate(source, target)
        assert translation.snapshot["vendor"] == wanted and "vendor" not in source
        assert [n.subject for n in translation.notes if n.rule == "vendor-inferred"] == ["vendor"]
    # A snapshot that records its vendor is never inferred.
    said = {**source, "vendor": "sqlite"}
    assert "vendor-inferred" not in rules(translate.translate(said, {"directus": "9.22.4", "vendor": "sqlite"}))


def test_a_function_default_of_another_database_is_not_sent_and_not_a_difference() -> None:
    """A PostgreSQL file's `gen_random_uuid()` default would be written into SQLite's CREATE TABLE
    (Directus answers 500): a new field goes without it, and the target's own default stands."""
    source, target = on("postgres"), on("sqlite")
    source["fields"].append(samples.field("authors", "token", default_value="gen_random_uuid()"))
    translation = translate.translate(source, target)
    assert find(translation.snapshot, "fields", "authors", "token")["schema"]["default_value"] is None
    assert [(n.rule, n.subject) for n in translation.notes] == [("function-defaults", "authors.token")]
    pushed = on("sqlite", translation.snapshot)  # what the target holds after the apply
    assert not remaining(source, pushed)
    assert "function-defaults" in rules(translate.translate(source, pushed))
    # The same database keeps it; a plain value is a real default everywhere.
    assert "function-defaults" not in rules(translate.translate(source, on("postgres")))
    source["fields"][-1]["schema"]["default_value"] = "draft"
    assert "function-defaults" not in rules(translate.translate(source, target))


def test_a_function_default_directus_would_quote_on_postgresql_is_not_sent() -> None:
    """Directus on PostgreSQL writes a function default as a quoted string (`default 'gen_random_uuid()'`),
    and the apply fails (500 'invalid input syntax for type uuid': public files from 10.13.4 PostgreSQL,
    pushed to 10.13.4 PostgreSQL); from 11.1 it writes `gen_random_uuid()`, and only that, as a call."""
    source = on("postgres", directus="10.13.4")
    source["fields"].append(samples.field("authors", "token", "uuid", default_value="gen_random_uuid()"))
    source["fields"].append(samples.field("authors", "ref", "uuid", default_value="uuid_generate_v4()"))
    source["fields"].append(samples.field("authors", "seen", "timestamp", default_value="now()"))
    source["fields"].append(
        samples.field("authors", "n", "integer", default_value="nextval('n_seq'::regclass)", has_auto_increment=True)
    )

    def left_out(directus: str) -> set[str]:
        translation = translate.translate(source, on("postgres", directus=directus))
        for note in translation.notes:
            assert note.rule != "function-defaults" or note.detail.endswith("→ null"), note
        return {n.subject for n in translation.notes if n.rule == "function-defaults"}

    assert left_out("10.13.4") == left_out("11.0.1") == {"authors.token", "authors.ref"}
    assert left_out("11.1.0") == left_out("12.4.1") == {"authors.ref"}
    # A field the target has keeps its own default; SQLite and MySQL writing it as a call is another rule's.
    target = on("postgres", directus="10.13.4")
    target["fields"].append(samples.field("authors", "token", "uuid", default_value=None))
    assert not {c.name for c in remaining(source, target)} & {"authors.token"}
    assert "function-defaults" not in rules(translate.translate(on("sqlite", source), on("sqlite")))


def test_a_json_default_given_as_text_is_the_value_directus_reads_back() -> None:
    """Directus stores a json field's default `"{}"` (a string) as the text `{}` and reads it back as the
    object `{}` (a public snapshot file, pushed to its own 11.17.4 SQLite: exit 4 on every push)."""
    source, target = on("sqlite"), on("sqlite")
    source["fields"].append(samples.field("authors", "prefs", "json", data_type="json", default_value="{}"))
    source["fields"].append(samples.field("authors", "tags", "json", data_type="json", default_value='["a", 1]'))
    translation = translate.translate(source, target)  # new fields: what is sent
    sent = {f["field"]: f["schema"]["default_value"] for f in translation.snapshot["fields"]}
    assert (sent["prefs"], sent["tags"]) == ({}, ["a", 1])
    assert {(n.rule, n.subject) for n in translation.notes} == {
        ("json-default-parsed", "authors.prefs"),
        ("json-default-parsed", "authors.tags"),
    }
    read_back = on("sqlite", translation.snapshot)
    assert not remaining(source, read_back)
    # A target whose column holds the JSON string "{}" reads that string back: no difference, none made.
    assert "json-default-parsed" not in rules(translate.translate(source, on("sqlite", source)))
    # Another value is a real difference; a string or a text field's default is no JSON object.
    find(read_back, "fields", "authors", "prefs")["schema"]["default_value"] = {"a": 1}
    assert {c.name for c in remaining(source, read_back)} == {"authors.prefs"}
    for field, value in (("prefs", '"{}"'), ("prefs", "{"), ("prefs", "NaN"), ("tags", "7")):
        find(source, "fields", "authors", field)["schema"]["default_value"] = value
    find(source, "fields", "authors", "prefs")["type"] = "text"
    assert "json-default-parsed" not in rules(translate.translate(source, target))


def test_a_json_default_on_a_field_mariadb_reads_as_text_stays_text() -> None:
    """MariaDB reads a json field without `cast-json` back as text (json-as-text): its default too."""
    source, target = on("mysql"), on("mysql")
    source["fields"].append(samples.field("authors", "prefs", "json", data_type="json", default_value="{}"))
    assert "json-default-parsed" not in rules(translate.translate(source, target))
    find(source, "fields", "authors", "prefs")["meta"]["special"] = ["cast-json"]
    assert "json-default-parsed" in rules(translate.translate(source, target))


@pytest.mark.parametrize("vendor", ["sqlite", "postgres"])
def test_a_string_default_read_back_with_its_quotes_doubled_is_the_files(vendor: str) -> None:
    """SQLite and PostgreSQL give Directus a string default as the SQL literal (`'(''P'''`), and it strips
    the outer quotes only: `(''P''` (a public 9.16 file, on 9.26.0 and 12.4.1 SQLite: exit 4). Sending
    that back would store `(''''P''''`: nothing is sent."""
    source, target = on(vendor), on(vendor)
    source["fields"].append(samples.field("authors", "code", default_value="('P'"))
    target["fields"].append(samples.field("authors", "code", default_value="(''P''"))
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert [(n.rule, n.subject) for n in translation.notes] == [("doubled-quote-default", "authors.code")]
    # A new field is sent the file's value.
    assert "doubled-quote-default" not in rules(translate.translate(source, on(vendor)))
    # A field the target alters anyway gets the file's value written again (the target's would double).
    find(source, "fields", "authors", "code")["schema"]["is_nullable"] = False
    assert (
        find(translate.translate(source, target).snapshot, "fields", "authors", "code")["schema"]["default_value"]
        == "('P'"
    )
    # Any other reading is a real difference.
    find(source, "fields", "authors", "code")["schema"]["is_nullable"] = True
    for theirs in ("(''P'", "('P''"):
        find(target, "fields", "authors", "code")["schema"]["default_value"] = theirs
        assert {c.name for c in remaining(source, target)} == {"authors.code"}, theirs


@pytest.mark.parametrize("source_vendor", ["mysql", "postgres"])
@pytest.mark.parametrize("mariadb", [None, False])
def test_a_doubled_reading_on_mysql_is_a_default_a_push_sets(source_vendor: str, mariadb: bool | None) -> None:
    """MariaDB reads a quoted default doubled too (9.26.0 to 12.4.1 measured), but MySQL 8 reads the value
    itself, and Directus calls both `mysql`: there `(''P''` is a column holding that text (what a push of a
    file pulled from PostgreSQL writes), which sending the file's value fixes. So on a target that said it
    is MySQL, or did not say, the reading is not taken."""
    source, target = on(source_vendor), on("mysql")
    source["fields"].append(samples.field("authors", "code", default_value="('P'"))
    target["fields"].append(samples.field("authors", "code", default_value="(''P''"))
    translation = translate.translate(source, target, target_mariadb=mariadb)
    assert "doubled-quote-default" not in rules(translation)
    assert find(translation.snapshot, "fields", "authors", "code")["schema"]["default_value"] == "('P'"
    assert {c.name for c in changes.compare(target, translation.snapshot)} == {"authors.code"}
    assert translation.target_mariadb is mariadb


@pytest.mark.parametrize("source_vendor", ["mysql", "postgres", "sqlite"])
def test_a_doubled_reading_on_a_target_that_said_it_is_mariadb_is_the_files(source_vendor: str) -> None:
    """A `mysql` target whose server said it is MariaDB (its json column reads as longtext) reads a quoted
    default doubled, as SQLite and PostgreSQL do: the reading is the file's value, named by the rule."""
    source, target = on(source_vendor), on("mysql")
    source["fields"].append(samples.field("authors", "code", default_value="('P'"))
    target["fields"].append(samples.field("authors", "code", default_value="(''P''"))
    translation = translate.translate(source, target, target_mariadb=True)
    assert [(n.rule, n.subject) for n in translation.notes if n.rule == "doubled-quote-default"] == [
        ("doubled-quote-default", "authors.code")
    ]
    assert not changes.compare(target, translation.snapshot)
    assert translation.target_mariadb is True
    # Any other reading is still a difference there.
    find(target, "fields", "authors", "code")["schema"]["default_value"] = "(''P'"
    assert {c.name for c in remaining(source, target, target_mariadb=True)} == {"authors.code"}
    # What a non-mysql target is said to be does not matter: the vendor decides.
    assert translate.translate(source, on("postgres"), target_mariadb=True).target_mariadb is None


def test_a_new_json_field_is_named_as_read_back_as_text_unless_the_target_said_it_is_mysql() -> None:
    """MariaDB's json is a longtext (json-as-text); MySQL's json is json."""
    source = on("mysql")
    source["fields"].append(samples.field("authors", "prefs", "json"))
    for mariadb, named in ((None, True), (True, True), (False, False)):
        translation = translate.translate(source, on("mysql"), target_mariadb=mariadb)
        assert ("json-as-text" in rules(translation)) is named, mariadb


def test_now_and_current_timestamp_are_one_default() -> None:
    """Directus writes a `now()` default as the database's current time, and PostgreSQL reads it
    back as `CURRENT_TIMESTAMP` (a public snapshot file on 11.17.4 PostgreSQL)."""
    source, target = on("postgres"), on("postgres")
    source["fields"].append(samples.field("authors", "created", "timestamp", default_value="now()"))
    target["fields"].append(samples.field("authors", "created", "timestamp", default_value="CURRENT_TIMESTAMP"))
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert [(n.rule, n.subject) for n in translation.notes] == [("now-default", "authors.created")]
    # Another default, or none, is a real difference.
    find(source, "fields", "authors", "created")["schema"]["default_value"] = None
    assert {c.name for c in remaining(source, target)} == {"authors.created"}


@pytest.mark.parametrize("source_vendor", ["postgres", "sqlite", "mysql"])
@pytest.mark.parametrize("target_vendor", ["postgres", "sqlite", "mysql"])
def test_the_current_time_crosses_databases_as_a_call_directus_writes(source_vendor: str, target_vendor: str) -> None:
    """Directus writes `now()` and `CURRENT_TIMESTAMP` as the current time on every database (9.26.0 and
    12.4.1 measured), and quotes any other spelling: MariaDB's reading `current_timestamp()` failed on
    PostgreSQL and MariaDB (500) and became a text default on SQLite. Such a default used to be left out
    across databases; it is sent as `now()`."""
    source = on(source_vendor)
    source["fields"] += [
        samples.field("authors", "seen", "timestamp", default_value="now()"),
        samples.field("authors", "made", "dateTime", default_value="current_timestamp()"),
        samples.field("authors", "day", "date", default_value="CURRENT_TIMESTAMP"),
    ]
    for mariadb in (None, True) if target_vendor == "mysql" else (None,):
        translation = translate.translate(source, on(target_vendor), target_mariadb=mariadb)
        sent = {
            f["field"]: f["schema"]["default_value"]
            for f in translation.snapshot["fields"]
            if f["collection"] == "authors"
        }
        assert sent["seen"] == "now()" and sent["made"] == "now()", (target_vendor, mariadb)
        assert {n.subject for n in translation.notes if n.rule == "now-default"} == {"authors.made"}
        # MySQL takes the current time for timestamp and datetime columns only (MariaDB for any).
        dropped = target_vendor == "mysql" and source_vendor != "mysql" and mariadb is None
        assert sent["day"] == (None if dropped else "CURRENT_TIMESTAMP"), (target_vendor, mariadb)


def test_a_field_the_target_alters_anyway_is_sent_the_current_time_as_a_call() -> None:
    """MariaDB reads Directus's `now()` back as `current_timestamp()`; taken for the file's `now()`, it would
    be sent back when the field is altered for another reason, and Directus would quote it (500 on MariaDB,
    part-way). Then `now()` is sent; with nothing else changed, the target's reading stands."""
    source, target = on("mysql"), on("mysql")
    source["fields"].append(samples.field("authors", "seen", "timestamp", default_value="now()"))
    target["fields"].append(samples.field("authors", "seen", "timestamp", default_value="current_timestamp()"))
    assert not remaining(source, target, target_mariadb=True)
    find(source, "fields", "authors", "seen")["schema"]["is_nullable"] = False
    sent = find(translate.translate(source, target, target_mariadb=True).snapshot, "fields", "authors", "seen")
    assert sent["schema"]["default_value"] == "now()"
    # A file pulled from MariaDB holds its reading; sent to a new MariaDB, it is `now()`.
    pulled = on("mysql")
    pulled["fields"].append(samples.field("authors", "seen", "timestamp", default_value="current_timestamp()"))
    made = find(translate.translate(pulled, on("mysql"), target_mariadb=True).snapshot, "fields", "authors", "seen")
    assert made["schema"]["default_value"] == "now()"


def test_a_json_default_read_back_as_its_text_is_the_files() -> None:
    """Directus 9.26.0 on MariaDB reads a json default `{a: 1}` back as the text `{"a":1}` (exit 4 on every
    push from a SQLite or PostgreSQL file); the text of the file's value is that value."""
    source, target = on("postgres", directus="9.26.0"), on("mysql", directus="9.26.0")
    source["fields"].append(samples.field("authors", "prefs", "json", default_value={"a": 1}))
    target["fields"].append(samples.field("authors", "prefs", "json", default_value='{"a":1}'))
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert [(n.rule, n.subject) for n in translation.notes if n.rule == "json-default-parsed"] == [
        ("json-default-parsed", "authors.prefs")
    ]
    # Another value is a difference; so is the text of another one.
    for theirs in ('{"a":2}', "not json", None):
        find(target, "fields", "authors", "prefs")["schema"]["default_value"] = theirs
        assert {c.name for c in remaining(source, target)} == {"authors.prefs"}, theirs
    # A field the target alters anyway is sent the file's value.
    find(target, "fields", "authors", "prefs")["schema"].update(default_value='{"a":1}', is_nullable=False)
    sent = find(translate.translate(source, target).snapshot, "fields", "authors", "prefs")
    assert sent["schema"]["default_value"] == {"a": 1}


def test_a_text_default_is_not_sent_to_mysql_where_directus_never_writes_it() -> None:
    """knex leaves out a TEXT column's default on MySQL/MariaDB (knex/knex#2649): a text field's, and a csv
    field's from 10.7 (a TEXT column there), read back null on 12.4.1 MariaDB, exit 4 on every push."""
    source = on("sqlite")
    source["fields"] += [
        samples.field("authors", "bio", "text", default_value="long text"),
        samples.field("authors", "tags", "csv", default_value="a,b"),
        samples.field("authors", "code", default_value="abc"),
        samples.field("authors", "prefs", "json", default_value={"a": 1}),
    ]
    added = {"bio", "tags", "code", "prefs"}

    def sent(target: dict[str, Any]) -> dict[str, Any]:
        translation = translate.translate(source, target)
        authors = [f for f in translation.snapshot["fields"] if f["collection"] == "authors" and f["field"] in added]
        return {f["field"]: f["schema"]["default_value"] for f in authors} | {
            "noted": {n.subject for n in translation.notes if n.rule == "mysql-text-default"}
        }

    assert sent(on("mysql")) == {
        "bio": None,
        "tags": None,
        "code": "abc",
        "prefs": {"a": 1},
        "noted": {"authors.bio", "authors.tags"},
    }
    # A csv field is a varchar(255) up to 10.6, whose default is written.
    older = sent(on("mysql", directus="10.6.4"))
    assert (older["bio"], older["tags"], older["noted"]) == (None, "a,b", {"authors.bio"})
    # Other databases write it.
    for vendor in ("sqlite", "postgres"):
        assert sent(on(vendor))["noted"] == set()
    # A field the target has keeps its own (null there): no change.
    target = on("mysql")
    target["fields"].append(samples.field("authors", "bio", "text", default_value=None))
    assert "authors.bio" not in {c.name for c in remaining(source, target)}


def test_a_mysql_expression_default_is_the_value_it_holds() -> None:
    """MySQL 8 reports a json column's `DEFAULT (_utf8mb4'{}')` as `_utf8mb4\\'{}\\'`, flagged generated
    (a public snapshot file from 11.5.1 MySQL): sent as it was, SQLite and MariaDB stored that text and
    read it back quoted again, never generated (11.17.4, exit 4). A json field's default is read back
    parsed, a text field's as the string."""
    source, target = on("mysql"), on("sqlite")
    expression = {"default_value": "_utf8mb4\\'{}\\'", "is_generated": True, "generation_expression": None}
    source["fields"].append(samples.field("authors", "data", "json", data_type="json", **expression))
    source["fields"].append(samples.field("authors", "motto", "text", data_type="text", **expression))
    source["fields"][-1]["schema"]["default_value"] = (
        "_utf8mb4\\'it\\\\\\'s\\'"  # it's: the SQL literal, escaped once more
    )
    translation = translate.translate(source, target)  # new fields: what is sent

    sent = translation.snapshot
    data = find(sent, "fields", "authors", "data")["schema"]
    assert (data["default_value"], data["is_generated"]) == ({}, False)
    assert find(sent, "fields", "authors", "motto")["schema"]["default_value"] == "it's"
    assert {(n.rule, n.subject) for n in translation.notes} == {
        ("mysql-expression-default", "authors.data"),
        ("mysql-expression-default", "authors.motto"),
    }
    # What the target reads back after the apply is the snapshot's.
    read_back = copy.deepcopy(find(source, "fields", "authors", "data"))
    read_back["schema"].update(default_value={}, is_generated=False)
    target["fields"].append(read_back)
    assert "authors.data" not in {c.name for c in remaining(source, target)}
    # A target that reads the expression back the same (MySQL 8) keeps it; other defaults are no expressions.
    mysql = on("mysql", source)
    assert "mysql-expression-default" not in rules(translate.translate(source, mysql))
    for plain in ("{}", "draft", "_draft", "_utf8mb4'a'b'"):
        find(source, "fields", "authors", "data")["schema"]["default_value"] = plain
        find(source, "fields", "authors", "motto")["schema"]["default_value"] = plain
        assert "mysql-expression-default" not in rules(translate.translate(source, on("sqlite"))), plain
    # Only a MySQL snapshot says so.
    assert "mysql-expression-default" not in rules(translate.translate(on("postgres", source), on("sqlite")))


def test_a_column_made_outside_directus_on_the_same_database_is_the_targets() -> None:
    """A PostgreSQL `double precision` column for a `float` field (made by hand) reads back `real`
    when Directus makes it: no apply changes that. A type change still shows."""
    source, target = on("postgres"), on("postgres")
    source["fields"].append(samples.field("authors", "x", "float", data_type="double precision", numeric_precision=53))
    target["fields"].append(samples.field("authors", "x", "float", data_type="real", numeric_precision=24))
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert rules(translation) == {"column-representation"}
    find(source, "fields", "authors", "x")["type"] = "decimal"
    assert {c.name for c in remaining(source, target)} == {"authors.x"}


def test_a_collection_listed_without_its_key_keeps_the_id_directus_made() -> None:
    """Directus gives a table it creates without a key its own `id`: before the apply the plan
    names the collection, after it the target's `id` is no field to remove."""
    source = on("postgres")
    source["collections"].append(samples.collection("notes"))
    source["fields"].append(samples.field("notes", "text", "text"))
    empty = on("postgres", {"collections": [], "fields": [], "relations": []})
    before = translate.translate(source, empty)
    assert ("default-primary-key", "notes") in [(n.rule, n.subject) for n in before.notes]

    key = samples.pk("notes")
    target = on("postgres", source)
    target["fields"].append(key)
    after = translate.translate(source, target)
    assert not changes.compare(target, after.snapshot)
    assert [(n.rule, n.subject) for n in after.notes] == [("default-primary-key", "notes.id")]
    # Seen through a /schema/diff answer, which leaves out an auto-increment key's schema.
    seen = copy.deepcopy(target)
    del find(seen, "fields", "notes", "id")["schema"]
    assert [(n.rule, n.subject) for n in translate.translate(source, seen).notes] == [
        ("default-primary-key", "notes.id")
    ]
    # A collection with a key of its own, or a key Directus did not make, is left alone.
    key["schema"]["has_auto_increment"] = False
    assert {c.name for c in remaining(source, target)} == {"notes.id"}


def test_an_untracked_field_the_target_has_but_does_not_list_is_left_out() -> None:
    """Directus 11.17 and 12 leave fields without `meta` out of their snapshots and diffs: one the
    target has (GET /fields says so) is no field to create again; without a server, or where the
    target lacks it, it stays."""
    source, target = on("sqlite"), on("sqlite")
    untracked = samples.field("authors", "legacy")
    untracked["meta"] = None
    source["fields"].append(untracked)
    translation = translate.translate(source, target, target_has_field=lambda c, f: (c, f) == ("authors", "legacy"))
    assert not changes.compare(target, translation.snapshot)
    assert [(n.rule, n.subject) for n in translation.notes] == [("untracked-fields", "authors.legacy")]
    assert {c.name for c in remaining(source, target, target_has_field=lambda c, f: False)} == {"authors.legacy"}
    assert {c.name for c in remaining(source, target)} == {"authors.legacy"}


def test_an_untracked_collection_the_target_has_but_does_not_list_is_left_out() -> None:
    """Directus 11.17 and 12 list neither a collection without `meta` (a table made outside
    Directus) nor its untracked fields, though they list its fields that have a meta: a table the
    target has is no collection to create again (exit 4 on every push before)."""
    source, target = on("sqlite"), on("sqlite")
    source["collections"].append({"collection": "session", "meta": None, "schema": {"name": "session"}})
    key = {**samples.field("session", "sid"), "meta": None}
    tracked = samples.field("session", "data", "text")
    source["fields"] += [key, tracked]
    target["fields"].append(copy.deepcopy(tracked))
    translation = translate.translate(source, target, target_has_field=lambda c, f: c == "session")
    assert not changes.compare(target, translation.snapshot)
    assert [(n.rule, n.subject) for n in translation.notes] == [
        ("untracked-fields", "session.sid"),
        ("untracked-fields", "session"),
    ]
    # Where the target lacks the table, or lists the collection (before 11.17), it stays.
    lacking = remaining(source, target, target_has_field=lambda c, f: False)
    assert {c.name for c in lacking} == {"session", "session.sid"}
    target["collections"].append({"collection": "session", "meta": None, "schema": {"name": "session"}})
    target["fields"].append(copy.deepcopy(key))
    assert not remaining(source, target, target_has_field=lambda c, f: True)


MADE_FIELD_META = {
    "conditions": None,
    "display": None,
    "display_options": None,
    "group": None,
    "hidden": False,
    "interface": None,
    "note": None,
    "options": None,
    "readonly": False,
    "required": False,
    "searchable": True,
    "sort": 3,
    "translations": None,
    "validation": None,
    "validation_message": None,
    "width": "full",
}


@pytest.mark.parametrize(
    ("vendor", "type_", "flag"), [("postgres", "json", "cast-json"), ("sqlite", "timestamp", "cast-timestamp")]
)
def test_a_field_without_meta_is_the_one_directus_makes_and_a_new_one_is_sent_it(
    vendor: str, type_: str, flag: str
) -> None:
    """Directus gives a field of a type it flags (json from 11.16, timestamp on SQLite) a meta of
    its own when it creates it without one (read back so on 9.26.0 to 12.4.1), and fails the apply
    when the field's collection is new in it: the meta is taken on the target and sent for a new one."""
    source, target = on(vendor), on(vendor)
    for snapshot in (source, target):
        snapshot["fields"].append(samples.field("authors", "data", type_))
    find(source, "fields", "authors", "data")["meta"] = None
    find(target, "fields", "authors", "data")["meta"] = {
        **MADE_FIELD_META,
        "collection": "authors",
        "field": "data",
        "special": [flag],
    }
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot)
    assert {(n.rule, n.subject) for n in translation.notes} == {("field-meta-made", "authors.data")}
    del find(source, "fields", "authors", "data")["meta"]  # no meta at all: the same
    assert not remaining(source, target)
    # A meta holding anything Directus does not make by itself is a real difference.
    for key, value in (("interface", "input-code"), ("hidden", True), ("special", [flag, "other"]), ("sort", "1")):
        changed = copy.deepcopy(target)
        find(changed, "fields", "authors", "data")["meta"][key] = value
        assert [c.name for c in remaining(source, changed)] == ["authors.data"], key

    # New, in a new collection and in an existing one: sent the meta Directus makes, named.
    target["fields"].remove(find(target, "fields", "authors", "data"))
    source["collections"].append(samples.collection("session"))
    source["fields"] += [samples.pk("session"), {**samples.field("session", "data", type_), "meta": None}]
    translation = translate.translate(source, target)
    made = {"special": [flag]}
    for collection in ("authors", "session"):
        assert find(translation.snapshot, "fields", collection, "data")["meta"] == {
            "collection": collection,
            "field": "data",
            **made,
        }
    assert {n.subject for n in translation.notes if n.rule == "field-meta-made"} == {"authors.data", "session.data"}


def test_a_json_field_gets_no_made_meta_from_a_release_before_11_16() -> None:
    """@directus/api 33 (11.14.1) and before give a json field no flag: 9.26.0 to 11.3.5 measured
    read it back without meta, and make its collection without failing."""
    for directus, made in (("11.14.1", False), ("11.3.5", False), ("11.16.1", True), ("12.4.1", True)):
        source, target = on("postgres", directus=directus), on("postgres", directus=directus)
        source["fields"].append({**samples.field("authors", "data", "json"), "meta": None})
        sent = find(translate.translate(source, target).snapshot, "fields", "authors", "data")["meta"]
        assert (sent is not None) is made, directus
    # A SQLite timestamp is flagged on every release.
    source, target = on("sqlite", directus="9.26.0"), on("sqlite", directus="9.26.0")
    source["fields"].append({**samples.field("authors", "at", "timestamp"), "meta": None})
    assert find(translate.translate(source, target).snapshot, "fields", "authors", "at")["meta"] == {
        "collection": "authors",
        "field": "at",
        "special": ["cast-timestamp"],
    }


def test_a_negative_length_is_sent_as_none_and_the_targets_is_taken() -> None:
    """Directus 10 and 11 read PostgreSQL's `character varying` without a length as
    `max_length: -5` (louisotieno2001/Dockonekt-referral's session table); sent back, Directus asks
    PostgreSQL for varchar(-5) and the apply fails."""
    source, target = on("postgres", directus="10.13.4"), on("postgres", directus="10.13.4")
    source["fields"].append(samples.field("authors", "sid", max_length=-5))
    translation = translate.translate(source, target)
    assert find(translation.snapshot, "fields", "authors", "sid")["schema"]["max_length"] is None
    assert ("unbounded-varchar", "authors.sid") in {(n.rule, n.subject) for n in translation.notes}
    target["fields"].append(samples.field("authors", "sid"))  # made by Directus: varchar(255)
    assert not remaining(source, target)
    find(target, "fields", "authors", "sid")["schema"]["max_length"] = -5  # the table made outside
    translation = translate.translate(source, target)
    assert not changes.compare(target, translation.snapshot) and not translation.notes


def test_a_pulled_default_is_written_as_the_column_stores_it() -> None:
    """SQLite and PostgreSQL read a string default with its quotes doubled (`(''P''` for a column
    storing `('P'`): `pull` writes the stored value, which pushes the same default anywhere, and
    is the doubled-quote-default case on the server it came from."""
    for vendor in ("sqlite", "postgres"):
        server = on(vendor)
        server["fields"] += [
            samples.field("authors", "code", default_value="(''P''"),
            samples.field("authors", "quote", default_value="''"),  # stores one quote
            samples.field("authors", "expression", default_value="nextval('authors_id_seq'::regclass)"),
            samples.field("authors", "odd", default_value="it'''s"),  # not every quote doubled: no literal
        ]
        pulled = translate.as_stored(server)
        defaults = {f["field"]: f["schema"]["default_value"] for f in pulled["fields"] if f["collection"] == "authors"}
        assert (defaults["code"], defaults["quote"]) == ("('P'", "'"), vendor
        assert defaults["expression"] == "nextval('authors_id_seq'::regclass)" and defaults["odd"] == "it'''s"
        assert find(server, "fields", "authors", "code")["schema"]["default_value"] == "(''P''"  # not changed
        assert not remaining(pulled, server)  # the file pulled from it: no change there
    mysql = on("mysql")
    mysql["fields"].append(samples.field("authors", "code", default_value="(''P''"))
    # MariaDB doubles, MySQL 8 does not: left as read unless the server said it is MariaDB.
    assert translate.as_stored(mysql) == mysql
    assert translate.as_stored(mysql, mariadb=False) == mysql
    stored = translate.as_stored(mysql, mariadb=True)
    assert find(stored, "fields", "authors", "code")["schema"]["default_value"] == "('P'"
    assert not remaining(stored, mysql, target_mariadb=True)
