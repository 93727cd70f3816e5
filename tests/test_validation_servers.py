"""What validation refuses before anything is sent, shown refused (or read back broken) by
Directus itself on a real 12.4.1 server: the cases come from public snapshot files
(Destrifer/VANO3, JuninhoFreitas/logisticars, vdistortion/kira-sekira, 10.13.4 answering the same
for these three; Saltefant/PrintStore, johann-b82/kpi-dashboard, Rafamaro/Gastos02). What
Directus applies and reads back as the file says is a warning instead (tests/test_check.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import demo_model
import httpx
import pytest

from directus_gitops.files import yamlio
from tests.conftest import Project
from tests.directus_harness import ServerPool
from tests.samples import find

pytestmark = pytest.mark.directus

VERSION = "12.4.1"
Snapshot = dict[str, Any]


def _without_author_field(snapshot: Snapshot) -> None:  # VANO3: the junction's fields are gone
    snapshot["fields"].remove(find(snapshot, "fields", "articles", "author"))


def _relation_of_a_missing_collection(snapshot: Snapshot) -> None:  # logisticars: a deleted collection's
    relation = copy.deepcopy(find(snapshot, "relations", "articles", "author"))
    relation["collection"] = relation["meta"]["many_collection"] = "gone"
    relation["schema"] = None
    snapshot["relations"].append(relation)


def _fields_of_a_missing_collection(snapshot: Snapshot) -> None:  # kira-sekira: galleries_translations
    field = copy.deepcopy(find(snapshot, "fields", "tags", "name"))
    field["collection"] = field["meta"]["collection"] = field["schema"]["table"] = "gone"
    snapshot["fields"].append(field)


def _relation_twice(snapshot: Snapshot) -> None:  # kira-sekira: gallery_images.gallery, once without schema
    relation = copy.deepcopy(find(snapshot, "relations", "articles", "author"))
    relation.pop("schema")
    snapshot["relations"].append(relation)


def _relation_to_directus_languages(snapshot: Snapshot) -> None:  # Saltefant/PrintStore: no release has it
    find(snapshot, "relations", "articles", "author")["related_collection"] = "directus_languages"


def _column_in_a_folder(snapshot: Snapshot) -> None:  # johann-b82/kpi-dashboard: tables written as folders
    field = copy.deepcopy(find(snapshot, "fields", "tags", "name"))
    field["collection"] = field["meta"]["collection"] = field["schema"]["table"] = "blog"
    field["meta"].pop("id", None)
    snapshot["fields"].append(field)


def _id_beside_the_key_directus_adds(snapshot: Snapshot) -> None:  # Rafamaro/Gastos02: no primary key, a field id
    collection = copy.deepcopy(find(snapshot, "collections", "tags"))
    collection["collection"] = collection["meta"]["collection"] = collection["schema"]["name"] = "ledger"
    snapshot["collections"].append(collection)
    for name, kind in (("id", "uuid"), ("label", "string")):
        field = copy.deepcopy(find(snapshot, "fields", "tags", "name"))
        field.update(field=name, collection="ledger", type=kind)
        field["meta"].update(field=name, collection="ledger")
        field["meta"].pop("id", None)
        field["schema"].update(name=name, table="ledger", data_type=kind if kind == "uuid" else "varchar")
        if name == "id":
            field["schema"] = None
        snapshot["fields"].append(field)


CASES: dict[str, tuple[Callable[[Snapshot], None], str, int, str]] = {
    # edit, what the tool says (with the way out), Directus's answer to the apply, its message
    "a relation on a field the file lacks": (
        _without_author_field,
        "field 'articles.author' is not defined: add the field, or remove the relation",
        400,
        'Field \\"author\\" doesn\'t exist in collection \\"articles\\"',
    ),
    "a relation on a collection the file lacks": (
        _relation_of_a_missing_collection,
        "collection 'gone' is not defined: add it, or remove the relation",
        400,
        'Collection \\"gone\\" doesn\'t exist',
    ),
    "fields of a collection the file lacks": (
        _fields_of_a_missing_collection,
        "collection 'gone' is not defined: add it, or remove its fields (",
        500,
        "Cannot read properties of undefined",
    ),
    "a relation to a directus_* collection no release has": (
        _relation_to_directus_languages,
        "related collection 'directus_languages' is not defined: add it, or remove the relation",
        400,
        'Collection \\"directus_languages\\" doesn\'t exist',
    ),
    "column fields in a folder": (
        _column_in_a_folder,
        "collection 'blog' is a folder (schema: null), which has no table for its column fields (name): "
        "Directus drops them, and refuses relations on them; give it a table (schema: {name: blog}), or remove "
        "the fields",
        204,
        "",
    ),
    "a field id in a table without a primary key": (
        _id_beside_the_key_directus_adds,
        "ledger.id: collection 'ledger' has no primary key field, so Directus adds one named 'id'",
        500,
        "duplicate column name: id",
    ),
    "a relation listed twice": (
        _relation_twice,
        "relation articles.author is defined again (also at line ",
        204,
        "",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_what_directus_refuses_is_refused_before_anything_is_sent(
    project: Project, directus_pool: ServerPool, case: str
) -> None:
    edit, said, status, answer = CASES[case]
    with (
        directus_pool.new_server(VERSION, seeded=True) as dev,
        directus_pool.new_server(VERSION) as prod,
    ):
        snapshot = demo_model.snapshot(dev.url, dev.token)
        edit(snapshot)
        path = project.root / "model.yaml"
        path.write_text(yamlio.dump(snapshot))
        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        before = demo_model.snapshot(prod.url, prod.token)

        pushed = project.run("push", "--env", "prod", "--yes", "--from", str(path))
        assert pushed.code == 1, pushed.output
        assert said in pushed.err
        assert "hint: `directus-gitops check` lists every problem; nothing was compared or sent" in pushed.err
        assert demo_model.snapshot(prod.url, prod.token) == before

        # Directus's own diff and apply of the same file, as the refusal saves the user from.
        with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}, timeout=120) as http:
            diff = http.post("/schema/diff", json=snapshot)
            assert diff.status_code == 200, diff.text
            applied = http.post("/schema/apply", json=diff.json()["data"])
            assert applied.status_code == status, applied.text
            assert answer in applied.text
            after = http.get("/schema/snapshot").json()["data"]
        if status != 204:
            assert demo_model.snapshot(prod.url, prod.token) == before  # rolled back: nothing applied
        elif case == "a relation listed twice":  # applied, and never again what the file says: it comes back 3 times
            listed = [r for r in after["relations"] if (r["collection"], r["field"]) == ("articles", "author")]
            assert len(listed) == 3
        else:  # applied, and the field is not there: every diff proposes it again
            assert not [f for f in after["fields"] if f["collection"] == "blog"]
            with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}) as http:
                again = http.post("/schema/diff", json=snapshot).json()["data"]["diff"]["fields"]
            assert [(f["collection"], f["field"]) for f in again] == [("blog", "name")]


def test_a_key_given_twice_in_a_json_file_is_taken_as_directus_takes_it(
    project: Project, directus_pool: ServerPool
) -> None:
    """Directus's own JSON export may give a key twice (AlperTom/CarBot, 10.10: a field's
    schema.is_unique): Directus reads it with JSON.parse, the last value counting, and so does
    the tool, with a warning instead of refusing the file."""
    with (
        directus_pool.new_server(VERSION, seeded=True) as dev,
        directus_pool.new_server(VERSION) as prod,
    ):
        snapshot = demo_model.snapshot(dev.url, dev.token)
        schema = find(snapshot, "fields", "articles", "title")["schema"]
        assert schema["is_unique"] is False
        schema["given again"] = True  # (last in the mapping: becomes the second is_unique)
        # (Written without the space after the colon, to tell it from the others.)
        text = json.dumps(snapshot, indent=2).replace('"given again": true', '"is_unique":true', 1)
        path = project.root / "model.json"
        path.write_text(text)
        numbered = list(enumerate(text.splitlines(), 1))
        last = next(number for number, line in numbered if '"is_unique":true' in line)
        first = max(number for number, line in numbered if '"is_unique": false' in line and number < last)

        # Directus itself takes the file as it is, and the last value.
        with httpx.Client(base_url=prod.url, headers={"Authorization": f"Bearer {prod.token}"}, timeout=120) as http:
            diff = http.post("/schema/diff", content=text, headers={"Content-Type": "application/json"})
            assert diff.status_code == 200, diff.text
            (title,) = [
                f
                for f in diff.json()["data"]["diff"]["fields"]
                if (f["collection"], f["field"]) == ("articles", "title")
            ]
            assert title["diff"][0]["rhs"]["schema"]["is_unique"] is True

        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        pushed = project.run("push", "--env", "prod", "--yes", "--from", str(path))
        assert pushed.code == 0, pushed.output
        said = f"model.json:{last}: key 'is_unique' given twice (also at line {first}), with different values"
        assert said in pushed.err and "(true)" in pushed.err, pushed.err
        assert find(demo_model.snapshot(prod.url, prod.token), "fields", "articles", "title")["schema"]["is_unique"]
        planned = project.run("plan", "--env", "prod", "--from", str(path), "--exit-code")
        assert planned.code == 0, planned.output  # converged: nothing left to change
        assert said in planned.err
