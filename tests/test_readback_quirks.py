"""What a Directus release and database read back differently from what was applied, on real
servers: each is a documented translation rule, and a push of a file that meets it converges
(exit 0, the next plan empty, and that plan names the rule it relied on).

Each test pulls the demo model from a seeded server, edits the file as another database, release
or tool would have written it, and pushes it into an empty server of the same release and
database (so no other rule is needed, and none is hiding the case).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from typing import Any

import demo_model
import httpx
import pytest

from directus_gitops.files import store, yamlio
from tests.conftest import Project
from tests.directus_harness import ServerPool
from tests.samples import find

pytestmark = pytest.mark.directus

Snapshot = dict[str, Any]


def converges(
    project: Project,
    pool: ServerPool,
    cell: tuple[str, str],
    edit: Callable[[Snapshot], None],
    then: Callable[[], None] | None = None,
) -> tuple[str, dict[str, set[str]]]:
    """Push the edited demo model into an empty server of ``cell``; the text of the first plan,
    and the rules (with their subjects) the plan after the push relied on. ``then`` runs last,
    the servers still up."""
    version, vendor = cell
    with (
        pool.new_server(version, seeded=True, vendor=vendor) as dev,
        pool.new_server(version, vendor=vendor) as prod,
    ):
        project.configure(dev=dev.url, prod=prod.url)
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "dev").code == 0
        snapshot = store.load_path(project.schema).snapshot
        edit(snapshot)
        store.write_tree(project.schema, store.render(snapshot))
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "the model, as another tool wrote it")

        first = project.run("plan", "--env", "prod")
        assert first.code == 0, first.output
        pushed = project.run("push", "--env", "prod", "--yes", "--no-backup")
        assert pushed.code == 0, pushed.output
        assert "Done: 'prod' now matches HEAD" in pushed.err

        planned = project.run("plan", "--env", "prod", "--exit-code", "--format", "json")
        assert planned.code == 0, planned.output
        document = json.loads(planned.out)
        assert document["changes"] == []
        again = project.run("push", "--env", "prod", "--yes", "--no-backup")
        assert again.code == 0, again.output
        used = {rule["rule"]: {item["subject"] for item in rule["items"]} for rule in document["translation"]}
        if then is not None:
            then()
        return first.out, used


def test_a_json_field_without_cast_json_converges_on_mariadb(project: Project, directus_pool: ServerPool) -> None:
    """Directus 11.3.5 on MariaDB reads `type: json` without `cast-json` back as `text`: the first
    push exited 4, every later one refused `text → json` as data loss."""

    def edit(snapshot: Snapshot) -> None:
        find(snapshot, "fields", "products", "specs")["meta"]["special"] = None

    before, used = converges(project, directus_pool, ("11.3.5", "mariadb"), edit)
    assert "(json-as-text): 1 × products.specs" in before  # named before the apply, which creates the field
    assert used["json-as-text"] == {"products.specs"}


def test_unique_columns_read_back_indexed_on_sqlite_11(project: Project, directus_pool: ServerPool) -> None:
    """Directus 11.3.5 on SQLite reads unique columns (uuid and text primary keys included) back as
    `is_indexed: true`. A file saying false for its keys (as PostgreSQL and 12.x report them)
    exited 4, then 1 ('no such index'); the unique fields it pulled itself (unique and indexed)
    read back as not unique after an apply."""

    def edit(snapshot: Snapshot) -> None:
        for name in (("articles", "id"), ("languages", "code")):
            find(snapshot, "fields", *name)["schema"]["is_indexed"] = False

    before, used = converges(project, directus_pool, ("11.3.5", "sqlite"), edit)
    assert "(sqlite-unique-indexed): 4 × " in before  # slug, email, sku, name: sent without a second index
    assert used["sqlite-unique-indexed"] == {"articles.id", "languages.code"}


CONSTRAINT_CELLS = [("11.3.5", "sqlite"), ("11.3.5", "mariadb"), ("12.4.1", "postgres")]


@pytest.mark.parametrize("cell", CONSTRAINT_CELLS, ids=[f"{v}-{d}" for v, d in CONSTRAINT_CELLS])
def test_a_constraint_name_directus_would_not_choose_converges(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """Directus names the constraints it makes (`articles_author_foreign`): a file naming another
    (`articles_authors_id_foreign`, as other tools do) stayed a difference on every push."""

    def edit(snapshot: Snapshot) -> None:
        find(snapshot, "relations", "articles", "author")["schema"]["constraint_name"] = "articles_authors_id_foreign"

    _, used = converges(project, directus_pool, cell, edit)
    assert used["foreign-key-names"] == {"articles.author"}


DIRECTUS_MAKES_CELLS = [("12.4.1", "sqlite"), ("11.17.4", "postgres")]


@pytest.mark.parametrize("cell", DIRECTUS_MAKES_CELLS, ids=[f"{v}-{d}" for v, d in DIRECTUS_MAKES_CELLS])
def test_what_directus_makes_of_a_table_it_did_not_make_converges(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """A public snapshot file (T0mLund/Diamond, 11.17.4 PostgreSQL) made its tables by hand:
    collections listed without their key, `now()` defaults, `double precision` for a float. Directus
    adds its own `id`, and makes `CURRENT_TIMESTAMP` and its own float column: exit 4 before."""

    def edit(snapshot: Snapshot) -> None:
        snapshot["fields"].remove(find(snapshot, "fields", "articles_tags", "id"))
        find(snapshot, "fields", "articles", "published_at")["schema"]["default_value"] = "now()"
        weight = json.loads(json.dumps(find(snapshot, "fields", "products", "stock")))
        weight["field"] = weight["meta"]["field"] = weight["schema"]["name"] = "weight"
        weight["type"] = "float"
        weight["schema"].update(data_type="double precision", numeric_precision=53, numeric_scale=None)
        snapshot["fields"].append(weight)

    before, used = converges(project, directus_pool, cell, edit)
    assert "(default-primary-key): 1 × articles_tags" in before  # named before the apply creates it
    assert used["default-primary-key"] == {"articles_tags.id"}
    assert used["column-representation"] == {"products.weight"}
    if cell[1] == "postgres":
        assert used["now-default"] == {"articles.published_at"}


@pytest.mark.parametrize("cell", DIRECTUS_MAKES_CELLS, ids=[f"{v}-{d}" for v, d in DIRECTUS_MAKES_CELLS])
def test_a_relation_on_an_untracked_field_converges(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """A field without `meta` (a column Directus does not track, as 11.5 wrote them) with a
    relation on it (a public snapshot file, Huyen1974/web-test): 11.17 and 12 apply it, then leave
    the field out of their snapshots but not the relation, and every read of the target was
    refused ('a snapshot check refuses')."""

    def edit(snapshot: Snapshot) -> None:
        field = json.loads(json.dumps(find(snapshot, "fields", "articles", "author")))
        field["field"] = field["schema"]["name"] = "editor"
        field["meta"] = None
        relation = json.loads(json.dumps(find(snapshot, "relations", "articles", "author")))
        relation["field"] = relation["meta"]["many_field"] = relation["schema"]["column"] = "editor"
        relation["schema"]["constraint_name"] = "articles_editor_foreign"
        relation["meta"]["one_field"] = None
        snapshot["fields"].append(field)
        snapshot["relations"].append(relation)

    def pull_it_back() -> None:  # a full read of the target, as `pull` and `plan --force` make
        pulled = project.run("pull", "--env", "prod")
        assert pulled.code == 0, pulled.output
        assert find(store.load_path(project.schema).snapshot, "fields", "articles", "editor")["meta"] is None

    converges(project, directus_pool, cell, edit, pull_it_back)


def test_what_a_hand_written_file_leaves_out_converges(project: Project, directus_pool: ServerPool) -> None:
    """Public snapshot files (rvanoord/directus-prototype, magnetoid/gornji-milanovac-new,
    devspelunk/personal-site) hold relations with `meta: null` or none (Directus writes a meta for
    every relation it creates), junction fields without `meta` (10.x lists them `meta: null`) and a
    collection `meta` with 2 of its keys: exit 4 on their own release. A meta set by hand still shows."""

    def edit(snapshot: Snapshot) -> None:
        find(snapshot, "relations", "products", "category")["meta"] = None
        del find(snapshot, "relations", "categories", "parent")["meta"]
        del find(snapshot, "fields", "articles_tags", "tags_id")["meta"]
        del find(snapshot, "fields", "tags", "name")["schema"]  # (antikkorps/siteCorpo3: 63 such fields)
        tags = find(snapshot, "collections", "tags")
        tags["meta"] = {key: tags["meta"][key] for key in ("singleton", "accountability")}

    def a_set_meta_still_shows() -> None:
        snapshot = store.load_path(project.schema).snapshot
        find(snapshot, "relations", "articles", "author")["meta"] = None  # one_field: articles, on the target
        store.write_tree(project.schema, store.render(snapshot))
        project.git("commit", "--quiet", "-am", "a relation without the meta the target holds")
        planned = project.run("plan", "--env", "prod", "--exit-code", "--format", "json")
        assert planned.code == 2, planned.output
        assert [change["name"] for change in json.loads(planned.out)["changes"]] == ["articles.author → authors"]

    before, used = converges(project, directus_pool, ("10.13.4", "sqlite"), edit, a_set_meta_still_shows)
    assert "(relation-meta-made): 2 × categories.parent, products.category" in before  # named before the apply
    assert used["relation-meta-made"] == {"categories.parent", "products.category"}
    assert {"tags", "articles_tags.tags_id", "tags.name"} <= used["absent-properties"]


def test_a_file_written_with_some_properties_converges_from_its_own_release(
    project: Project, directus_pool: ServerPool
) -> None:
    """A public file (devspelunk/personal-site, 10.13.4 PostgreSQL) gives its fields, collections and
    relations a few properties each. Pushed from the file to its own release and database without
    --force, the push was planned and checked from Directus's diff alone, which reports what the file
    leaves out as removed: after a correct apply, exit 4 (all 184 public files measured again). Such a
    file is planned from the target read in full, where absent-properties takes the target's."""
    kept = ("name", "table", "data_type", "is_nullable", "is_primary_key", "has_auto_increment")
    with (
        directus_pool.new_server("10.13.4", seeded=True, vendor="postgres") as dev,
        directus_pool.new_server("10.13.4", vendor="postgres") as prod,
    ):
        snapshot = demo_model.snapshot(dev.url, dev.token)
        for field in snapshot["fields"]:
            if isinstance(field.get("schema"), dict):
                field["meta"] = {"interface": field["meta"]["interface"]} if field.get("meta") else None
                field["schema"] = {key: value for key, value in field["schema"].items() if key in kept}
        for collection in snapshot["collections"]:
            if collection.get("meta"):
                collection["meta"] = {key: collection["meta"][key] for key in ("icon", "note")}
        for relation in snapshot["relations"]:
            del relation["meta"]
        project.configure(prod=prod.url)
        project.token("prod", prod.token)

        _, used = pushed_from_file(project, snapshot)
    assert {"tags.name", "authors.name", "tags"} <= used["absent-properties"]


