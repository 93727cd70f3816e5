"""status and fan-out against two real Directus 12.4.1 servers (staging and production)."""

from __future__ import annotations

import json
from typing import Any

import demo_model

from directus_gitops.files import store
from tests.conftest import Project, Result
from tests.directus_harness import ServerPool
from tests.test_sync_rules import _configure, _names, _ok


def _status(project: Project, *args: str) -> dict[str, Any]:
    result = project.run("status", "--format", "json", *args)
    assert result.code in (0, 2), result.output
    document: dict[str, Any] = json.loads(result.out)
    return {env["env"]: env for env in document["environments"]}


def _commit_note(project: Project, note: str) -> str:
    """A commit that changes one field's note in the files (no server involved)."""
    snapshot = store.load_path(project.schema).snapshot
    for entry in snapshot["fields"]:
        if (entry["collection"], entry["field"]) == ("authors", "name"):
            entry["meta"]["note"] = note
    store.write_tree(project.schema, store.render(snapshot))
    project.git("commit", "--quiet", "-am", f"note: {note}")
    return project.git("rev-parse", "HEAD").strip()


def _summary_rows(result: Result) -> list[str]:
    lines = result.out.splitlines()
    assert lines.count("Summary:") == 1, result.output
    return lines[lines.index("Summary:") + 3 :]


def test_status_names_each_environments_commit_and_fan_out_stops_at_a_failure(
    project: Project, directus_pool: ServerPool
) -> None:
    with (
        directus_pool.new_server("12.4.1", seeded=True) as staging,
        directus_pool.new_server("12.4.1", seeded=True) as production,
    ):
        _configure(
            project,
            f"environments:\n  staging: {{url: '{staging.url}'}}\n  production: {{url: '{production.url}'}}\n",
            staging=staging,
            production=production,
        )
        _ok(project.run("pull", "--env", "staging", "--commit"))
        first = project.git("rev-parse", "HEAD").strip()
        second = _commit_note(project, "Shown on the byline.")

        states = _status(project)
        assert (states["staging"]["state"], states["staging"]["commit"], states["staging"]["behind"]) == (
            "behind",
            first,
            1,
        )
        assert states["production"]["commit"] == first
        # The plan says where the target stands: every change is the change under review.
        planned = project.run("plan", "--env", "staging")
        assert f"'staging' runs {first[:10]} (1 schema commit(s) behind HEAD" in planned.out, planned.output

        # A change made directly on production is drift, listed against the closest commit.
        demo_model.add_field(production.url, production.token, "articles", "hotfix")
        states = _status(project, "--exit-code")
        drift = states["production"]
        assert (drift["state"], drift["commit"]) == ("drifted", first)
        assert [(c["action"], c["name"]) for c in drift["drift"]] == [("create", "articles.hotfix")]
        assert project.run("status", "--env", "production", "--exit-code").code == 2
        # The plan tells the hot-fix (put back by the push) from the change under review.
        planned = project.run("plan", "--env", "production")
        assert f"Changed on 'production' since it matched {first[:10]}" in planned.out, planned.output
        told = planned.out.split("Changed on 'production'", 1)[1]
        assert "- field articles.hotfix" in told and "authors.name" not in told, planned.out
        origin = json.loads(project.run("plan", "--env", "production", "--format", "json").out)["origin"]
        assert (origin["commit"], origin["exact"], origin["drift"]) == (first, False, ["- field articles.hotfix"])

        # Fan-out: production refuses (dropping the hot-fixed column loses data), so staging,
        # which has a change waiting, is not touched...
        stopped = project.run("push", "--env", "production", "--env", "staging", "--yes")
        assert stopped.code == 3, stopped.output
        rows = _summary_rows(stopped)
        assert rows[0].startswith("production") and "failed: refusing to push" in rows[0]
        assert rows[1].startswith("staging") and "skipped" in rows[1]
        assert _status(project, "--env", "staging")["staging"]["commit"] == first

        # ...unless asked to keep going.
        going = project.run("push", "--env", "production", "--env", "staging", "--yes", "--keep-going")
        assert going.code == 3, going.output
        rows = _summary_rows(going)
        assert "failed" in rows[0] and "applied" in rows[1] and ".directus-gitops/backups/staging-" in rows[1]

        # Two environments at two revisions: status names each one's commit.
        _ok(project.run("push", "--env", "production", "--ref", first, "--yes", "--allow-data-loss"))
        states = _status(project)
        assert (states["staging"]["state"], states["staging"]["commit"]) == ("current", second)
        assert (states["production"]["state"], states["production"]["commit"]) == ("behind", first)
        assert "articles.hotfix" not in _names(production)
