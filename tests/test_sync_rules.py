"""Ignore rules and merge mode against real Directus servers (12.4.1, and 10.13.4, whose
endpoints cannot filter anything: the rules are applied client-side)."""

from __future__ import annotations

import json
from typing import Any

import demo_model
import httpx

from directus_gitops.files import store
from tests import mermaid_parser
from tests.conftest import Project, Result
from tests.directus_harness import ServerPool


def _relate(server: Any, many: str, field: str, one: str) -> None:
    response = httpx.post(
        f"{server.url}/relations",
        json={"collection": many, "field": field, "related_collection": one},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    )
    assert response.status_code < 300, response.text


def _names(server: Any) -> set[str]:
    snapshot = demo_model.snapshot(server.url, server.token)
    return (
        {c["collection"] for c in snapshot["collections"]}
        | {f"{f['collection']}.{f['field']}" for f in snapshot["fields"]}
        | {f"relation {r['collection']}.{r['field']}" for r in snapshot["relations"]}
    )


def _configure(project: Project, text: str, **servers: Any) -> None:
    (project.root / "directus-gitops.yaml").write_text(text)
    for name, server in servers.items():
        project.token(name, server.token)
    project.git("add", "directus-gitops.yaml", ".gitignore")
    project.git("commit", "--quiet", "-m", "Configure directus-gitops")


def _ok(result: Result) -> Result:
    assert result.code == 0, result.output
    return result


def _planned(project: Project, *args: str) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(_ok(project.run("plan", "--format", "json", *args)).out)
    return plan


def test_ignored_parts_survive_a_push_and_merge_mode_keeps_what_only_the_target_has(
    project: Project, directus_pool: ServerPool
) -> None:
    with (
        directus_pool.new_server("12.4.1", seeded=True) as dev,
        directus_pool.new_server("12.4.1", seeded=True) as prod,
    ):
        ruled = (
            "ignore:\n  collections: [logs_*]\n"
            f"environments:\n  dev: {{url: '{dev.url}'}}\n"
            f"  prod:\n    url: '{prod.url}'\n    ignore: {{fields: [articles.hotfix]}}\n"
        )
        _configure(project, ruled, dev=dev, prod=prod)
        # dev has a log table of its own; prod a staging-only log table related to a kept
        # collection, and a field hot-fixed on production.
        demo_model.create_collection(dev.url, dev.token, "logs_dev")
        demo_model.create_collection(prod.url, prod.token, "logs_staging")
        demo_model.add_field(prod.url, prod.token, "authors", "last_log", "integer")
        _relate(prod, "authors", "last_log", "logs_staging")
        demo_model.add_field(prod.url, prod.token, "articles", "hotfix", note="set on production")
        demo_model.add_field(dev.url, dev.token, "articles", "subtitle")

        pulled = _ok(project.run("pull", "--env", "dev", "--commit"))
        assert "Left out by ignore rules: 1 collection." in pulled.err
        files = store.load_path(project.schema).snapshot
        assert "logs_dev" not in {c["collection"] for c in files["collections"]}

        plan = _planned(project, "--env", "prod")
        assert [(c["action"], c["name"]) for c in plan["changes"]] == [("create", "articles.subtitle")]
        text = _ok(project.run("plan", "--env", "prod")).out
        markdown = _ok(project.run("plan", "--env", "prod", "--format", "markdown")).out
        for hidden in ("logs_", "hotfix", "last_log"):
            assert hidden not in text and hidden not in markdown
        # The comment of a real change carries a diagram Mermaid's own parser accepts.
        [diagram] = mermaid_parser.blocks(markdown)
        assert 'string subtitle "+ added"' in diagram
        assert mermaid_parser.parse(diagram) == {"ok": True, "type": "er"}

        _ok(project.run("push", "--env", "prod", "--yes"))
        on_prod = _names(prod)
        assert {"logs_staging", "articles.hotfix", "authors.last_log", "relation authors.last_log"} <= on_prod
        assert "articles.subtitle" in on_prod and "logs_dev" not in on_prod

        # Without the rules the same plan drops them (so the assertions above can fail).
        mirror = _planned(project, "--env", "dev", "--ref", "HEAD")
        assert mirror["changes"] == []  # dev itself keeps logs_dev
        (project.root / "directus-gitops.yaml").write_text(
            f"environments:\n  dev: {{url: '{dev.url}'}}\n  prod: {{url: '{prod.url}'}}\n"
        )
        unruled = _planned(project, "--env", "prod")
        assert {("delete", "logs_staging"), ("delete", "articles.hotfix")} <= {
            (c["action"], c["name"]) for c in unruled["changes"]
        }
        (project.root / "directus-gitops.yaml").write_text(ruled)

        # Merge mode: target-only parts stay, and a second merge push has nothing to do.
        demo_model.add_field(dev.url, dev.token, "authors", "nickname")
        _ok(project.run("pull", "--env", "dev", "--commit"))
        demo_model.create_collection(prod.url, prod.token, "prod_only")
        demo_model.add_field(prod.url, prod.token, "authors", "prod_extra")
        merge = _planned(project, "--env", "prod", "--mode", "merge")
        assert merge["mode"] == "merge"
        assert [(c["action"], c["name"]) for c in merge["changes"]] == [("create", "authors.nickname")]
        # What merge mode kept is listed; ignored parts are not part of any plan.
        assert {(k["kind"], k["name"]) for k in merge["kept"]} == {
            ("collection", "prod_only"),
            ("field", "authors.prod_extra"),
        }
        pushed = _ok(project.run("push", "--env", "prod", "--mode", "merge", "--yes"))
        assert "Kept on the target (merge mode):" in pushed.out
        assert {"prod_only", "authors.prod_extra", "logs_staging", "articles.hotfix", "authors.nickname"} <= _names(
            prod
        )
        again = _ok(project.run("push", "--env", "prod", "--mode", "merge", "--yes"))
        assert "already matches" in again.out and "No changes." in again.out


def test_ignore_rules_on_10_13_4(project: Project, directus_pool: ServerPool) -> None:
    with directus_pool.new_server("10.13.4", seeded=True) as server:
        _configure(
            project,
            "ignore: {collections: [logs_*], fields: ['*.legacy_*']}\n"
            f"environments:\n  dev: {{url: '{server.url}'}}\n",
            dev=server,
        )
        demo_model.create_collection(server.url, server.token, "logs_import")
        demo_model.add_field(server.url, server.token, "authors", "legacy_code")
        _ok(project.run("pull", "--commit"))
        written = (project.schema / "collections" / "authors.yaml").read_text()
        assert "legacy_code" not in written and not (project.schema / "collections" / "logs_import.yaml").exists()
        assert _planned(project)["changes"] == []
        _ok(project.run("push", "--yes"))
        assert {"logs_import", "authors.legacy_code"} <= _names(server)