def pushed_from_file(project: Project, snapshot: Snapshot) -> tuple[str, dict[str, set[str]]]:
    """Push ``snapshot`` from a file into the environment `prod`: exit 0, and the plan after it
    empty. The push's output, and the rules (with their subjects) that plan relied on."""
    path = project.root / "model.yaml"
    path.write_text(yamlio.dump(snapshot))
    pushed = project.run("push", "--env", "prod", "--yes", "--no-backup", "--from", str(path))
    assert pushed.code == 0, pushed.output
    planned = project.run("plan", "--env", "prod", "--exit-code", "--format", "json", "--from", str(path))
    assert planned.code == 0, planned.output
    document = json.loads(planned.out)
    assert document["changes"] == []
    return pushed.out, {rule["rule"]: {item["subject"] for item in rule["items"]} for rule in document["translation"]}


def test_a_mysql_expression_default_converges_and_gives_new_rows_its_value(
    project: Project, directus_pool: ServerPool
) -> None:
    """MySQL 8 reports a json column's `DEFAULT (_utf8mb4'{}')` as `_utf8mb4\\'{}\\'`, flagged generated
    (a public snapshot file, Huyen1974/web-test, 11.5.1 MySQL). Sent as it was, 11.17.4 stored that
    text as the default, read it back quoted again (`_utf8mb4\\''{}\\''` on SQLite; MariaDB, measured
    with the file, `_utf8mb4\\\\\\'{}\\\\\\'`) and not generated: exit 4 on every push. One server: the
    model is made on it, then the field is dropped and pushed from a MySQL file."""
    with directus_pool.new_server("11.17.4") as server:
        project.configure(prod=server.url)
        project.token("prod", server.token)
        demo_model.create_collection(server.url, server.token, "inbox")
        demo_model.add_field(
            server.url,
            server.token,
            "inbox",
            "data",
            "json",
            meta={"interface": "input-code", "special": ["cast-json"]},
        )
        snapshot = demo_model.snapshot(server.url, server.token)
        demo_model.delete_field(server.url, server.token, "inbox", "data")
        snapshot["vendor"] = "mysql"
        find(snapshot, "fields", "inbox", "data")["schema"].update(
            default_value="_utf8mb4\\'{}\\'", is_generated=True, generation_expression=None
        )
        pushed, _ = pushed_from_file(project, snapshot)
        assert "(mysql-expression-default): 1 × inbox.data" in pushed
        # What a new row gets: the JSON object, not the expression's text.
        with contextlib.closing(sqlite3.connect(server.database)) as database:
            columns = {row[1]: row[4] for row in database.execute("PRAGMA table_info(inbox)")}
        assert columns["data"] == "'{}'"


