"""A diff over the client's multipart threshold, pushed to the release that takes it only as JSON.

Directus 9.x reads ``POST /schema/apply``'s body only as JSON (10.x and later take a multipart
upload too): a large diff sent as an upload arrived empty and was refused, 400 '"hash" is
required'. Here it goes as JSON, and one over the server's MAX_PAYLOAD_SIZE is refused whole
with the limit named. Directus 12 cuts an upload over IMPORT_MAX_FILE_SIZE off the same way.
"""

from __future__ import annotations

import json

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


def with_long_notes(snapshot: dict[str, object], note: int) -> dict[str, object]:
    """``snapshot`` plus one collection of FIELDS text fields, each with a note of ``note`` characters."""
    name = "long_notes"
    fields = [synthetic.key_field(name)]
    fields += [synthetic.field(name, f"field_{n:02d}", "text", "text", None, n + 2) for n in range(FIELDS)]
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

        # Over the server's JSON limit: refused before anything changed, with the way out.
        commit(project, with_long_notes(empty, limit // FIELDS), "notes too long for one JSON body")
        refused = project.run("push", "--env", "prod", "--yes")
        assert refused.code == 1, refused.output
        assert "over the target's MAX_PAYLOAD_SIZE" in refused.err and "only as JSON" in refused.err
        assert "nothing reached the target" in refused.err and "raise MAX_PAYLOAD_SIZE" in refused.err
        assert '"hash" is required' not in refused.err
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
