"""Column defaults of every kind, made on one database, pulled, and pushed to a new server of each
database: every pair converges (push exit 0, then an empty plan), and each target keeps a default
where its database can hold one.

The defaults here found four defects the demo model did not (2026-12-06): a current-time default
pulled from MariaDB (`current_timestamp()`) failed on every new server; MariaDB never stores a
text or csv field's default (knex leaves it out), so every push there exited 4; 9.26.0 on MariaDB
reads a json default back as its text (exit 4); and a quoted string default exited 4 on MariaDB.
`make test` runs 12.4.1 and 9.26.0 with each database as the source; ``$DIRECTUS_DEFAULTS_VERSIONS``
names others (10.13.4, 11.3.5 and 11.17.4 converged too, measured with the same fields).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import demo_model
import pytest

from directus_gitops.files import store
from tests.conftest import Project
from tests.directus_harness import ServerPool
from tests.samples import find

VERSIONS = os.environ.get("DIRECTUS_DEFAULTS_VERSIONS", "12.4.1 9.26.0").split()
DATABASES = ("sqlite", "postgres", "mariadb")

# (field, type, schema) of the collection `sink`.
FIELDS: list[tuple[str, str, dict[str, Any]]] = [
    ("s_plain", "string", {"default_value": "abc"}),
    ("s_quote", "string", {"default_value": "it's"}),
    ("s_empty", "string", {"default_value": ""}),
    ("s_required", "string", {"default_value": "x", "is_nullable": False}),
    ("s_sized", "string", {"max_length": 40, "default_value": "short"}),
    ("t_text", "text", {"default_value": "long text"}),
    ("i_zero", "integer", {"default_value": 0}),
    ("i_negative", "integer", {"default_value": -1}),
    ("big", "bigInteger", {"default_value": 123456789012}),
    ("f_float", "float", {"default_value": 1.5}),
    ("d_decimal", "decimal", {"numeric_precision": 10, "numeric_scale": 2, "default_value": 3.14}),
    ("b_true", "boolean", {"default_value": True}),
    ("b_false", "boolean", {"default_value": False}),
    ("j_object", "json", {"default_value": {"a": 1}}),
    ("j_array", "json", {"default_value": []}),
    ("ts_now", "timestamp", {"default_value": "now()"}),
    ("dt_current", "dateTime", {"default_value": "CURRENT_TIMESTAMP"}),
    ("dt_fixed", "dateTime", {"default_value": "2020-01-02 03:04:05"}),
    ("d_fixed", "date", {"default_value": "2020-01-02"}),
    ("tm_fixed", "time", {"default_value": "12:34:56"}),
    ("c_csv", "csv", {"default_value": "a,b"}),
    ("u_uuid", "uuid", {}),
    ("s_unique", "string", {"is_unique": True}),
    ("s_indexed", "string", {"is_indexed": True}),
]
SPECIAL = {"json": ["cast-json"], "csv": ["cast-csv"]}


def _not_held(vendor: str, version: str) -> set[str]:
    """The defaults a target's database cannot hold (rule mysql-text-default): a text field's on
    MySQL/MariaDB, and a csv field's from 10.7, where it is a TEXT column."""
    if vendor != "mariadb":
        return set()
    return {"t_text"} | ({"c_csv"} if tuple(int(p) for p in version.split(".")) >= (10, 7, 0) else set())


def _made(url: str, token: str) -> None:
    demo_model.create_collection(url, token, "sink")
    for name, kind, schema in FIELDS:
        meta = {"special": SPECIAL[kind]} if kind in SPECIAL else {}
        demo_model.add_field(url, token, "sink", name, kind, meta=meta, schema=schema)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("source", DATABASES)
def test_defaults_pulled_from_any_database_converge_on_every_database(
    project: Project, directus_pool: ServerPool, version: str, source: str
) -> None:
    with contextlib.ExitStack() as servers:
        dev = servers.enter_context(directus_pool.new_server(version, vendor=source))
        targets = {
            vendor: servers.enter_context(directus_pool.new_server(version, vendor=vendor)) for vendor in DATABASES
        }
        project.configure(dev=dev.url, **{f"to_{vendor}": server.url for vendor, server in targets.items()})
        project.token("dev", dev.token)
        for vendor, server in targets.items():
            project.token(f"to_{vendor}", server.token)
        _made(dev.url, dev.token)
        pulled = project.run("pull", "--env", "dev")
        assert pulled.code == 0, pulled.output
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", "sink")
        committed = store.load_path(project.schema).snapshot

        for vendor, server in targets.items():
            pushed = project.run("push", "--env", f"to_{vendor}", "--yes", "--no-backup")
            assert pushed.code == 0, (vendor, pushed.output)
            planned = project.run("plan", "--env", f"to_{vendor}", "--exit-code")
            assert planned.code == 0, (vendor, planned.output)
            theirs = demo_model.snapshot(server.url, server.token)
            for name, _, schema in FIELDS:
                if "default_value" not in schema:
                    continue
                default = find(theirs, "fields", "sink", name)["schema"]["default_value"]
                wanted = find(committed, "fields", "sink", name)["schema"]["default_value"]
                if name in _not_held(vendor, version):
                    assert default is None, (vendor, name, default)
                else:
                    assert default is not None or wanted is None, (vendor, name)
