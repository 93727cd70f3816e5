"""status and plan over 20 environments at once (--parallel 8), shared by two real Directus 12.4.1
servers: ten tenants on one that matches the files, ten on one changed on the server."""

from __future__ import annotations

import json

import demo_model

from tests.conftest import Project, Result
from tests.directus_harness import ServerPool
from tests.test_output_schema import validate
from tests.test_sync_rules import _configure, _ok

NAMES = [f"tenant{i:02d}" for i in range(1, 21)]


def _on_a(name: str) -> bool:
    return int(name[-2:]) % 2 == 1  # odd tenants on the server that matches the files


def _summary(result: Result, stream: str) -> list[list[str]]:
    lines = stream.splitlines()
    assert lines.count("Summary:") == 1, result.output
    return [line.split(maxsplit=1) for line in lines[lines.index("Summary:") + 3 :] if line.strip()]


def test_status_and_plan_over_twenty_environments_at_once(project: Project, directus_pool: ServerPool) -> None:
    with (
        directus_pool.new_server("12.4.1", seeded=True) as a,
        directus_pool.new_server("12.4.1", seeded=True) as b,
    ):
        lines = ["environments:"] + [f"  {name}: {{url: '{(a if _on_a(name) else b).url}'}}" for name in NAMES]
        _configure(project, "\n".join(lines) + "\n", **{name: a if _on_a(name) else b for name in NAMES})
        _ok(project.run("pull", "--env", "tenant01", "--commit"))
        head = project.git("rev-parse", "HEAD").strip()
        demo_model.add_field(b.url, b.token, "articles", "hotfix")  # the even tenants drift

        status = project.run("status", "--parallel", "8", "--format", "json")
        assert status.code == 0, status.output
        states = {env["env"]: env for env in json.loads(status.out)["environments"]}
        assert list(states) == NAMES
        for name, env in states.items():
            assert (env["state"], env["commit"]) == ("current" if _on_a(name) else "drifted", head), env
        assert [c["name"] for c in states["tenant20"]["drift"]] == ["articles.hotfix"]

        envs = [f"--env={name}" for name in NAMES]
        planned = project.run("plan", *envs, "--parallel", "8", "--format", "json", "--exit-code")
        assert planned.code == 2, planned.output
        document = json.loads(planned.out)  # stdout holds one document
        validate(document, "environments")
        assert document["exit_code"] == 2
        assert [env["env"] for env in document["environments"]] == NAMES
        for env in document["environments"]:
            plan = env["plan"]
            assert plan["target"]["env"] == env["env"]
            if _on_a(env["env"]):
                assert (env["exit_code"], env["result"], plan["changes"]) == (0, "already matches", [])
            else:
                assert (env["exit_code"], env["result"]) == (2, "planned")
                assert [(c["action"], c["name"]) for c in plan["changes"]] == [("delete", "articles.hotfix")]
        assert [row[0] for row in _summary(planned, planned.err)] == NAMES  # the table on stderr

        # Text: each environment's plan whole and in order, then one summary table on stdout.
        text = project.run("plan", *envs, "--parallel", "8")
        assert text.code == 0, text.output
        rows = _summary(text, text.out)
        assert [row[0] for row in rows] == NAMES
        assert all(("already matches" in row[1]) == _on_a(row[0]) for row in rows)
        assert text.out.count("articles.hotfix") == 10
        headers = [line for line in text.err.splitlines() if line.startswith("── ")]
        assert headers == [f"── {name} ──" for name in NAMES]
        assert sum(line.startswith("started: tenant") for line in text.err.splitlines()) == 20

        # The first failure (a missing token) stops the starting of the rest: eight ran at once.
        project.monkeypatch.delenv("DIRECTUS_TENANT05_TOKEN")
        stopped = project.run("plan", *envs, "--parallel", "8")
        assert stopped.code == 1, stopped.output
        rows = _summary(stopped, stopped.out)
        assert rows[4][0] == "tenant05" and "failed:" in rows[4][1] and "DIRECTUS_TENANT05_TOKEN" in rows[4][1]
        assert all("skipped" not in row[1] for row in rows[:8])
        assert all("skipped" in row[1] for row in rows[8:])
