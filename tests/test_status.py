"""status, offline: finding the commit a live snapshot matches, or its drift (real servers:
test_status_servers.py)."""

from __future__ import annotations

import copy
import json
import re
import shlex
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from directus_gitops.cli import cli
from directus_gitops.engine import status
from directus_gitops.files import store
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model import selection
from directus_gitops.reports import status as shown
from tests.conftest import Project, Result
from tests.test_selection import _field, model


def _commit(project: Project, snapshot: dict[str, Any], message: str) -> None:
    store.write_tree(project.schema, store.render(snapshot))
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", message)


def _history(project: Project) -> status.History:
    repo = Repo(project.root)
    infos = list(repo.history("schema"))
    by_sha = {info.sha: info for info in infos}
    return status.History(
        infos,
        lambda sha: status.Commit(by_sha[sha], store.parse_tree(repo.tree_reader(sha, "schema")[1], sha).snapshot),
    )


def test_current_behind_and_drifted(project: Project) -> None:
    first = model()
    second = copy.deepcopy(first)
    second["fields"].append(_field("articles", "subtitle"))
    _commit(project, first, "first")
    _commit(project, second, "second")
    history = _history(project)
    rules, mode = selection.Rules(), "mirror"

    current = status.locate("prod", "http://p", status.Live(second), history, rules=rules, mode=mode)
    assert (current.state, current.commit and current.commit.subject, current.behind) == ("current", "second", 0)
    behind = status.locate("staging", "http://s", status.Live(first), history, rules=rules, mode=mode)
    assert (behind.state, behind.commit and behind.commit.subject, behind.behind) == ("behind", "first", 1)

    hotfixed = copy.deepcopy(first)
    hotfixed["fields"][1]["meta"] = {"note": "hot-fixed"}
    drifted = status.locate("prod", "http://p", status.Live(hotfixed), history, rules=rules, mode=mode)
    assert drifted.state == "drifted" and drifted.commit and drifted.commit.subject == "first"
    assert [(c.action, c.name) for c in drifted.drift] == [("update", "articles.title")]
    table = shown.text([current, behind, drifted], "HEAD")
    assert "~ articles.title" in table and "1 schema commit(s) behind" in table
    assert '"state": "drifted"' in shown.as_json([drifted], "HEAD", None)

    # Ignored parts and, in merge mode, target-only parts are not drift.
    extra = copy.deepcopy(second)
    extra["collections"].append({"collection": "logs_x", "meta": None, "schema": {"name": "logs_x"}})
    assert status.locate("p", "u", status.Live(extra), history, rules=rules, mode=mode).state == "drifted"
    assert (
        status.locate("p", "u", status.Live(extra), history, rules=selection.Rules(("logs_*",)), mode=mode).state
        == "current"
    )
    assert status.locate("p", "u", status.Live(extra), history, rules=rules, mode="merge").state == "current"


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


# --------------------------------------------------------------------------- reading and asking


def _versions(project: Project, count: int) -> list[dict[str, Any]]:
    """``count`` commits, each with one more field; returns their snapshots, oldest first."""
    snapshots = []
    snapshot = model()
    for number in range(count):
        snapshot = copy.deepcopy(snapshot)
        snapshot["fields"].append(_field("articles", f"extra_{number}"))
        _commit(project, snapshot, f"v{number}")
        snapshots.append(snapshot)
    return snapshots


def test_a_search_reads_only_the_commits_it_reaches(project: Project) -> None:
    versions = _versions(project, 5)
    repo = Repo(project.root)
    loaded: list[str] = []

    infos = list(repo.history("schema"))

    def load(sha: str) -> status.Commit:
        loaded.append(sha)
        info = next(info for info in infos if info.sha == sha)
        return status.Commit(info, store.parse_tree(repo.tree_reader(sha, "schema")[1], sha).snapshot)

    history = status.History(infos, load)
    rules = selection.Rules()
    assert status.locate("a", "u", status.Live(versions[-1]), history, rules=rules, mode="mirror").state == "current"
    assert history.read == 1
    assert status.locate("b", "u", status.Live(versions[-3]), history, rules=rules, mode="mirror").behind == 2
    assert history.read == 3
    drifted = copy.deepcopy(versions[0])
    drifted["fields"][0]["meta"] = {"note": "changed by hand"}
    assert status.locate("c", "u", status.Live(drifted), history, rules=rules, mode="mirror").state == "drifted"
    assert history.read == 5 and len(loaded) == len(set(loaded)) == 5  # each read once, for all


