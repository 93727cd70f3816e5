"""What Directus would refuse part-way, predicted from the plan (engine/predict.py).

The rules are what real 12.4.1 servers did (tests/test_predict_servers.py pushes each case to
one): SQLite and PostgreSQL refuse a NOT NULL column without a default on a table with rows
and take it on an empty one; PostgreSQL cuts names to 63 bytes; the app's built-in extension
ids are read from each release's bundle (scripts/builtin_extensions.py).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from directus_gitops.engine import predict
from directus_gitops.model import changes as model_changes
from directus_gitops.model.changes import Change, ChangeSet
from directus_gitops.model.kinds.change import ConfigChange, ConfigChangeSet
from tests import samples
from tests.samples import find


def _field(collection: str, name: str, *, meta: dict[str, Any] | None = None, **schema: Any) -> dict[str, Any]:
    return {
        "collection": collection,
        "field": name,
        "type": schema.pop("type", "string"),
        "meta": {"collection": collection, "field": name, **(meta or {})},
        "schema": {"name": name, "table": collection, "is_nullable": True, "default_value": None, **schema},
    }


def _created(*entries: dict[str, Any], collections: tuple[str, ...] = ()) -> ChangeSet:
    changes = [Change("collection", "create", name, entry={"collection": name}) for name in collections]
    changes += [Change("field", "create", e["collection"], e["field"], entry=e) for e in entries]
    return ChangeSet(tuple(changes))


def test_only_new_not_null_columns_without_a_default_on_existing_tables_need_rows_counted() -> None:
    changes = _created(
        _field("tags", "code", is_nullable=False),  # the one that can fail
        _field("tags", "label", is_nullable=False, default_value="x"),
        _field("tags", "note"),  # nullable
        _field("tags", "seq", is_nullable=False, has_auto_increment=True),
        _field("pages", "title", is_nullable=False),  # its table is new: no rows
        {"collection": "tags", "field": "group", "type": "alias", "meta": {}, "schema": None},
        collections=("pages",),
    )
    assert predict.required_without_default(changes, {}) == [("tags", "code")]


def test_new_columns_of_a_type_directus_does_not_know_are_named() -> None:
    enum = {**_field("items", "kind", data_type="content_type"), "type": "unknown"}
    alias = {"collection": "items", "field": "extra", "type": "unknown", "meta": {}, "schema": None}
    changes = _created(enum, alias, _field("items", "title"))
    assert predict.unknown_columns(changes) == ["items.kind (content_type)"]
    problem = predict.unknown_columns_problem(changes, "prod")
    assert problem is not None and "1 new field(s) have a column of a type Directus does not know" in problem
    assert predict.unknown_columns_problem(_created(_field("items", "title")), "prod") is None


def test_rows_are_counted_once_per_table_and_only_where_the_database_refuses() -> None:
    counted: list[str] = []

    def count(collection: str) -> int:
        counted.append(collection)
        return {"tags": 2, "authors": 0}[collection]

    changes = _created(
        _field("tags", "code", is_nullable=False),
        _field("tags", "slug", is_nullable=False),
        _field("authors", "handle", is_nullable=False),
    )
    problem = predict.required_problem(count, changes, {}, "postgres", "prod")
    assert problem is not None and counted == ["tags", "authors"]
    assert "2 required field(s) without a default would be added to tables that have rows on 'prod'" in problem
    assert "tags.code (2 row(s)), tags.slug (2 row(s))" in problem and "authors" not in problem
    # MariaDB fills such a column with its type's implicit default: nothing to count.
    assert predict.required_problem(count, changes, {}, "mariadb", "prod") is None and len(counted) == 2


@pytest.mark.parametrize(
    ("vendor", "name", "refused"),
    [
        ("postgres", "f" * 63, False),
        ("postgres", "f" * 64, True),
        ("postgres", "é" * 32, True),  # 64 bytes in 32 characters
        ("mysql", "f" * 64, False),
        ("mariadb", "é" * 64, False),
        ("mariadb", "f" * 65, True),
        ("sqlite", "f" * 200, False),
    ],
)
def test_names_longer_than_the_database_allows(vendor: str, name: str, refused: bool) -> None:
    changes = _created(_field("tags", name), collections=(name,))
    problem = predict.identifier_problem(changes, vendor, "prod")
    assert (problem is not None) is refused
    if problem is not None:
        assert f"2 name(s) are longer than {vendor} allows on 'prod'" in problem


def test_an_existing_long_name_is_not_refused_again() -> None:
    changes = ChangeSet((Change("field", "update", "tags", "f" * 70),))
    assert predict.identifier_problem(changes, "postgres", "prod") is None


def test_the_built_in_ids_follow_the_release() -> None:
    newest = predict.builtins("12.4.1")
    assert {"select-dropdown", "input", "list-m2m"} <= newest["interfaces"]
    assert "tabular" in newest["layouts"] and "metric" in newest["panels"] and "item-create" in newest["operations"]
    assert "throw-error" not in predict.builtins("11.3.5")["operations"]  # came with 11.x later
    assert "throw-error" in predict.builtins("11.20.0")["operations"]  # the newest measured before it
    assert predict.builtins("9.1.0") == predict.builtins("9.26.0")  # older than measured: the oldest
    assert predict.builtins(None) == newest


@pytest.mark.parametrize("release", ["9.26.0", "10.13.4", "11.3.5", "11.17.4", "12.4.1"])
def test_the_interface_directus_gives_the_key_it_adds_is_built_in(release: str) -> None:
    """A collection created without a key gets ``id`` with ``interface: numeric`` from the API
    itself (services/collections.js); no app bundle defines it, and no push may ask to install it."""
    assert "numeric" in predict.builtins(release)["interfaces"]
    key = _field("posts", "id", meta={"interface": "numeric", "hidden": True, "readonly": True})
    changes = ChangeSet((Change("field", "create", "posts", "id", entry=key),))
    used = predict.used_extensions(changes, {"fields": [key]}, None)
    assert used["interfaces"] == {"numeric": ["posts.id"]}
    assert predict.missing_extensions(used, predict.builtins(release), frozenset()) == []
    assert predict.extensions_problem(list, changes, {"fields": [key]}, None, release, "prod") is None


def test_installed_names_take_packages_bundles_and_folders_and_skip_disabled_ones() -> None:
    extensions = [
        {
            "id": "1",
            "bundle": None,
            "meta": {"enabled": True, "folder": "x"},
            "schema": {"name": "@acme/directus-extension-maps"},
        },
        {"id": "2", "meta": {"enabled": True}, "schema": {"name": "acme-bundle", "entries": [{"name": "stars"}]}},
        {"id": "3", "meta": {"enabled": False}, "schema": {"name": "off"}},
    ]
    names = predict.installed_names(extensions)
    assert {"maps", "@acme/directus-extension-maps", "acme-bundle", "stars", "x"} <= names
    assert "off" not in names


def _extension_changes() -> tuple[ChangeSet, dict[str, Any], ConfigChangeSet]:
    desired = {
        "fields": [
            _field("tags", "color", meta={"interface": "acme-color", "display": "raw"}),
            _field("tags", "name", meta={"interface": "input", "display": "acme-badge"}),
        ]
    }
    changes = ChangeSet(
        (
            Change("field", "create", "tags", "color", entry=desired["fields"][0]),
            Change("field", "update", "tags", "name"),
            Change("field", "delete", "tags", "old", entry=_field("tags", "old", meta={"interface": "gone"})),
        )
    )
    config = ConfigChangeSet(
        (
            ConfigChange("preset", "create", "tags (layout)", ("p",), entry={"layout": "acme-gallery"}),  # type: ignore[arg-type]
            ConfigChange("panel", "update", "Sales: total", ("q",), entry={"type": "metric"}),  # type: ignore[arg-type]
            ConfigChange("operation", "create", '"Notify": ping', ("r",), entry={"type": "acme-ping"}),  # type: ignore[arg-type]
        )
    )
    return changes, desired, config


def test_extensions_the_target_lacks_are_named_with_where_they_are_used() -> None:
    changes, desired, config = _extension_changes()
    reads: list[int] = []

    def read() -> list[dict[str, Any]]:
        reads.append(1)
        return [{"meta": {"enabled": True}, "schema": {"name": "directus-extension-acme-badge"}}]

    problem = predict.extensions_problem(read, changes, desired, config, "12.4.1", "prod")
    assert problem is not None and reads == [1]
    assert problem.startswith("3 extension(s) the model uses are not on 'prod' (Directus 12.4.1 built-ins")
    assert "interface 'acme-color' (tags.color)" in problem
    assert "layout 'acme-gallery' (preset tags (layout))" in problem
    assert "operation 'acme-ping' (operation \"Notify\": ping)" in problem
    assert "acme-badge" not in problem and "'gone'" not in problem and "metric" not in problem


def test_the_target_is_not_asked_when_everything_is_built_in() -> None:
    desired = {"fields": [_field("tags", "name", meta={"interface": "input", "display": "formatted-value"})]}
    changes = ChangeSet((Change("field", "create", "tags", "name", entry=desired["fields"][0]),))

    def read() -> list[dict[str, Any]]:
        raise AssertionError("GET /extensions asked for built-ins only")

    assert predict.extensions_problem(read, changes, desired, None, "12.4.1", "prod") is None


def test_geometry_on_postgres_is_named_unless_the_target_already_has_geometry() -> None:
    changes = _created(_field("places", "at", type="geometry.Point"), _field("places", "name"))
    note = predict.geometry_note(changes, {}, {"fields": []}, "postgres")
    assert note is not None and note.startswith("1 geometry field(s) (places.at) need the PostGIS extension")
    has_postgis = {"fields": [_field("shops", "where", type="geometry")]}
    assert predict.geometry_note(changes, {}, has_postgis, "postgres") is None
    assert predict.geometry_note(changes, {}, {"fields": []}, "sqlite") is None


def test_a_table_whose_rows_no_endpoint_counts_is_refused_as_one_that_may_have_rows() -> None:
    # GemeinschaftswerkNachhaltigkeit/landingpage: a required directus_extensions.name on 12.4.1,
    # whose GET /extensions answers the extension list (no count).
    required = {"is_nullable": False}
    changes = _created(_field("directus_extensions", "name", **required), _field("tags", "code", **required))
    problem = predict.required_problem(lambda c: None if c.startswith("directus_") else 0, changes, {}, "sqlite", "t")
    assert problem is not None and problem.startswith("1 required field(s)")
    assert "directus_extensions.name (no endpoint of Directus counts its rows: it may have some)" in problem
    assert "tags" not in problem


def _column(collection: str, name: str, type_: str = "string") -> dict[str, Any]:
    return {"collection": collection, "field": name, "type": type_, "schema": {} if type_ != "alias" else None}


@pytest.mark.parametrize(("vendor", "refused"), [("sqlite", True), ("mysql", True), ("postgres", False)])
def test_columns_differing_only_in_case_are_refused_where_the_database_takes_them_for_one(
    vendor: str, refused: bool
) -> None:
    # pavankn/rtmp-live-streaming: `status` and `Status` in one table (11.17.4 on SQLite: 500
    # duplicate column name; PostgreSQL applies both).
    desired = {
        "fields": [
            _column("streams", "status"),
            _column("streams", "Status", "text"),
            _column("streams", "Notes", "alias"),  # no column
            _column("streams", "notes"),
            _column("tags", "name"),
            _column("tags", "Name"),
        ]
    }
    changes = _created(*desired["fields"][:4], collections=("streams",))
    problem = predict.case_problem(changes, desired, vendor, "prod")
    if not refused:
        assert problem is None
        return
    assert problem == (
        f"1 set(s) of fields differ only in case, which {vendor} on 'prod' takes for one column "
        "(streams: Status and status): Directus would stop the apply (duplicate column name)"
    )
    # Twins the target holds already are no change of this plan.
    assert predict.case_twins(ChangeSet(()), desired, vendor) == []


def _mysql_table(*fields: dict[str, Any]) -> dict[str, Any]:
    desired = samples.base()
    desired["vendor"] = "mysql"
    desired["collections"].append({"collection": "pages", "meta": {}, "schema": {"name": "pages"}})
    desired["fields"] += [samples.field("pages", "id", "integer"), *fields]
    return desired


def _made(desired: dict[str, Any]) -> ChangeSet:
    return model_changes.compare(samples.base(), desired)


@pytest.mark.parametrize(
    ("lengths", "refused", "noted"),
    [
        ([65535], True, False),  # no charset holds it (varchar(65535) + its length bytes)
        ([30000, 30000, 6000], True, False),  # a row over 65,535 bytes at one byte a character
        ([16384], False, True),  # utf8mb4 holds 16,383 characters a varchar (measured on MariaDB)
        ([16383], False, True),  # beside the integer key, over a utf8mb4 row (measured)
        ([5000] * 4, False, True),  # measured: Row size too large
        ([4000] * 4, False, False),  # measured: made
        ([None] * 60, False, False),  # varchar(255) each
    ],
)
def test_tables_over_what_mysql_holds_in_a_row_are_refused_or_named(
    lengths: list[int | None], refused: bool, noted: bool
) -> None:
    fields = [samples.field("pages", f"f{i}", max_length=length) for i, length in enumerate(lengths)]
    desired = _mysql_table(*fields)
    found = _made(desired)
    problem = predict.row_size_problem(found, desired, "mysql", "prod")
    note = predict.row_size_note(found, desired, "mysql")
    assert (problem is not None) is refused, problem
    assert (note is not None) is noted, note
    if problem is not None:
        assert "pages (" in problem and "in any charset" in problem
    if note is not None:
        assert "pages (" in note and "utf8mb4" in note
    # Other databases hold long varchars (PostgreSQL up to 10,485,760 characters; SQLite any).
    for vendor in ("postgres", "sqlite"):
        assert predict.row_size_problem(found, desired, vendor, "prod") is None
        assert predict.row_size_note(found, desired, vendor) is None


def test_text_json_and_alias_fields_take_no_row_bytes_and_only_changed_tables_are_checked() -> None:
    fields = [samples.field("pages", f"t{i}", "text") for i in range(40)]
    fields += [samples.field("pages", "long", max_length=16000), samples.field("pages", "data", "json")]
    alias = samples.field("pages", "items", "alias")
    alias["schema"] = None
    desired = _mysql_table(*fields, alias)
    assert predict.row_size_note(_made(desired), desired, "mysql") is None
    # A table the push does not make or widen is not checked, whatever it holds.
    wide = _mysql_table(samples.field("pages", "a", max_length=20000))
    untouched = model_changes.compare(wide, {**wide, "fields": [*wide["fields"], samples.field("other", "x")]})
    assert predict.row_size(untouched, wide, "mysql", 4) == {}
    # A field whose note changes leaves the column alone; one made longer is checked.
    noted = copy.deepcopy(wide)
    find(noted, "fields", "pages", "a")["meta"]["note"] = "long"
    assert predict.row_size(model_changes.compare(wide, noted), noted, "mysql", 4) == {}
    longer = copy.deepcopy(wide)
    find(longer, "fields", "pages", "a")["schema"]["max_length"] = 30000
    assert set(predict.row_size(model_changes.compare(wide, longer), longer, "mysql", 4)) == {"pages"}