CSV_CELLS = [("11.17.4", "sqlite"), ("11.17.4", "postgres")]


@pytest.mark.parametrize("cell", CSV_CELLS, ids=[f"{v}-{d}" for v, d in CSV_CELLS])
def test_a_csv_column_an_older_release_made_converges(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """A csv field that a 9.x/10.6 Directus made as varchar(255) (a public snapshot file,
    specialmindsaarhus/specialmindsaarhus.github.io, 11.15.4 PostgreSQL) reads back as text without a
    length on 11.17.4: exit 4, then every plan proposed `shrinks max_length none → 255`."""
    version, vendor = cell
    with directus_pool.new_server(version, vendor=vendor) as server:
        project.configure(prod=server.url)
        project.token("prod", server.token)
        tags = {"field": "tags", "type": "csv", "meta": {"interface": "tags", "special": ["cast-csv"]}, "schema": {}}
        demo_model.create_collection(server.url, server.token, "pages", fields=[tags])
        snapshot = demo_model.snapshot(server.url, server.token)
        demo_model.delete_collection(server.url, server.token, "pages")
        assert find(snapshot, "fields", "pages", "tags")["schema"]["max_length"] is None  # Directus made text
        varchar = "character varying" if vendor == "postgres" else "varchar"
        find(snapshot, "fields", "pages", "tags")["schema"].update(data_type=varchar, max_length=255)

        _, used = pushed_from_file(project, snapshot)
        assert used["column-representation"] == {"pages.tags"}


INTEGER_KEY_CELLS = [("10.13.4", "sqlite"), ("12.4.1", "sqlite")]


@pytest.mark.parametrize("cell", INTEGER_KEY_CELLS, ids=[f"{v}-{d}" for v, d in INTEGER_KEY_CELLS])
def test_a_big_integer_auto_increment_key_converges_on_sqlite(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """SQLite auto-increments only an integer key: a bigInteger one from PostgreSQL (a public
    snapshot file, arnulfoacevedo/directus-operation-extension-ts) read back as integer on
    10.13.4 SQLite, exit 4 on every push."""
    version, vendor = cell
    with directus_pool.new_server(version, vendor=vendor) as server:
        project.configure(prod=server.url)
        project.token("prod", server.token)
        demo_model.create_collection(server.url, server.token, "orders")
        snapshot = demo_model.snapshot(server.url, server.token)
        demo_model.delete_collection(server.url, server.token, "orders")
        key = find(snapshot, "fields", "orders", "id")
        key["type"] = "bigInteger"
        key["schema"]["data_type"] = "bigint"

        pushed, used = pushed_from_file(project, snapshot)
        assert "(sqlite-integer-keys): 1 × orders.id" in pushed  # named before the apply creates it
        assert used["sqlite-integer-keys"] == {"orders.id"}
        assert find(demo_model.snapshot(server.url, server.token), "fields", "orders", "id")["type"] == "integer"


ON_UPDATE_CELLS = [("9.26.0", "sqlite"), ("10.13.4", "sqlite")]


@pytest.mark.parametrize("cell", ON_UPDATE_CELLS, ids=[f"{v}-{d}" for v, d in ON_UPDATE_CELLS])
def test_on_update_converges_where_directus_ignores_it(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """Directus before 10.11 makes a foreign key without the relation's on_update: a RESTRICT from
    MySQL (a public snapshot file, sacconazzo/directus-monorepo-cicd-boilerplate) read back as NO
    ACTION on 9.26.0 SQLite, exit 4 on every push. 10.13.4 makes what the file says."""
    version, vendor = cell
    with directus_pool.new_server(version, vendor=vendor) as server:
        project.configure(prod=server.url)
        project.token("prod", server.token)
        owner = {"field": "owner", "type": "uuid", "meta": {"interface": "select-dropdown-m2o"}, "schema": {}}
        demo_model.create_collection(server.url, server.token, "notes", fields=[owner])
        demo_model.add_relation(server.url, server.token, "notes", "owner", "directus_users")
        snapshot = demo_model.snapshot(server.url, server.token)
        demo_model.delete_collection(server.url, server.token, "notes")
        find(snapshot, "relations", "notes", "owner")["schema"]["on_update"] = "CASCADE"

        pushed, used = pushed_from_file(project, snapshot)
        made = find(demo_model.snapshot(server.url, server.token), "relations", "notes", "owner")["schema"]
        if version == "9.26.0":
            assert "(on-update-ignored): 1 × notes.owner" in pushed  # named before the apply
            assert used["on-update-ignored"] == {"notes.owner"}
            assert made["on_update"] == "NO ACTION"
        else:
            assert "on-update-ignored" not in pushed
            assert made["on_update"] == "CASCADE"


def test_a_json_default_given_as_text_converges(project: Project, directus_pool: ServerPool) -> None:
    """A json field's default `"{}"` (a string; a public snapshot file, soleilrakotonirina/AI-DATA-SKILL-SYSTEM,
    11.17.4 SQLite) is stored as the text `{}` and read back as the object `{}`: exit 4 on every push,
    on the file's own release and database."""
    with directus_pool.new_server("11.17.4") as server:
        project.configure(prod=server.url)
        project.token("prod", server.token)
        demo_model.create_collection(server.url, server.token, "inbox")
        demo_model.add_field(server.url, server.token, "inbox", "prefs", "json", meta={"special": ["cast-json"]})
        snapshot = demo_model.snapshot(server.url, server.token)
        demo_model.delete_field(server.url, server.token, "inbox", "prefs")
        find(snapshot, "fields", "inbox", "prefs")["schema"]["default_value"] = "{}"

        assert "(json-default-parsed): 1 × inbox.prefs" in pushed_from_file(project, snapshot)[0]
        with contextlib.closing(sqlite3.connect(server.database)) as database:
            columns = {row[1]: row[4] for row in database.execute("PRAGMA table_info(inbox)")}
        assert columns["prefs"] == "'{}'"  # what a new row gets: the empty object


QUOTE_CELLS = [("9.26.0", "sqlite"), ("12.4.1", "sqlite"), ("12.4.1", "postgres")]


def _with_inbox_code_unmade(project: Project, server: Any) -> Snapshot:
    """``server`` as the environment `prod` with a collection `inbox`; its snapshot with a string
    field `inbox.code` the server does not have (made and read, then deleted)."""
    project.configure(prod=server.url)
    project.token("prod", server.token)
    demo_model.create_collection(server.url, server.token, "inbox")
    demo_model.add_field(server.url, server.token, "inbox", "code")
    snapshot = demo_model.snapshot(server.url, server.token)
    demo_model.delete_field(server.url, server.token, "inbox", "code")
    return snapshot


@pytest.mark.parametrize("cell", QUOTE_CELLS, ids=[f"{v}-{d}" for v, d in QUOTE_CELLS])
def test_a_string_default_holding_a_quote_converges_without_doubling_it(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """A string default holding `'` (`('P'`, a public snapshot file, Nugraha-Xcode/sipulau) is stored
    right (`'(''P'''`) and read back with its quotes doubled, `(''P''`: exit 4 on every push. Sent back,
    the doubled value would be doubled again; an alter of the field must write the file's value."""
    version, vendor = cell
    with directus_pool.new_server(version, vendor=vendor) as server:
        snapshot = _with_inbox_code_unmade(project, server)
        schema = find(snapshot, "fields", "inbox", "code")["schema"]
        schema.update(default_value="('P'", is_nullable=False)

        pushed_from_file(project, snapshot)
        schema["is_nullable"] = True  # an alter: Directus writes the default again from what it is sent
        pushed_from_file(project, snapshot)

        theirs = find(demo_model.snapshot(server.url, server.token), "fields", "inbox", "code")["schema"]
        assert (theirs["default_value"], theirs["is_nullable"]) == ("(''P''", True)  # doubled once, by the reader
        planned = project.run("plan", "--env", "prod", "--from", str(project.root / "model.yaml"))
        assert "(doubled-quote-default): 1 × inbox.code" in planned.out


MARIADB_QUOTE_RELEASES = ["11.17.4", "12.4.1"]


@pytest.mark.parametrize("version", MARIADB_QUOTE_RELEASES)
def test_a_string_default_holding_a_quote_converges_on_mariadb(
    project: Project, directus_pool: ServerPool, version: str
) -> None:
    """MariaDB reads `('P'` back doubled too, `(''P''`; MySQL 8 would read that text as itself, and
    Directus calls both `mysql` (see the rule). Directus's own json column reads `longtext` on MariaDB,
    so the tool knows it is MariaDB: the push converges (before, every push exited 4), the column's
    default is right, `status` sees no drift, and `pull` writes the stored value."""
    with directus_pool.new_server(version, vendor="mariadb") as server:
        snapshot = _with_inbox_code_unmade(project, server)
        find(snapshot, "fields", "inbox", "code")["schema"]["default_value"] = "('P'"
        path = project.root / "model.yaml"
        path.write_text(yamlio.dump(snapshot))
        assert server.connection is not None
        stored = (
            "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'inbox' AND COLUMN_NAME = 'code'"
        )

        for _ in range(2):
            pushed = project.run("push", "--env", "prod", "--yes", "--no-backup", "--from", str(path))
            assert pushed.code == 0, pushed.output
            column = directus_pool.database_server("mariadb").execute(server.connection.database, stored)
            assert column.strip() == "'(''P'''"  # the SQL literal of ('P': right, never doubled again
            theirs = find(demo_model.snapshot(server.url, server.token), "fields", "inbox", "code")["schema"]
            assert theirs["default_value"] == "(''P''"  # (the reading the rule is about)
        planned = project.run("plan", "--env", "prod", "--exit-code", "--format", "json", "--from", str(path))
        assert planned.code == 0, planned.output
        document = json.loads(planned.out)
        assert document["changes"] == []
        assert "doubled-quote-default" in {rule["rule"] for rule in document["translation"]}

        assert project.run("pull", "--env", "prod").code == 0
        pulled = find(store.load_path(project.schema).snapshot, "fields", "inbox", "code")["schema"]
        assert pulled["default_value"] == "('P'"  # as stored
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "inbox")
        status = project.run("status", "--env", "prod", "--exit-code")
        assert status.code == 0, status.output  # current, not drifted
        assert project.run("plan", "--env", "prod", "--exit-code").code == 0


FUNCTION_DEFAULT_CELLS = [("10.13.4", "postgres"), ("12.4.1", "postgres")]


@pytest.mark.parametrize("cell", FUNCTION_DEFAULT_CELLS, ids=[f"{v}-{d}" for v, d in FUNCTION_DEFAULT_CELLS])
def test_a_function_default_converges_on_postgresql(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """Directus 10.13.4 on PostgreSQL writes a uuid field's `gen_random_uuid()` default as a string
    (`default 'gen_random_uuid()'`): 500 'invalid input syntax for type uuid', nothing applied (public
    files devspelunk/personal-site, rendydig/epicode-fullstacks-developer-test). From 11.1 Directus writes
    that one call itself; `uuid_generate_v4()` never."""
    version, vendor = cell
    with directus_pool.new_server(version, vendor=vendor) as server:
        project.configure(prod=server.url)
        project.token("prod", server.token)
        demo_model.create_collection(server.url, server.token, "inbox")
        for name in ("token", "ref"):
            demo_model.add_field(server.url, server.token, "inbox", name, "uuid")
        snapshot = demo_model.snapshot(server.url, server.token)
        for name in ("token", "ref"):
            demo_model.delete_field(server.url, server.token, "inbox", name)
        find(snapshot, "fields", "inbox", "token")["schema"]["default_value"] = "gen_random_uuid()"
        find(snapshot, "fields", "inbox", "ref")["schema"]["default_value"] = "uuid_generate_v4()"

        pushed, _ = pushed_from_file(project, snapshot)
        theirs = find(demo_model.snapshot(server.url, server.token), "fields", "inbox", "token")["schema"]
        if version == "10.13.4":
            assert "(function-defaults): 2 × inbox.token, inbox.ref" in pushed
            assert theirs["default_value"] is None
        else:
            assert "(function-defaults): 1 × inbox.ref" in pushed
            assert theirs["default_value"] == "gen_random_uuid()"


def test_properties_a_file_claiming_the_targets_release_cannot_have_converge(
    project: Project, directus_pool: ServerPool
) -> None:
    """A file that says 9.26.0 but holds 10.x collection properties (a public snapshot file,
    GemeinschaftswerkNachhaltigkeit/landingpage): 9.26.0 ignores them in the apply, exit 4 on every push."""

    def edit(snapshot: Snapshot) -> None:
        find(snapshot, "collections", "tags")["meta"].update(preview_url="https://example.com/{{id}}", versioning=True)

    before, used = converges(project, directus_pool, ("9.26.0", "sqlite"), edit)
    assert "(release-only-properties): 1 × tags" in before
    assert used["release-only-properties"] == {"tags"}


# 12.4.1 flags json and (SQLite) timestamp; 10.13.4 flags only SQLite's timestamp.
MADE_META_CELLS = [("12.4.1", "sqlite"), ("12.4.1", "postgres"), ("10.13.4", "sqlite")]


@pytest.mark.parametrize("cell", MADE_META_CELLS, ids=[f"{v}-{d}" for v, d in MADE_META_CELLS])
def test_a_new_collection_with_flagged_fields_without_meta_converges(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """A session store's table, as public snapshot files list tables made outside Directus
    (louisotieno2001/Hustlerati-webapp, MetaFactoryAI/mf-app): a key, a json and a timestamp
    column, none with meta. Directus alone fails creating the collection where it flags one of
    them (it gives the field a meta without the collection's name); the push sends the meta
    Directus makes for such a field, and converges."""
    version, vendor = cell
    with directus_pool.new_server(version, seeded=True, vendor=vendor) as prod:
        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        headers = {"Authorization": f"Bearer {prod.token}"}
        model = demo_model.snapshot(prod.url, prod.token)
        model["collections"].append({"collection": "session", "meta": None, "schema": {"name": "session"}})
        for name, kind, schema in (
            ("sid", "string", {"data_type": "varchar", "max_length": 255, "is_primary_key": True}),
            ("sess", "json", {"data_type": "json" if vendor != "sqlite" else "text"}),
            ("expire", "timestamp", {"data_type": "timestamp with time zone" if vendor != "sqlite" else "datetime"}),
        ):
            model["fields"].append(
                {
                    "collection": "session",
                    "field": name,
                    "type": kind,
                    "meta": None,
                    "schema": {"name": name, "table": "session", "is_nullable": name != "sid", **schema},
                }
            )
        release = tuple(int(part) for part in version.split("."))
        flagged = {"sess": "cast-json"} if release >= (11, 16) else {}
        if vendor == "sqlite":
            flagged["expire"] = "cast-timestamp"

        alone = httpx.post(f"{prod.url}/schema/diff?force=true", json=model, headers=headers).json()["data"]
        failed = httpx.post(f"{prod.url}/schema/apply", json=alone, headers=headers)
        assert failed.status_code == 400 and "NOT_NULL_VIOLATION" in failed.text, failed.text  # Directus alone

        out, used = pushed_from_file(project, model)
        assert used["field-meta-made"] == {f"session.{name}" for name in flagged}
        if release >= (11, 17):  # which lists neither the table without meta nor its untracked fields
            assert {"session", "session.sid"} <= used["untracked-fields"]
        assert "field-meta-made" in out  # named before the apply
        fields = httpx.get(f"{prod.url}/fields/session", headers=headers).json()["data"]
        assert {f["field"]: (f["meta"] or {}).get("special") for f in fields} == {
            "sid": None,
            "sess": [flagged["sess"]] if "sess" in flagged else None,
            "expire": [flagged["expire"]] if "expire" in flagged else None,
        }

        # 11.17+ lists the fields with a meta but not their table: read whole (a backup, a pull),
        # the target was refused ("collection 'session' is not defined").
        find(model, "fields", "tags", "name")["meta"]["note"] = "a change, so the push takes its backup"
        path = project.root / "model.yaml"
        path.write_text(yamlio.dump(model))
        backed_up = project.run("push", "--env", "prod", "--yes", "--from", str(path))
        assert backed_up.code == 0, backed_up.output
        assert list((project.root / ".directus-gitops" / "backups").glob("*")), backed_up.output
        pulled = project.run("pull", "--env", "prod")
        assert pulled.code == 0, pulled.output
        assert find(store.load_path(project.schema).snapshot, "collections", "session")["meta"] is None
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "pulled")
        planned = project.run("plan", "--env", "prod", "--exit-code")
        assert planned.code == 0, planned.output


def test_a_varchar_without_length_converges_on_postgresql(project: Project, directus_pool: ServerPool) -> None:
    """Directus 10.13.4 reads PostgreSQL's `character varying` without a length as `max_length:
    -5` (a public file's session table, louisotieno2001/Dockonekt-referral): pushed back, Directus
    asked PostgreSQL for varchar(-5), and the apply failed (500, syntax error)."""
    with directus_pool.new_server("10.13.4", seeded=True, vendor="postgres") as prod:
        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        model = demo_model.snapshot(prod.url, prod.token)
        field = json.loads(json.dumps(find(model, "fields", "tags", "name")))
        field["field"] = field["meta"]["field"] = field["schema"]["name"] = "legacy"
        field["meta"].pop("id", None)
        field["meta"]["required"] = False
        field["schema"].update(max_length=-5, is_unique=False, is_nullable=True, default_value=None)
        model["fields"].append(field)
        out, used = pushed_from_file(project, model)
        assert "unbounded-varchar" in out  # named before the apply
        assert used["unbounded-varchar"] == {"tags.legacy"}


def test_a_pulled_string_default_holding_a_quote_reaches_another_server_as_stored(
    project: Project, directus_pool: ServerPool
) -> None:
    """`pull` wrote the reading (`(''P''`, quotes doubled) of a default stored as `('P'`: pushed to a
    new server (SQLite → PostgreSQL), the column then stored `(''P''`, and the plan said nothing,
    since the new reading was the doubled form of the file's (doubled-quote-default)."""
    with (
        directus_pool.new_server("12.4.1", vendor="sqlite") as dev,
        directus_pool.new_server("12.4.1", vendor="postgres") as prod,
    ):
        project.configure(dev=dev.url, prod=prod.url)
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        demo_model.create_collection(dev.url, dev.token, "inbox")
        demo_model.add_field(dev.url, dev.token, "inbox", "code", schema={"default_value": "('P'"})
        reading = find(demo_model.snapshot(dev.url, dev.token), "fields", "inbox", "code")["schema"]["default_value"]
        assert reading == "(''P''"  # (the reader's doubling, which the test relies on)

        assert project.run("pull", "--env", "dev").code == 0
        assert (
            find(store.load_path(project.schema).snapshot, "fields", "inbox", "code")["schema"]["default_value"]
            == "('P'"
        )  # as stored
        again = project.run("pull", "--env", "dev")
        assert again.code == 0 and "nothing changed" in again.err  # byte-stable
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "inbox")
        pushed = project.run("push", "--env", "prod", "--yes", "--no-backup")
        assert pushed.code == 0, pushed.output
        theirs = find(demo_model.snapshot(prod.url, prod.token), "fields", "inbox", "code")["schema"]
        assert theirs["default_value"] == reading  # stored as on dev, read back alike
        planned = project.run("plan", "--env", "prod", "--exit-code")
        assert planned.code == 0, planned.output


def test_a_current_time_default_pulled_from_mariadb_reaches_any_database(
    project: Project, directus_pool: ServerPool
) -> None:
    """MariaDB reads Directus's `now()` back as `current_timestamp()`, which `pull` writes. Directus writes
    the current time as a call only for `now()` and `CURRENT_TIMESTAMP` and quotes any other spelling: the
    pulled file failed on a new MariaDB (500 `Invalid default value`, part-way: no transactional DDL) and
    on PostgreSQL, and gave SQLite a text default. Sent as `now()` (now-default), it converges on all three,
    each keeping the current time as the default (before, another database had it left out)."""
    with contextlib.ExitStack() as servers:
        dev = servers.enter_context(directus_pool.new_server("12.4.1", vendor="mariadb"))
        targets = {
            vendor: servers.enter_context(directus_pool.new_server("12.4.1", vendor=vendor))
            for vendor in ("mariadb", "sqlite", "postgres")
        }
        project.configure(dev=dev.url, **{f"prod_{vendor}": server.url for vendor, server in targets.items()})
        project.token("dev", dev.token)
        for vendor, server in targets.items():
            project.token(f"prod_{vendor}", server.token)
        demo_model.create_collection(dev.url, dev.token, "inbox")
        for name, kind in (("seen", "timestamp"), ("made", "dateTime")):
            demo_model.add_field(dev.url, dev.token, "inbox", name, kind, schema={"default_value": "now()"})
        assert project.run("pull", "--env", "dev").code == 0
        pulled = store.load_path(project.schema).snapshot
        assert find(pulled, "fields", "inbox", "seen")["schema"]["default_value"] == "current_timestamp()"
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "inbox")

        for vendor, server in targets.items():
            pushed = project.run("push", "--env", f"prod_{vendor}", "--yes", "--no-backup")
            assert pushed.code == 0, (vendor, pushed.output)
            assert "(now-default)" in pushed.output, vendor
            theirs = demo_model.snapshot(server.url, server.token)
            for name in ("seen", "made"):
                default = find(theirs, "fields", "inbox", name)["schema"]["default_value"]
                assert default in ("CURRENT_TIMESTAMP", "current_timestamp()"), (vendor, name, default)
            planned = project.run("plan", "--env", f"prod_{vendor}", "--exit-code")
            assert planned.code == 0, (vendor, planned.output)