def _serving(snapshots: dict[str, dict[str, Any]], together: threading.Barrier) -> ThreadingHTTPServer:
    """One HTTP server answering ``GET /<env>/schema/snapshot`` with that environment's
    snapshot, once every environment's request has arrived (``together``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            env = self.path.strip("/").split("/")[0]
            try:
                together.wait()
                body, code = json.dumps({"data": snapshots[env]}).encode(), 200
            except threading.BrokenBarrierError:  # asked one after the other
                body, code = json.dumps({"errors": [{"message": "asked alone"}]}).encode(), 503
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _status_json(project: Project, live: dict[str, Any], together: threading.Barrier) -> Result:
    """``status --format json`` over environments served ``live`` (see :func:`_serving`)."""
    server = _serving(live, together)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        project.configure(**{env: f"{base}/{env}" for env in live})
        for env in live:
            project.token(env, "t")
        return project.run("status", "--format", "json")
    finally:
        server.shutdown()
        server.server_close()


def test_every_environment_is_asked_at_once_and_every_commit_is_checked(project: Project) -> None:
    """The servers answer only once all three requests are in: one after the other, each
    would be refused. Older commits are read as strictly as ``check`` reads: one that check
    refuses is skipped with the reason, never matched."""
    versions = _versions(project, 3)
    broken = copy.deepcopy(versions[-1])
    broken["fields"][-1]["type"] = "integr"  # not a Directus field type
    _commit(project, broken, "broken")
    fixed = copy.deepcopy(versions[-1])
    fixed["fields"][-1]["meta"] = {"note": "fixed"}
    _commit(project, fixed, "fixed")
    live = {"dev": fixed, "staging": versions[-1], "prod": versions[0]}
    result = _status_json(project, live, threading.Barrier(len(live), timeout=10))
    assert result.code == 0, result.output
    states = {env["env"]: env for env in json.loads(result.out)["environments"]}
    assert {env: (states[env]["state"], states[env]["subject"]) for env in live} == {
        "dev": ("current", "fixed"),
        "staging": ("behind", "v2"),
        "prod": ("behind", "v0"),
    }
    assert states["staging"]["behind"] == 2  # (the broken commit counts as a schema commit)
    skipped = [line for line in result.err.splitlines() if "skipping" in line]
    assert len(skipped) == 1 and "type 'integr' is not a Directus field type" in skipped[0]


def test_an_environment_running_another_branchs_commit_is_named_by_it_not_drifted(project: Project) -> None:
    versions = _versions(project, 2)
    project.git("switch", "--quiet", "-c", "preview")
    preview = copy.deepcopy(versions[-1])
    preview["fields"].append(_field("articles", "teaser"))
    _commit(project, preview, "a teaser on the preview branch")
    project.git("switch", "--quiet", "main")
    hand = copy.deepcopy(versions[-1])
    hand["fields"][0]["meta"] = {"note": "changed by hand"}
    live = {"preview": preview, "prod": hand}
    server = _serving(live, threading.Barrier(len(live), timeout=10))
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        project.configure(**{env: f"{base}/{env}" for env in live})
        for env in live:
            project.token(env, "t")
        result = project.run("status", "--exit-code")
        as_json = project.run("status", "--format", "json")
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == 2, result.output  # not on main's newest commit: still a difference to report
    assert "preview  runs preview (" in result.out and "a teaser on the preview branch" in result.out, result.out
    assert "prod     drifted" in result.out  # a change by hand matches no branch
    states = {env["env"]: env for env in json.loads(as_json.out)["environments"]}
    assert (states["preview"]["state"], states["preview"]["branch"]) == ("branch", "preview")
    assert states["prod"]["state"] == "drifted" and states["prod"]["branch"] is None


def test_every_environment_is_asked_before_the_history_is_listed(project: Project) -> None:
    """The servers start on their snapshots while the tool lists and reads the commits: the
    listing waits here until every environment's request has arrived, and the servers
    answer only then (the other way round, the two would wait for each other and fail)."""
    versions = _versions(project, 2)
    live = {"dev": versions[-1], "prod": versions[0]}
    together = threading.Barrier(len(live) + 1, timeout=10)
    listing = Repo.history

    def history(self: Repo, *args: Any, **kwargs: Any) -> Any:
        together.wait()  # BrokenBarrierError: the history was listed before the servers were asked
        return listing(self, *args, **kwargs)

    project.monkeypatch.setattr(Repo, "history", history)
    result = _status_json(project, live, together)
    assert result.code == 0, result.output
    states = {env["env"]: (env["state"], env["subject"]) for env in json.loads(result.out)["environments"]}
    assert states == {"dev": ("current", "v1"), "prod": ("behind", "v0")}

    # A revision that does not exist is still refused as such, the environments asked or not.
    project.monkeypatch.setattr(Repo, "history", listing)
    unknown = project.run("status", "--ref", "no-such-revision")
    assert unknown.code == 1 and "unknown git revision 'no-such-revision'" in unknown.err, unknown.output
