"""A diff over the client's multipart threshold, pushed to the release that takes it only as JSON.

Directus 9.x reads ``POST /schema/apply``'s body only as JSON (10.x and later take a multipart
upload too): a large diff sent as an upload arrived empty and was refused, 400 '"hash" is
required'. Here it goes as JSON, and one over the server's MAX_PAYLOAD_SIZE is refused whole
with the limit named. Directus 12 cuts an upload over IMPORT_MAX_FILE_SIZE off the same way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from directus_gitops.engine import translate
from directus_gitops.files import store
from directus_gitops.server.client import MULTIPART_THRESHOLD
from tests import synthetic
from tests.conftest import Project
from tests.directus_harness import ServerPool

pytestmark = pytest.mark.directus

RELEASE = "9.26.0"
FIELDS = 12


def with_long_notes(snapshot: dict[str, object], note: int, count: int = FIELDS) -> dict[str, object]:
    """``snapshot`` plus one collection of ``count`` text fields, each with a note of ``note`` characters."""
    name = "long_notes"
    fields = [synthetic.key_field(name)]
    fields += [synthetic.field(name, f"field_{n:02d}", "text", "text", None, n + 2) for n in range(count)]
    for entry in fields[1:]:
        entry["meta"]["note"] = f"{entry['field']}: " + "n" * note
    table = synthetic.collection(name, None)
    table["meta"]["archive_value"] = None  # (every release writes it; the synthetic model leaves it out)
    entries = {"collections": [table], "fields": fields}
    for prop in translate.unknown_to(RELEASE):  # as a 9.26.0 server would have written them
        for entry in entries.get(prop.entries, []):
            (entry.get(prop.section) or {}).pop(prop.key, None)
    result = dict(snapshot)
    for key, added in entries.items():
        result[key] = [*snapshot[key], *added]  # type: ignore[misc]
    return result


def commit(project: Project, snapshot: dict[str, object], message: str) -> None:
    store.write_tree(project.schema, store.render(snapshot))
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", message)


def test_a_large_diff_is_applied_on_directus_9_or_refused_whole_with_the_limit_named(
    project: Project, directus_pool: ServerPool
) -> None:
    with directus_pool.new_server(RELEASE) as prod:
        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "prod", "--commit").code == 0
        empty = store.load_path(project.schema).snapshot
        limit = 1024 * 1024  # MAX_PAYLOAD_SIZE's default, 1mb

        # One field over the server's JSON limit on its own: no part can hold it. The target is
        # asked first (POST /utils/hash/generate, which changes nothing), so the push is refused
        # before anything changed, with the way out.
        commit(project, with_long_notes(empty, limit + 1024, count=1), "a note too long for one JSON body")
        refused = project.run("push", "--env", "prod", "--yes")
        assert refused.code == 1, refused.output
        assert "over the target's MAX_PAYLOAD_SIZE" in refused.err and "only as JSON" in refused.err
        assert "cannot be cut smaller" in refused.err and "raise MAX_PAYLOAD_SIZE" in refused.err
        assert "nothing reached the target" in refused.err and '"hash" is required' not in refused.err
        assert project.run("pull", "--env", "prod").code == 0
        assert store.load_path(project.schema).snapshot["collections"] == empty["collections"]

        # Over the multipart threshold, under the limit: applied as JSON, and the target converges.
        note = (MULTIPART_THRESHOLD + limit) // 2 // FIELDS
        model = with_long_notes(empty, note)
        added = [f for f in model["fields"] if f["collection"] == "long_notes"]  # type: ignore[attr-defined]
        assert len(json.dumps(added)) > MULTIPART_THRESHOLD  # the diff carries each new field whole
        commit(project, model, "long notes")
        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        assert project.run("plan", "--env", "prod", "--exit-code").code == 0
        # Pulled back whole (the secret scanner once took about 5 s per note this long).
        assert project.run("pull", "--env", "prod").code == 0
        pulled = store.load_path(project.schema).snapshot["fields"]
        notes = [f["meta"]["note"] for f in pulled if f["collection"] == "long_notes" and f["field"] != "id"]
        assert notes == [f["meta"]["note"] for f in added if f["field"] != "id"]


def test_an_upload_over_import_max_file_size_is_refused_whole_with_the_limit_named(
    project: Project, directus_pool: ServerPool
) -> None:
    # Directus 12 reads the schema endpoints' uploads under IMPORT_MAX_FILE_SIZE (50mb by default:
    # a diff of about 3,000 new collections); 1mb here stands for it.
    with directus_pool.new_server("12.4.1", env={"IMPORT_MAX_FILE_SIZE": "1mb"}) as prod:
        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "prod", "--commit").code == 0
        empty = store.load_path(project.schema).snapshot
        commit(project, with_long_notes(empty, 2 * 1024 * 1024 // FIELDS), "notes too long for one upload")
        refused = project.run("push", "--env", "prod", "--yes")
        assert refused.code == 1, refused.output
        assert "is over the target's IMPORT_MAX_FILE_SIZE" in refused.err and "the endpoint did not run" in refused.err
        assert "hint: raise IMPORT_MAX_FILE_SIZE" in refused.err and "Traceback" not in refused.output
        assert project.run("pull", "--env", "prod").code == 0
        assert store.load_path(project.schema).snapshot["collections"] == empty["collections"]


def in_release(snapshot: dict[str, Any], release: str, vendor: object) -> dict[str, object]:
    """The generated ``snapshot`` as a ``release`` server on ``vendor`` would write it: no
    property it lacks, a key on each many-to-one field, and no decimal or timestamp fields
    (which this generator writes as 12.x on SQLite does, not as 9.x: those have tests of their
    own in test_readback_quirks.py)."""
    result = {**snapshot, "directus": release, "vendor": vendor}
    for entry in result["fields"]:
        if entry["type"] in ("decimal", "timestamp"):
            integer = synthetic.field(entry["collection"], entry["field"], "integer", "integer", None, 1)
            entry.update(type="integer", schema=integer["schema"])
    fields = {(f["collection"], f["field"]): f for f in result["fields"]}
    for relation in result["relations"]:
        schema = fields[relation["collection"], relation["field"]]["schema"]
        schema.update(foreign_key_table=relation["related_collection"], foreign_key_column="id")
    result.pop("systemFields", None)  # (11.17 and later)
    for prop in translate.unknown_to(release):
        for entry in result.get(prop.entries, []):  # type: ignore[attr-defined]
            (entry.get(prop.section) or {}).pop(prop.key, None)
    return result


@pytest.mark.parametrize("vendor", ["sqlite", "postgres", "mariadb"])
def test_a_diff_over_max_payload_size_is_applied_in_parts_and_removed_in_parts(
    project: Project, directus_pool: ServerPool, vendor: str
) -> None:
    # 60 collections in 5 folders, 10 fields each, every third with a relation: about 0.6 MB of
    # diff to create, and as much to remove, against a MAX_PAYLOAD_SIZE of 128kb. The model is
    # SQLite's, pushed to each database as from development.
    with directus_pool.new_server(RELEASE, vendor=vendor, max_payload_size="128kb") as prod:
        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        assert project.run("pull", "--env", "prod", "--commit").code == 0
        empty = store.load_path(project.schema).snapshot
        generated = synthetic.model(collections=60, fields=10)
        assert not empty["collections"]  # (a new server: the model is all there is)
        model = in_release(generated, RELEASE, "sqlite")  # made on SQLite, as in development
        assert len(json.dumps(generated)) > 4 * 128 * 1024
        commit(project, model, "60 collections")
        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        assert "for its MAX_PAYLOAD_SIZE: applying it in" in pushed.err and "part 1 of " in pushed.err
        assert project.run("plan", "--env", "prod", "--exit-code").code == 0
        assert project.run("pull", "--env", "prod").code == 0
        pulled = store.load_path(project.schema).snapshot
        assert {c["collection"] for c in pulled["collections"]} == {c["collection"] for c in generated["collections"]}
        assert len(pulled["relations"]) == len(generated["relations"])

        # Most fields removed again, the many-to-one ones with their relations: each deletion
        # carries the field it removes, as large a diff again. (A removed collection's entry
        # alone removes its fields: that diff is small.)
        kept = [f for f in model["fields"] if f["field"] in ("id", "field_01")]  # type: ignore[attr-defined]
        commit(project, {**model, "fields": kept, "relations": []}, "remove most fields")
        removed = project.run("push", "--env", "prod", "--yes", "--allow-data-loss")
        assert removed.code == 0, removed.output
        assert "applying it in" in removed.err
        assert project.run("plan", "--env", "prod", "--exit-code").code == 0
