"""A snapshot pushed to another database or Directus release converges, by documented rules only.

Each test pulls the demo model from a real server of one release and database and pushes it
into an empty real server of another: across databases by the rules alone, across releases
with the environment's accept_releases (narrower than --force, which stays for what no rule
covers). The push must converge (exit 0, nothing left), the plan must list the rules it used,
and what Directus itself still sees when sent the untranslated snapshot must be exactly what
those rules explain: every remaining server diff entry belongs to something a rule translated.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import Iterator
from typing import Any

import demo_model
import httpx
import pytest

from directus_gitops.engine import translate
from directus_gitops.files import store, yamlio
from directus_gitops.model import changes
from tests.conftest import Project
from tests.directus_harness import ServerPool

pytestmark = pytest.mark.directus

PAIRS = [
    (("12.4.1", "sqlite"), ("12.4.1", "postgres")),
    (("12.4.1", "sqlite"), ("12.4.1", "mariadb")),
    (("12.4.1", "mariadb"), ("12.4.1", "postgres")),
    (("12.4.1", "postgres"), ("12.4.1", "sqlite")),
    (("10.13.4", "sqlite"), ("12.4.1", "sqlite")),
    (("9.26.0", "sqlite"), ("11.17.4", "postgres")),
    # A downgrade: 11.17.4 writes properties 11.3.5 lacks (systemFields, meta.searchable), and
    # reports unique columns as not indexed where 11.3.5 on SQLite reports them indexed.
    (("11.17.4", "sqlite"), ("11.3.5", "sqlite")),
]
# Downgrades from the releases in DIRECTUS_DOWNGRADE_SOURCES (`make test-downgrades`: 11.7.2,
# one more release to install, about 500 MB, for what the offline tests of the rules' data
# cover too) into 11.3.5 on SQLite and MariaDB.
DOWNGRADE_SOURCES = os.environ.get("DIRECTUS_DOWNGRADE_SOURCES", "").split()
PAIRS += [((source, "sqlite"), ("11.3.5", vendor)) for source in DOWNGRADE_SOURCES for vendor in ("sqlite", "mariadb")]


def server_diff(server: Any, snapshot: dict[str, Any]) -> changes.ChangeSet:
    """Directus's own diff of ``snapshot`` against ``server`` (forced: another origin)."""
    response = httpx.post(
        f"{server.url}/schema/diff",
        params={"force": "true"},
        json=snapshot,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    if response.status_code == 204:
        return changes.ChangeSet()
    assert response.status_code == 200, response.text
    return changes.from_server(response.json()["data"]["diff"])


@contextlib.contextmanager
def pulled_from_dev(project: Project, directus_pool: ServerPool) -> Iterator[tuple[Any, dict[str, Any]]]:
    """An empty 12.4.1 'prod' and the model pulled from a seeded 12.4.1 'dev', both configured."""
    with (
        directus_pool.new_server("12.4.1", seeded=True) as dev,
        directus_pool.new_server("12.4.1") as prod,
    ):
        project.configure(dev=dev.url, prod=prod.url)
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "dev").code == 0
        yield prod, store.load_path(project.schema).snapshot


