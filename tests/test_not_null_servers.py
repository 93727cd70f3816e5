"""Rule not-null-restored on real servers: Directus 9.x, 10.x and 11.0 drop a column's NOT NULL
when an apply edits only its field's ``meta`` and the column has a numeric or boolean default.
The push makes it NOT NULL again before it reads the target back; from 11.1 Directus keeps it and
the push asks nothing more.

``make test`` runs 10.13.4 on SQLite and 9.26.0 on PostgreSQL; ``make test-not-null`` adds 11.0.1
and 11.1.0 on SQLite (DIRECTUS_NOT_NULL_CELLS)."""

from __future__ import annotations

import copy
import os
from typing import Any

import demo_model
import httpx
import pytest

from directus_gitops.files import snapshot as snap
from directus_gitops.files import yamlio
from tests.conftest import Project
from tests.directus_harness import ServerPool

# products.price: float NOT NULL DEFAULT 0; settings.maintenance_mode: boolean NOT NULL DEFAULT false.
REQUIRED = (("products", "price"), ("settings", "maintenance_mode"))
CELLS = [
    tuple(cell.split(":"))
    for cell in os.environ.get("DIRECTUS_NOT_NULL_CELLS", "10.13.4:sqlite 9.26.0:postgres").split()
]


def _noted(snapshot: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(snapshot)
    for field in result["fields"]:
        if (field["collection"], field["field"]) in REQUIRED:
            field["meta"]["note"] = "Shown to editors."
    return result


def _nullable(snapshot: dict[str, Any]) -> list[bool]:
    by_name = {(f["collection"], f["field"]): f for f in snapshot["fields"]}
    return [by_name[name]["schema"]["is_nullable"] for name in REQUIRED]


@pytest.mark.parametrize(("version", "vendor"), CELLS)
def test_a_meta_edit_keeps_the_columns_not_null(
    project: Project, directus_pool: ServerPool, version: str, vendor: str
) -> None:
    with directus_pool.new_server(version, seeded=True, vendor=vendor) as prod:
        project.configure(prod=prod.url)
        project.token("prod", prod.token)
        before = demo_model.snapshot(prod.url, prod.token)
        assert _nullable(before) == [False, False]
        model = _noted(before)

        # Directus alone, first, on a second server: before 11.1 its apply leaves the columns nullable.
        drops = (snap.release(version) or (0, 0, 0)) < (11, 1, 0)
        with directus_pool.new_server(version, seeded=True, vendor=vendor) as alone:
            with httpx.Client(base_url=alone.url, headers={"Authorization": f"Bearer {alone.token}"}) as http:
                diff = http.post("/schema/diff", json=model).json()["data"]
                assert http.post("/schema/apply", json=diff).status_code == 204
            assert _nullable(demo_model.snapshot(alone.url, alone.token)) == [drops, drops]

        path = project.root / "model.yaml"
        path.write_text(yamlio.dump(model))
        pushed = project.run("push", "--env", "prod", "--yes", "--from", str(path))
        assert pushed.code == 0, pushed.output + pushed.err
        said = pushed.output + pushed.err
        assert ("restored NOT NULL on 2 column(s)" in said and "(rule not-null-restored)" in said) is drops, said
        after = demo_model.snapshot(prod.url, prod.token)
        assert _nullable(after) == [False, False]
        assert [f["meta"]["note"] for f in after["fields"] if (f["collection"], f["field"]) in REQUIRED] == [
            "Shown to editors."
        ] * 2
        planned = project.run("plan", "--env", "prod", "--from", str(path), "--exit-code")
        assert planned.code == 0, planned.output
