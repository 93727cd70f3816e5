"""Pushes Directus would stop part-way, refused before anything changes (engine/predict.py),
on real 12.4.1 servers: each case is first shown to fail as the rule says, then refused by
``push`` with exit 3 and the target unchanged, and (where there is one) let through by its fix
or opt-in."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import demo_model
import httpx
import pytest

from directus_gitops.files import yamlio
from tests.conftest import Project
from tests.directus_harness import ServerPool

VERSION = "12.4.1"


def _with_field(snapshot: dict[str, Any], name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """``snapshot`` plus a string field ``tags.<name>`` made like ``tags.name``, then ``change``d."""
    result = copy.deepcopy(snapshot)
    field = copy.deepcopy(next(f for f in snapshot["fields"] if (f["collection"], f["field"]) == ("tags", "name")))
    field["field"] = field["meta"]["field"] = field["schema"]["name"] = name
    field["meta"].pop("id", None)
    field["schema"].update(is_unique=False, is_nullable=True, default_value=None)
    field["meta"]["required"] = False
    change(field)
    result["fields"].append(field)
    return result


def _push_file(project: Project, snapshot: dict[str, Any], *args: str) -> Any:
    path = project.root / "model.yaml"
    path.write_text(yamlio.dump(snapshot))
    return project.run("push", "--env", "prod", "--yes", "--from", str(path), *args)


def _plan_file(project: Project) -> Any:
    return project.run("plan", "--env", "prod", "--from", str(project.root / "model.yaml"))


def _unchanged(project: Project, url: str, token: str, before: dict[str, Any]) -> None:
    assert demo_model.snapshot(url, token) == before
    assert not (project.root / ".directus-gitops").exists()  # refused before the backup too


def _prod(project: Project, directus_pool: ServerPool, vendor: str) -> Any:
    server = directus_pool.new_server(VERSION, seeded=True, vendor=vendor)
    project.configure(prod=server.url)
    project.token("prod", server.token)
    return server


@pytest.mark.parametrize("vendor", ["sqlite", "postgres"])
def test_a_required_field_without_a_default_on_a_table_with_rows_is_refused(
    project: Project, directus_pool: ServerPool, vendor: str
) -> None:
    with _prod(project, directus_pool, vendor) as prod:
        with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}) as http:
            http.post("/items/tags", json={"name": "news"}).raise_for_status()
        before = demo_model.snapshot(prod.url, prod.token)
        required = _with_field(before, "code", lambda f: f["schema"].update(is_nullable=False))

        result = _push_file(project, required)
        assert result.code == 3, result.output
        assert "1 required field(s) without a default would be added to tables that have rows" in result.err
        assert "tags.code (1 row(s))" in result.err and "give the field a default value" in result.err
        _unchanged(project, prod.url, prod.token, before)
        planned = _plan_file(project)
        assert planned.code == 0 and "a push would refuse: 1 required field(s) without a default" in planned.err

        # What the prediction saves: Directus itself stops the apply (PostgreSQL and SQLite roll it back).
        diff = httpx.post(
            f"{prod.url}/schema/diff", json=required, headers={"Authorization": f"Bearer {prod.token}"}
        ).json()["data"]
        applied = httpx.post(
            f"{prod.url}/schema/apply", json=diff, headers={"Authorization": f"Bearer {prod.token}"}, timeout=60
        )
        assert applied.status_code == 500 and ("NOT NULL" in applied.text or "contains null values" in applied.text)

        with_default = _with_field(before, "code", lambda f: f["schema"].update(is_nullable=False, default_value="x"))
        result = _push_file(project, with_default)
        assert result.code == 0, result.output


@pytest.mark.parametrize("vendor", ["sqlite", "postgres"])
def test_extensions_the_target_lacks_are_refused_unless_allowed(
    project: Project, directus_pool: ServerPool, vendor: str
) -> None:
    with _prod(project, directus_pool, vendor) as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        custom = _with_field(before, "shade", lambda f: f["meta"].update(interface="acme-color", display="raw"))

        planned = _push_file(project, custom, "--dry-run")
        assert (
            planned.code == 0 and "a push would refuse: 1 extension(s) the model uses are not on 'prod'" in planned.err
        )
        result = _push_file(project, custom)
        assert result.code == 3, result.output
        assert "interface 'acme-color' (tags.shade)" in result.err and "--allow-missing-extensions" in result.err
        _unchanged(project, prod.url, prod.token, before)

        result = _push_file(project, custom, "--allow-missing-extensions")
        assert result.code == 0, result.output
        shade = next(f for f in demo_model.snapshot(prod.url, prod.token)["fields"] if f["field"] == "shade")
        assert shade["meta"]["interface"] == "acme-color"  # Directus stores it; its app lacks it


@pytest.mark.parametrize(("vendor", "most", "unit"), [("postgres", 63, "bytes"), ("mariadb", 64, "characters")])
# Directus's snapshot of a MariaDB says vendor "mysql": the refusal names what the target reports.
def test_names_longer_than_the_database_allows_are_refused(
    project: Project, directus_pool: ServerPool, vendor: str, most: int, unit: str
) -> None:
    with _prod(project, directus_pool, vendor) as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        name = "f" * (most + 1)
        result = _push_file(project, _with_field(before, name, lambda f: None))
        assert result.code == 3, result.output
        said = f"longer than {before['vendor']} allows on 'prod' ({most} {unit}): tags.{name} ({most + 1} {unit})"
        assert f"1 name(s) are {said}" in result.err
        _unchanged(project, prod.url, prod.token, before)
        assert _push_file(project, _with_field(before, "f" * most, lambda f: None)).code == 0


def test_a_geometry_field_on_postgresql_without_postgis_fails_whole_and_says_why(
    project: Project, directus_pool: ServerPool
) -> None:
    """No endpoint says whether PostGIS is there: the push warns before the apply, and the
    failed apply (rolled back by PostgreSQL) names the cause."""

    def geometry(field: dict[str, Any]) -> None:
        field["type"] = "geometry.Point"
        field["meta"].update(interface="map", special=None)
        field["schema"].update(data_type="geometry", max_length=None)

    with _prod(project, directus_pool, "postgres") as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        result = _push_file(project, _with_field(before, "location", geometry))
        assert result.code == 1, result.output
        assert "1 geometry field(s) (tags.location) need the PostGIS extension" in result.err
        assert 'type "geometry" does not exist' in result.err and "CREATE EXTENSION postgis" in result.err
        assert "nothing reached the target" in result.err
        assert demo_model.snapshot(prod.url, prod.token) == before


def test_columns_differing_only_in_case_are_refused_on_sqlite(project: Project, directus_pool: ServerPool) -> None:
    # pavankn/rtmp-live-streaming: `status` and `Status` in one table; PostgreSQL applies both.
    with _prod(project, directus_pool, "sqlite") as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        twins = _with_field(before, "Name", lambda f: None)  # beside tags.name

        result = _push_file(project, twins)
        assert result.code == 3, result.output
        assert "1 set(s) of fields differ only in case, which sqlite on 'prod' takes for one column" in result.err
        assert "(tags: Name and name)" in result.err and "rename one field of each pair" in result.err
        _unchanged(project, prod.url, prod.token, before)

        # What the prediction saves: Directus itself stops the apply.
        with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}, timeout=60) as http:
            diff = http.post("/schema/diff", json=twins).json()["data"]
            applied = http.post("/schema/apply", json=diff)
        assert applied.status_code == 500 and "duplicate column name" in applied.text
        assert demo_model.snapshot(prod.url, prod.token) == before


def test_rows_are_counted_on_directus_own_endpoints_and_a_table_none_counts_is_refused(
    project: Project, directus_pool: ServerPool
) -> None:
    # GemeinschaftswerkNachhaltigkeit/landingpage: a required directus_extensions.name, whose rows
    # GET /extensions does not count (it answered the extension list, and the push stopped at "no count").
    with _prod(project, directus_pool, "sqlite") as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        required = copy.deepcopy(before)
        for collection, name in (("directus_extensions", "name"), ("directus_users", "code")):
            added = _with_field(before, name, lambda f: f["schema"].update(is_nullable=False))["fields"][-1]
            added["collection"] = added["meta"]["collection"] = added["schema"]["table"] = collection
            required["fields"].append(added)

        result = _push_file(project, required)
        assert result.code == 3, result.output
        assert "2 required field(s) without a default would be added to tables that have rows" in result.err
        assert "directus_extensions.name (no endpoint of Directus counts its rows: it may have some)" in result.err
        assert "directus_users.code (1 row(s))" in result.err  # the admin, counted on GET /users
        _unchanged(project, prod.url, prod.token, before)


def test_a_new_field_of_a_type_directus_does_not_know_is_refused(project: Project, directus_pool: ServerPool) -> None:
    """A PostgreSQL enum column reads as `type: unknown` (a public snapshot file,
    rendydig/epicode-fullstacks-developer-test): Directus applies such a field without its column,
    and it stays a difference. The push refuses it first."""
    with _prod(project, directus_pool, "postgres") as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        enum = _with_field(before, "kind", lambda f: (f.update(type="unknown"), f["schema"].update(data_type="kind")))

        result = _push_file(project, enum)
        assert result.code == 3, result.output
        assert "a column of a type Directus does not know (type unknown: tags.kind (kind))" in result.err
        assert "create those columns in the target's database" in result.err
        _unchanged(project, prod.url, prod.token, before)

        # What the prediction saves: Directus alone applies the field's meta and makes no column.
        with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}, timeout=60) as http:
            assert http.post("/schema/apply", json=http.post("/schema/diff", json=enum).json()["data"]).is_success
            again = http.post("/schema/diff", json=enum)
        assert again.status_code == 200 and "kind" in again.text  # still a difference


def test_a_table_over_what_mariadb_holds_in_a_row_is_refused_or_named(
    project: Project, directus_pool: ServerPool
) -> None:
    """A PostgreSQL file's `varchar(65535)` (Nugraha-Xcode/sipulau) pushed to MariaDB: Directus stopped at
    `CREATE TABLE` (500, `Column length too big`) with the rest of the apply done or not, as MySQL/MariaDB
    have no transactional DDL (exit 5). No charset holds it: refused before the backup. One a single-byte
    charset could hold, but utf8mb4 cannot, is named before the apply (no endpoint reports the charset)."""
    with _prod(project, directus_pool, "mariadb") as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        certain = _with_field(before, "body", lambda f: f["schema"].update(max_length=65535))
        utf8mb4 = _with_field(before, "summary", lambda f: f["schema"].update(max_length=16384))
        for wide in (certain, utf8mb4):
            # What the prediction is about: MariaDB (utf8mb4 here) refuses such a column.
            with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}, timeout=60) as http:
                diff = http.post("/schema/diff", json=wide).json()["data"]
                applied = http.post("/schema/apply", json=diff)
            assert applied.status_code == 500 and "Column length too big" in applied.text, applied.text
            assert demo_model.snapshot(prod.url, prod.token) == before

        result = _push_file(project, certain)
        assert result.code == 3, result.output
        assert "1 table(s) would be over the 65,535 bytes MySQL/MariaDB hold in a varchar or a row" in result.err
        assert "in any charset (tags (a varchar of 65,535 characters))" in result.err
        assert "lower schema.max_length" in result.err
        _unchanged(project, prod.url, prod.token, before)

        (project.root / "model.yaml").write_text(yamlio.dump(utf8mb4))
        planned = _plan_file(project)
        assert planned.code == 0, planned.output
        assert "if the target's tables are utf8mb4" in planned.output
        assert "tags (a varchar of 16,384 characters)" in planned.output


def _new_table(snapshot: dict[str, Any], name: str, length: int) -> dict[str, Any]:
    """``snapshot`` plus a collection ``name`` made like ``tags`` (its key and ``name`` field, a
    varchar of ``length`` characters)."""
    result = copy.deepcopy(snapshot)
    table = copy.deepcopy(next(c for c in snapshot["collections"] if c["collection"] == "tags"))
    table["collection"] = table["meta"]["collection"] = table["schema"]["name"] = name
    table["meta"].update(group=None, sort=None)
    result["collections"].append(table)
    for field in snapshot["fields"]:
        if field["collection"] == "tags" and field["field"] in ("id", "name"):
            field = copy.deepcopy(field)
            field["collection"] = field["meta"]["collection"] = field["schema"]["table"] = name
            field["meta"].pop("id", None)
            if field["field"] == "name":
                field["schema"].update(max_length=length, is_unique=False, is_indexed=False)
            result["fields"].append(field)
    return result


def test_a_new_table_mariadb_may_not_hold_is_created_first_so_its_failure_makes_nothing_else(
    project: Project, directus_pool: ServerPool
) -> None:
    """A table only a single-byte charset holds cannot be refused (no endpoint reports the
    charset), and MySQL/MariaDB keep what an apply made before it failed. The push puts it first
    in the diff, so the failure comes before anything else is made."""
    with _prod(project, directus_pool, "mariadb") as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        model = _new_table(_new_table(before, "aaa_notes", 255), "zzz_wide", 16384)

        result = _push_file(project, model)
        assert result.code == 1, result.output
        assert "if the target's tables are utf8mb4" in result.err and "zzz_wide (a varchar of 16,384" in result.err
        assert "nothing reached the target" in result.err and "Column length too big" in result.err
        assert demo_model.snapshot(prod.url, prod.token) == before

        # Directus alone, in its diff's order (aaa_notes first): aaa_notes is made, then the apply fails.
        with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}, timeout=60) as http:
            diff = http.post("/schema/diff", json=model).json()["data"]
            assert [c["collection"] for c in diff["diff"]["collections"]] == ["aaa_notes", "zzz_wide"]
            applied = http.post("/schema/apply", json=diff)
        assert applied.status_code == 500 and "Column length too big" in applied.text, applied.text
        after = demo_model.snapshot(prod.url, prod.token)
        assert "aaa_notes" in {c["collection"] for c in after["collections"]}


def test_a_table_that_exists_mariadb_may_not_hold_is_altered_alone_first_so_its_failure_makes_nothing_else(
    project: Project, directus_pool: ServerPool
) -> None:
    """Directus applies every collection entry before it alters a table that exists, and
    MySQL/MariaDB keep what an apply made before it failed: the push alters such a table in an
    apply of its own, before the rest."""
    with _prod(project, directus_pool, "mariadb") as prod:
        before = demo_model.snapshot(prod.url, prod.token)
        wide = _with_field(before, "summary", lambda f: f["schema"].update(max_length=16384))
        model = _new_table(wide, "aaa_notes", 255)

        result = _push_file(project, model)
        assert result.code == 1, result.output
        assert "applying first, on its own, what 'prod' may fail on" in result.output + result.err
        assert "nothing reached the target" in result.err and "Column length too big" in result.err
        assert demo_model.snapshot(prod.url, prod.token) == before

        # Directus alone, with the field first in the diff's list: aaa_notes is made, then the apply fails.
        with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}, timeout=60) as http:
            diff = http.post("/schema/diff", json=model).json()["data"]
            diff["diff"]["fields"].sort(key=lambda f: f["field"] != "summary")
            applied = http.post("/schema/apply", json=diff)
        assert applied.status_code == 500 and "Column length too big" in applied.text, applied.text
        after = demo_model.snapshot(prod.url, prod.token)
        assert "aaa_notes" in {c["collection"] for c in after["collections"]}