def accept_release(project: Project, url: str, release: str) -> None:
    """Another release needs the environment's consent, narrower than --force: refused without."""
    refused = project.run("plan", "--env", "prod")
    assert refused.code == 1 and "accept_releases" in refused.err and "--force" in refused.err
    config = project.root / "directus-gitops.yaml"
    config.write_text(
        config.read_text().replace(f"prod: {{url: '{url}'}}", f"prod: {{url: '{url}', accept_releases: ['{release}']}}")
    )
    project.git("commit", "--quiet", "-am", "prod takes this release's snapshots")


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s[0]}-{s[1]}-to-{t[0]}-{t[1]}" for s, t in PAIRS])
def test_the_demo_model_converges_on_another_origin(
    project: Project, directus_pool: ServerPool, source: tuple[str, str], target: tuple[str, str]
) -> None:
    with (
        directus_pool.new_server(source[0], seeded=True, vendor=source[1]) as dev,
        directus_pool.new_server(target[0], vendor=target[1]) as prod,
    ):
        project.configure(dev=dev.url, prod=prod.url)
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "dev", "--commit").code == 0

        if source[0] != target[0]:
            accept_release(project, prod.url, source[0])
        # Into the empty target, what its release does not know is not sent, and the plan says so.
        first = project.run("plan", "--env", "prod", "--format", "json")
        left_out = {
            item["detail"].split(":")[0]
            for rule in json.loads(first.out)["translation"]
            if rule["rule"] == "release-only-properties"
            for item in rule["items"]
        }
        committed = store.load_path(project.schema).snapshot
        for prop in translate.unknown_to(target[0]):
            held = any(prop.key in (entry.get(prop.section) or {}) for entry in committed[prop.entries])
            assert (f"{prop.section}.{prop.key}" in left_out) == held, prop.path

        # Another database is carried across by the rules alone: no flag.
        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        assert "Done: 'prod' now matches HEAD" in pushed.err

        planned = project.run("plan", "--env", "prod", "--exit-code", "--format", "json")
        assert planned.code == 0, planned.output
        document = json.loads(planned.out)
        assert document["changes"] == []
        assert document["relied_on_force"] == [] and document["across_origins"]
        translated = {item["subject"] for rule in document["translation"] for item in rule["items"]}
        assert translated, "another origin always needs some rule"

        # What Directus itself sees in the untranslated snapshot is what the rules explain.
        committed = store.load_path(project.schema).snapshot
        if any(rule["rule"] == "system-fields-key" for rule in document["translation"]):
            del committed["systemFields"]  # a target before 11.13 refuses the key (400 "is not allowed")
        for change in server_diff(prod, committed):
            subject = change.collection if change.kind == "collection" else f"{change.collection}.{change.field}"
            assert subject in translated or change.kind == "system_field", change

        # And the plan's text says which rules it relied on, and what it carried across.
        text = project.run("plan", "--env", "prod")
        assert "Translated for the target (rules: docs/translation.md):" in text.out
        assert "across origins, by the rules above: the snapshot " in text.out
        assert "relied on --force" not in text.out


def test_a_leaked_system_relation_is_left_out(project: Project, directus_pool: ServerPool) -> None:
    """Snapshots from before 10.13 could carry Directus's own relations; 12.x refuses them with
    400 "already has an associated relationship". The push leaves them out and says so."""
    with pulled_from_dev(project, directus_pool) as (prod, snapshot):
        leaked = {
            "collection": "directus_settings",
            "field": "public_registration_role",
            "related_collection": "directus_roles",
            "meta": {
                "many_collection": "directus_settings",
                "many_field": "public_registration_role",
                "one_collection": "directus_roles",
                "one_deselect_action": "nullify",
            },
            "schema": {
                "table": "directus_settings",
                "column": "public_registration_role",
                "foreign_key_table": "directus_roles",
                "foreign_key_column": "id",
                "on_delete": "SET NULL",
            },
        }
        snapshot["relations"].append(leaked)
        store.write_tree(project.schema, store.render(snapshot))
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "a snapshot with a leaked system relation")

        # Sent as it is, Directus refuses the whole push.
        response = httpx.post(
            f"{prod.url}/schema/diff",
            json=snapshot,
            headers={"Authorization": f"Bearer {prod.token}"},
            timeout=60,
        )
        diff = response.json()["data"]
        applied = httpx.post(
            f"{prod.url}/schema/apply",
            json={**diff, "diff": {**diff["diff"], "systemFields": diff["diff"].get("systemFields", [])}},
            headers={"Authorization": f"Bearer {prod.token}"},
            timeout=60,
        )
        assert applied.status_code == 400 and "already has an associated relationship" in applied.text
        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        assert "left out (system-collections): 1 × directus_settings.public_registration_role" in pushed.out


