"""This repository's own schema/ is the demo model: kept current, and pushable for real.

It was pulled from Directus 12.4.1 seeded with scripts/demo_model.py; these tests run on that
version whatever DIRECTUS_VERSIONS says, because a snapshot is tied to its Directus version.
"""

from __future__ import annotations

from pathlib import Path

import demo_model

from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from directus_gitops.model import changes
from tests.conftest import Project
from tests.directus_harness import ServerPool

ROOT = Path(__file__).resolve().parent.parent
VERSION = "12.4.1"


def committed() -> snap.Snapshot:
    return store.load_path(ROOT / "schema").snapshot


def test_repository_schema_is_canonical_and_from_the_expected_version() -> None:
    loaded = store.load_path(ROOT / "schema")
    assert loaded.layout == "split"
    assert loaded.snapshot["directus"] == VERSION
    assert store.same_content(ROOT / "schema", store.render(loaded.snapshot))


def test_repository_schema_matches_the_demo_model(directus_pool: ServerPool) -> None:
    with directus_pool.new_server(VERSION, seeded=True) as server:
        live = demo_model.snapshot(server.url, server.token)
    drift = changes.compare(committed(), live)
    assert not drift, f"schema/ is stale; run `make schema`: {drift.summary()}"


def test_repository_schema_pushes_to_an_empty_server(project: Project, directus_pool: ServerPool) -> None:
    with directus_pool.new_server(VERSION) as prod:
        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        result = project.run("push", "--env", "prod", "--from", str(ROOT / "schema"), "--yes")
        assert result.code == 0, result.output
        assert "already matches" in project.run("plan", "--env", "prod", "--from", str(ROOT / "schema")).out
        target = demo_model.snapshot(prod.url, prod.token)
    assert snap.canonical(target)["relations"] == snap.canonical(committed())["relations"]
