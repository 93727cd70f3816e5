"""status, offline: finding the commit a live snapshot matches, or its drift (real servers:
test_status_servers.py)."""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from typing import Any

from directus_gitops import selection, status, store
from directus_gitops.cli import cli
from directus_gitops.gitrepo import Repo
from tests.conftest import Project
from tests.test_selection import _field, model


def _commit(project: Project, snapshot: dict[str, Any], message: str) -> None:
    store.write_tree(project.schema, store.render(snapshot))
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", message)


def _history(project: Project) -> list[status.Commit]:
    repo = Repo(project.root)
    infos = list(repo.history("schema"))
    return status.cached_history(infos, lambda sha: store.parse_tree(repo.tree_reader(sha, "schema")[1], sha).snapshot)


def test_current_behind_and_drifted(project: Project) -> None:
    first = model()
    second = copy.deepcopy(first)
    second["fields"].append(_field("articles", "subtitle"))
    _commit(project, first, "first")
    _commit(project, second, "second")
    history = _history(project)
    rules, mode = selection.Rules(), "mirror"

    current = status.locate("prod", "http://p", second, history, rules=rules, mode=mode)
    assert (current.state, current.commit and current.commit.subject, current.behind) == ("current", "second", 0)
    behind = status.locate("staging", "http://s", first, history, rules=rules, mode=mode)
    assert (behind.state, behind.commit and behind.commit.subject, behind.behind) == ("behind", "first", 1)

    hotfixed = copy.deepcopy(first)
    hotfixed["fields"][1]["meta"] = {"note": "hot-fixed"}
    drifted = status.locate("prod", "http://p", hotfixed, history, rules=rules, mode=mode)
    assert drifted.state == "drifted" and drifted.commit and drifted.commit.subject == "first"
    assert [(c.action, c.name) for c in drifted.drift] == [("update", "articles.title")]
    shown = status.text([current, behind, drifted], "HEAD")
    assert "~ articles.title" in shown and "1 schema commit(s) behind" in shown
    assert '"state": "drifted"' in status.as_json([drifted], "HEAD", None)

    # Ignored parts and, in merge mode, target-only parts are not drift.
    extra = copy.deepcopy(second)
    extra["collections"].append({"collection": "logs_x", "meta": None, "schema": {"name": "logs_x"}})
    assert status.locate("p", "u", extra, history, rules=rules, mode=mode).state == "drifted"
    assert status.locate("p", "u", extra, history, rules=selection.Rules(("logs_*",)), mode=mode).state == "current"
    assert status.locate("p", "u", extra, history, rules=rules, mode="merge").state == "current"


def test_an_environment_that_cannot_be_read_is_reported_and_exits_1(project: Project) -> None:
    _commit(project, model(), "first")
    (project.root / "directus-gitops.yaml").write_text(
        "environments:\n  staging: {url: 'http://127.0.0.1:9'}\n  production: {url: 'http://127.0.0.1:9'}\n"
    )
    project.token("staging", "t")
    result = project.run("status", "--format", "json")
    assert result.code == 1, result.output
    states = {env["env"]: env for env in json.loads(result.out)["environments"]}
    assert states["staging"]["state"] == "error"
    assert "DIRECTUS_PRODUCTION_TOKEN is not set" in states["production"]["error"]
    unknown = project.run("status", "--env", "nope")
    assert unknown.code == 1 and "unknown environment 'nope'" in unknown.err


def test_the_documented_drift_workflow_runs_a_valid_status_command() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "ci.md").read_text()
    lines = re.findall(r"directus-gitops (status\b[^\n`>|]*)", doc)
    assert any("--exit-code" in line and "--format markdown" in line for line in lines)
    for line in lines:
        args = shlex.split(line)
        group = cli.make_context("directus-gitops", list(args))
        name, command, rest = cli.resolve_command(group, list(args))
        assert command is not None
        command.make_context(name, rest, parent=group)