def test_constraints_directus_makes_or_not_whatever_the_snapshot_says(
    project: Project, directus_pool: ServerPool
) -> None:
    """A relation without a foreign-key constraint (its database lost it outside Directus) gets
    one on every apply, and a field naming a foreign key no relation backs gets none: two
    public snapshot files read back differently after every push until rule
    ``foreign-keys-from-relations`` compared the constraint Directus makes."""
    with pulled_from_dev(project, directus_pool) as (prod, snapshot):
        parent = next(r for r in snapshot["relations"] if (r["collection"], r["field"]) == ("categories", "parent"))
        parent["schema"] = None
        field = next(f for f in snapshot["fields"] if (f["collection"], f["field"]) == ("categories", "parent"))
        field["schema"].update(foreign_key_table=None, foreign_key_column=None)
        cover = json.loads(json.dumps(field))
        cover["field"] = cover["meta"]["field"] = cover["schema"]["name"] = "cover"
        cover["type"] = "uuid"
        cover["meta"].update(special=["file"], interface="file-image", sort=99)
        cover["schema"].update(data_type="char", max_length=36, foreign_key_table="directus_files")
        cover["schema"].update(foreign_key_column="id", numeric_precision=None, numeric_scale=None)
        snapshot["fields"].append(cover)
        store.write_tree(project.schema, store.render(snapshot))
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "a relation without its constraint, a constraint without its relation")

        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        assert "(foreign-keys-from-relations): 2 × categories.parent, categories.cover" in pushed.out
        after = project.run("plan", "--env", "prod", "--format", "json", "--exit-code")
        assert after.code == 0, after.output
        rules = {entry["rule"]: entry for entry in json.loads(after.out)["translation"]}
        details = [(item["subject"], item["detail"]) for item in rules["foreign-keys-from-relations"]["items"]]
        assert ("categories.cover", 'schema.foreign_key_table: "directus_files" → null') in details
        assert ("categories.parent", 'schema.foreign_key_table: null → "categories"') in details
        # What Directus made is really there: a constraint for the relation, none for the field.
        read_back = httpx.get(
            f"{prod.url}/schema/snapshot", headers={"Authorization": f"Bearer {prod.token}"}, timeout=60
        ).json()["data"]
        fields = {(f["collection"], f["field"]): f.get("schema") for f in read_back["fields"]}
        assert fields[("categories", "parent")]["foreign_key_table"] == "categories"
        assert fields[("categories", "cover")]["foreign_key_table"] is None


# Without DIRECTUS_DOWNGRADE_SOURCES (`make test`), the releases the suite installs anyway:
# 11.17.4 into 11.3.5 and into itself on SQLite.
INDEXED_PAIRS = [
    ((source, "sqlite"), target)
    for source in DOWNGRADE_SOURCES
    for target in (("11.3.5", "sqlite"), ("11.3.5", "mariadb"), (source, "sqlite"))
] or [(("11.17.4", "sqlite"), ("11.3.5", "sqlite")), (("11.17.4", "sqlite"), ("11.17.4", "sqlite"))]


@pytest.mark.parametrize(
    ("source", "target"), INDEXED_PAIRS, ids=[f"{s[0]}-{s[1]}-to-{t[0]}-{t[1]}" for s, t in INDEXED_PAIRS]
)
def test_unique_and_plain_indexes_from_a_newer_release_converge(
    project: Project, directus_pool: ServerPool, source: tuple[str, str], target: tuple[str, str]
) -> None:
    """From 11.4 on, SQLite reads a unique index and a plain one apart: 11.7.2 reads a field both
    unique and indexed back as both, where 11.3.5 reports every unique column indexed. Rule
    sqlite-unique-indexed held 11.7.2 to 11.3.5's behaviour, so a push from 11.7.2 to 11.7.2
    sent the field without its index and left it a change."""
    with (
        directus_pool.new_server(source[0], seeded=True, vendor=source[1]) as dev,
        directus_pool.new_server(target[0], vendor=target[1]) as prod,
    ):
        headers = {"Authorization": f"Bearer {dev.token}"}
        for field in (
            # (with meta: 11.17 leaves a field without it out of its snapshot, untracked)
            {
                "field": "handle",
                "type": "string",
                "meta": {},
                "schema": {"is_unique": True, "is_indexed": True, "max_length": 64},
            },
            {"field": "rank", "type": "integer", "meta": {}, "schema": {"is_indexed": True}},
        ):
            made = httpx.post(f"{dev.url}/fields/authors", json=field, headers=headers, timeout=60)
            assert made.status_code == 200, made.text
        project.configure(dev=dev.url, prod=prod.url)
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        if source[0] != target[0]:
            accept_release(project, prod.url, source[0])

        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        planned = project.run("plan", "--env", "prod", "--exit-code", "--format", "json")
        assert planned.code == 0, planned.output
        document = json.loads(planned.out)
        assert document["changes"] == [] and document["relied_on_force"] == []
        used = {rule["rule"]: {item["subject"] for item in rule["items"]} for rule in document["translation"]}
        if target == ("11.3.5", "sqlite"):
            assert "authors.email" in used["sqlite-unique-indexed"]  # the unique field the demo model has
        else:
            assert "sqlite-unique-indexed" not in used

        read_back = httpx.get(
            f"{prod.url}/schema/snapshot", headers={"Authorization": f"Bearer {prod.token}"}, timeout=60
        ).json()["data"]
        fields = {(f["collection"], f["field"]): f.get("schema") for f in read_back["fields"]}
        assert fields[("authors", "handle")]["is_unique"] is True and fields[("authors", "handle")]["is_indexed"]
        assert fields[("authors", "rank")]["is_indexed"] is True and not fields[("authors", "rank")]["is_unique"]


