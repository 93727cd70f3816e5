"""Reference data offline: directus-gitops.yaml's ``data:``, what a schema lets be read, the
validation of data files, the comparison and the order of the apply steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from directus_gitops.base.errors import ConfigError, SnapshotError
from directus_gitops.model import config as config_module
from directus_gitops.model.kinds import data, secrets
from directus_gitops.model.kinds.kind import Ref

TREE = {
    "collection": "categories",
    "primary": "id",
    "key": ["slug"],
    "fields": ["name", "parent", "slug"],
    "references": {"parent": "categories"},
}


def _snapshot() -> dict[str, Any]:
    def field(collection: str, name: str, kind: str, **extra: Any) -> dict[str, Any]:
        schema = None if kind == "alias" else {"is_primary_key": extra.pop("primary", False)}
        return {"collection": collection, "field": name, "type": kind, "schema": schema, "meta": extra}

    return {
        "collections": [
            {"collection": name, "schema": {"name": name}, "meta": {}}
            for name in ("categories", "categories_tags", "tags", "articles")
        ]
        + [{"collection": "group", "schema": None, "meta": {}}],
        "fields": [
            field("categories", "id", "integer", primary=True),
            field("categories", "slug", "string"),
            field("categories", "name", "string"),
            field("categories", "parent", "integer"),
            field("categories", "owner", "uuid"),
            field("categories", "date_created", "timestamp", special=["date-created"]),
            field("categories", "tags", "alias", special=["m2m"]),
            field("categories_tags", "id", "integer", primary=True),
            field("categories_tags", "categories_id", "integer"),
            field("categories_tags", "tags_id", "uuid"),
            field("tags", "id", "uuid", primary=True),
            field("tags", "label", "string"),
        ],
        "relations": [
            {"collection": "categories", "field": "parent", "related_collection": "categories", "meta": {}},
            {"collection": "categories", "field": "owner", "related_collection": "directus_users", "meta": {}},
            {
                "collection": "categories_tags",
                "field": "categories_id",
                "related_collection": "categories",
                "meta": {"junction_field": "tags_id"},
            },
            {
                "collection": "categories_tags",
                "field": "tags_id",
                "related_collection": "tags",
                "meta": {"junction_field": "categories_id"},
            },
        ],
    }


# --------------------------------------------------------------------------- configuration


def _config(tmp_path: Path, text: str) -> config_module.Config:
    path = tmp_path / "directus-gitops.yaml"
    path.write_text(text)
    return config_module.load(path, cwd=tmp_path)


def test_data_is_per_collection_and_an_environment_adds_to_it_or_leaves_one_out(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "data:\n  languages: {}\n  categories: {key: slug, fields: [slug, name]}\n"
        "environments:\n  dev: {url: 'http://localhost:1'}\n"
        "  prod: {url: 'http://localhost:2', data: {languages: false, countries: {filter: {active: {_eq: true}}}}}\n",
    )
    assert set(config.data_for("dev")) == {"languages", "categories"}
    assert config.data_for("dev")["categories"] == data.Spec(("slug",), ("slug", "name"))
    prod = config.data_for("prod")
    assert set(prod) == {"categories", "countries"}
    assert prod["countries"].filter == {"active": {"_eq": True}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data: [languages]\n", "'data' must map collection names"),
        ("data:\n  languages: {keys: code}\n", "unknown key 'keys'"),
        ("data:\n  directus_users: {}\n", "system collections are not reference data"),
        ("data:\n  languages: false\n", "must be a mapping"),
        ("data:\n  languages: {key: [1]}\n", "key: must be a field name"),
        ("data:\n  languages: {filter: active}\n", "filter must be a Directus filter"),
    ],
)
def test_a_wrong_data_entry_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, text)


# --------------------------------------------------------------------------- what is read


def test_headers_leave_out_alias_and_automatic_fields_and_key_a_junction_by_its_references() -> None:
    specs = {"categories": data.Spec(key=("slug",)), "tags": data.Spec(), "categories_tags": data.Spec()}
    headers = data.headers(specs, _snapshot(), "'dev'")
    categories = headers["categories"]
    assert categories["fields"] == ["name", "owner", "parent", "slug"]  # no alias, no date_created, no id
    assert categories["references"] == {"parent": "categories"}  # users are not synced: the id is kept
    assert categories["external"] == {"owner": "directus_users"}  # and the plan checks the target has it
    assert headers["tags"]["key"] == ["id"]
    assert headers["categories_tags"]["key"] == ["categories_id", "tags_id"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ({"nosuch": data.Spec()}, "no table 'nosuch'"),
        ({"group": data.Spec()}, "no table 'group'"),
        ({"categories": data.Spec(key=("nosuch",))}, "'nosuch' is not a field of 'categories'"),
        ({"categories": data.Spec(fields=("tags",))}, "'tags' is not a field of 'categories' that holds values"),
    ],
)
def test_a_collection_the_schema_cannot_carry_is_refused_by_name(specs: dict[str, data.Spec], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        data.headers(specs, _snapshot(), "'dev'")


def _fetch(rows: dict[str, list[dict[str, Any]]]) -> Any:
    asked: list[tuple[str, Any]] = []

    def fetch(path: str, params: Any = None) -> Any:
        asked.append((path, params))
        if path == "/collections":
            return [{"collection": name} for name in rows]
        return rows[path.rsplit("/", 1)[1]]

    fetch.asked = asked  # type: ignore[attr-defined]
    return fetch


def test_a_read_writes_references_as_keys_and_leaves_out_the_ids_a_natural_key_makes_needless() -> None:
    fetch = _fetch(
        {
            "categories": [
                {"id": 7, "slug": "ml", "name": "ML", "parent": 9},
                {"id": 9, "slug": "ai", "name": "AI", "parent": None},
            ]
        }
    )
    section = data.ROWS.read(fetch, {"categories": TREE})
    rows = section["categories"]["rows"]
    assert [(r["slug"], r["parent"], r["_id"]) for r in rows] == [("ai", None, 9), ("ml", "ai", 7)]
    document = data.ROWS.documents(section)["data/categories.yaml"]
    assert document["key"] == "slug" and all("_id" not in row and "id" not in row for row in document["rows"])
    assert fetch.asked[1][1]["fields"] == "id,name,parent,slug"


def test_a_table_the_target_lacks_holds_no_rows_and_a_huge_one_is_refused() -> None:
    assert data.ROWS.read(_fetch({}), {"categories": TREE})["categories"]["rows"] == []
    many = [{"id": n, "slug": f"s{n}", "name": "x", "parent": None} for n in range(data.MAX_ROWS + 1)]
    with pytest.raises(SnapshotError, match="more than 10,000 rows"):
        data.ROWS.read(_fetch({"categories": many}), {"categories": TREE})


# --------------------------------------------------------------------------- validation


def _document(rows: list[Any], **header: Any) -> dict[str, Any]:
    return {"kind": "rows", **{**TREE, "key": "slug"}, **header, "rows": rows}


def _messages(documents: dict[str, Any], fields: Any = None) -> list[str]:
    return [f"{f.relpath} {f.message}" for f in data.ROWS.findings(documents, fields, True)]


def test_check_finds_duplicate_keys_unresolved_references_wrong_types_and_unknown_fields() -> None:
    types = {"categories": {"id": "integer", "slug": "string", "name": "string", "parent": "integer"}}
    rows = [
        {"slug": "ai", "name": "AI", "parent": None},
        {"slug": "ai", "name": "again", "parent": None},
        {"slug": "ml", "name": 5, "parent": "nosuch"},
        {"slug": None, "name": "x"},
        {"slug": "x", "colour": "red"},
    ]
    found = _messages({"data/categories.yaml": _document(rows)}, types)
    assert any("key ai is also the key of row 1" in m for m in found)
    assert any("parent: no row of 'categories' has the key nosuch" in m for m in found)
    assert any("name: 5 is not text (string)" in m for m in found)
    assert any("has no value for its key field 'slug'" in m for m in found)
    assert any("'colour' is not one of the fields" in m for m in found)
    assert _messages({"data/categories.yaml": _document(rows[:1])}, types) == []
    missing = _messages({"data/categories.yaml": _document(rows[:1])}, {"other": {}})
    assert missing == ["data/categories.yaml collection 'categories' is not in the schema"]


def test_a_reference_into_a_collection_whose_rows_are_not_synced_is_reported() -> None:
    document = _document([{"slug": "ai", "name": "AI", "parent": None, "owner": 1}], references={"owner": "tags"})
    document["fields"] = ["name", "owner", "parent", "slug"]
    assert any("references 'tags', whose rows are not synced" in m for m in _messages({"d.yaml": document}))


def test_a_secret_in_a_row_is_found_before_anything_is_written() -> None:
    section = {
        "settings_rows": {
            **TREE,
            "collection": "settings_rows",
            "references": {},
            "rows": [{"slug": "mail", "name": "sk_live_51HqX8e2eZvKYlo2C7aBcDeFgHiJkLmNoPq", "parent": None}],
        }
    }
    found = secrets.find(data.ROWS.documents(section))
    assert [f.file for f in found] == ["data/settings_rows.yaml"]


# --------------------------------------------------------------------------- compare and apply


def _table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"categories": {**TREE, "rows": rows}}


def test_rows_compare_by_key_and_a_removal_needs_the_data_loss_consent() -> None:
    old = _table([{"slug": "ai", "name": "AI", "parent": None, "_id": 1}, {"slug": "x", "name": "X", "_id": 2}])
    new = _table([{"slug": "ai", "name": "Artificial intelligence", "parent": None}, {"slug": "ml", "name": "ML"}])
    changes = {(c.action, c.label): c for c in data.ROWS.compare(old, new)}
    assert set(changes) == {("update", "categories ai"), ("create", "categories ml"), ("delete", "categories x")}
    assert changes[("delete", "categories x")].consent == "data-loss"
    assert changes[("update", "categories ai")].consent is None
    assert [p.path for p in changes[("update", "categories ai")].properties] == ["name"]  # _id is no property


def test_creates_go_parents_first_and_a_cycle_is_closed_in_a_second_pass() -> None:
    new = _table(
        [
            {"slug": "c", "name": "C", "parent": "b"},
            {"slug": "b", "name": "B", "parent": "a"},
            {"slug": "a", "name": "A", "parent": None},
            {"slug": "x", "name": "X", "parent": "y"},
            {"slug": "y", "name": "Y", "parent": "x"},
        ]
    )
    steps = data.ROWS.steps(data.ROWS.compare(None, new), new, None)
    creates = [s for s in steps if s.method == "POST"]
    order = [key for s in creates for key in (s.creates or ("", "", ()))[2]]
    assert order.index("a") < order.index("b") < order.index("c")
    links = [s for s in steps if s.method == "PATCH"]
    assert len(links) == 1 and "second pass" in links[0].what
    (link,) = links[0].body
    assert link == {"id": Ref("categories", "x"), "parent": Ref("categories", "y")} or link == {
        "id": Ref("categories", "y"),
        "parent": Ref("categories", "x"),
    }
    closed = next(row for s in creates for row in s.body if row["slug"] == next(iter(link.values())).key)
    assert closed["parent"] is None  # created without the link that closes the cycle


def test_removals_go_deepest_first_and_known_ids_come_from_the_target() -> None:
    old = _table(
        [
            {"slug": "a", "name": "A", "parent": None, "_id": 1},
            {"slug": "b", "name": "B", "parent": "a", "_id": 2},
            {"slug": "c", "name": "C", "parent": "b", "_id": 3},
        ]
    )
    steps = data.ROWS.steps(data.ROWS.compare(old, _table([])), _table([]), old)
    assert [s.body for s in steps] == [[3, 2, 1]]
    assert data.ROWS.known(old)[Ref("categories", "b")] == 2


def test_a_large_change_goes_in_batches() -> None:
    new = _table([{"slug": f"s{n:04}", "name": "x", "parent": None} for n in range(data.BATCH * 2 + 1)])
    steps = data.ROWS.steps(data.ROWS.compare(None, new), new, None)
    assert [len(s.body) for s in steps] == [data.BATCH, data.BATCH, 1]


def test_the_plan_names_users_and_files_the_rows_point_at_that_the_target_lacks() -> None:
    section = {
        "categories": {
            **TREE,
            "external": {"owner": "directus_users"},
            "rows": [{"slug": "a", "owner": "u-1"}, {"slug": "b", "owner": "u-2"}, {"slug": "c", "owner": None}],
        }
    }
    asked: list[tuple[str, Any]] = []

    def fetch(path: str, params: Any = None) -> Any:
        asked.append((path, params))
        return [{"id": "u-1"}]

    notes = data.missing_references(fetch, section)
    assert [path for path, _ in asked] == ["/users"]
    assert notes == [
        "categories.owner names 1 item(s) of directus_users the target lacks (u-2): create them there first, "
        "or the rows that name them fail to apply"
    ]


def test_merge_mode_keeps_rows_only_the_target_has_and_a_backup_holds_the_targets_rows() -> None:
    from directus_gitops.engine import configuration as sync

    current = {"model": "policies", "data": _table([{"slug": "x", "name": "X", "parent": None, "_id": 2}])}
    desired = {"model": "policies", "data": _table([{"slug": "ai", "name": "AI", "parent": None}])}
    mirror = sync.plan_against(desired, current)
    assert [(c.action, c.label) for c in mirror.changes] == [("create", "categories ai"), ("delete", "categories x")]
    merged = sync.plan_against(desired, current, mode="merge")
    assert [(c.action, c.label) for c in merged.changes] == [("create", "categories ai")]
    assert "merge mode keeps 1 item(s) only the target has: categories x" in merged.changes.warnings
    from directus_gitops.model.kinds import files

    assert files.documents(current)["data/categories.yaml"]["rows"] == [{"slug": "x", "name": "X", "parent": None}]