def test_a_setting_an_older_release_lacks_is_not_sent(project: Project, directus_pool: ServerPool) -> None:
    """11.3.5 has no ``visual_editor_urls`` setting (11.7.2 and 11.17.4 have): it accepts one in a
    PATCH and drops it, so the push reported it read back differently, and every plan showed it."""
    with directus_pool.new_server("11.17.4") as dev, directus_pool.new_server("11.3.5") as prod:
        urls = [{"url": "https://example.com/preview"}]
        patched = httpx.patch(
            f"{dev.url}/settings",
            json={"visual_editor_urls": urls},
            headers={"Authorization": f"Bearer {dev.token}"},
            timeout=60,
        )
        assert patched.status_code == 200, patched.text
        project.configure(dev=dev.url, prod=prod.url)
        with (project.root / "directus-gitops.yaml").open("a") as config:
            config.write("sync: [schema, settings]\n")
        project.git("commit", "--quiet", "-am", "settings too")
        project.token("dev", dev.token)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        accept_release(project, prod.url, "11.17.4")

        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        planned = project.run("plan", "--env", "prod", "--exit-code", "--format", "json")
        assert planned.code == 0, planned.output
        document = json.loads(planned.out)
        assert document["changes"] == [] and document["config"]["changes"] == []
        (warning,) = [w for w in document["config"]["warnings"] if "release-only-properties" in w]
        assert "visual_editor_urls" in warning
        # The target really has no such setting, what the rule relies on.
        read = httpx.get(f"{prod.url}/settings", headers={"Authorization": f"Bearer {prod.token}"}, timeout=60)
        assert "visual_editor_urls" not in read.json()["data"] and "project_name" in read.json()["data"]


NO_VENDOR_CELLS = [("sqlite", "postgres"), ("postgres", "postgres")]


@pytest.mark.parametrize("cell", NO_VENDOR_CELLS, ids=["sqlite-postgres", "postgres"])
def test_a_snapshot_without_vendor_is_pushed_without_force(
    project: Project, directus_pool: ServerPool, cell: tuple[str, str]
) -> None:
    """Older 9.x releases wrote no `vendor` (25 of 184 public files), and Directus refuses such a snapshot
    without force. Its column types name the database (rule vendor-inferred): with the release accepted,
    the push converges without --force, the plan saying what it read the file as."""
    made_on, target = cell
    with (
        directus_pool.new_server("9.26.0", seeded=True, vendor=made_on) as dev,
        directus_pool.new_server("9.26.0", vendor=target) as prod,
    ):
        snapshot = demo_model.snapshot(dev.url, dev.token)
        del snapshot["vendor"]
        snapshot["directus"] = "9.22.4"
        path = project.root / "model.yaml"
        path.write_text(yamlio.dump(snapshot))
        (project.root / "directus-gitops.yaml").write_text(
            f"environments:\n  prod: {{url: '{prod.url}', accept_releases: ['9.22.*']}}\n"
        )
        project.token("prod", prod.token)

        pushed = project.run("push", "--env", "prod", "--yes", "--no-backup", "--from", str(path))
        assert pushed.code == 0, pushed.output
        name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[made_on]
        assert f"the snapshot does not record its database vendor; its column types are {name}'s" in pushed.output
        planned = project.run("plan", "--env", "prod", "--exit-code", "--from", str(path))
        assert planned.code == 0, planned.output

        # Types of two databases still need --force, as Directus itself asks.
        mixed = copy.deepcopy(snapshot)
        mixed["fields"][0]["schema"]["data_type"] = "int unsigned" if made_on == "postgres" else "character varying"
        mixed["fields"][1]["schema"]["data_type"] = "character varying" if made_on == "postgres" else "int unsigned"
        path.write_text(yamlio.dump(mixed))
        refused = project.run("plan", "--env", "prod", "--from", str(path))
        assert refused.code == 1 and "does not record its database vendor" in refused.err, refused.output
