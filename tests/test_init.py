"""init: a repository set up for directus-gitops that runs as written, without a server
(and, in one test, its workflow's commands against real servers)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from directus_gitops import REPOSITORY, __version__
from directus_gitops.base import progress
from directus_gitops.cli import cli
from directus_gitops.model import config
from tests.conftest import Project
from tests.directus_harness import ServerPool
from tests.test_output_schema import validate

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKFLOW = ".github/workflows/directus-schema.yml"


def workflow(project: Project) -> dict[str, Any]:
    """The generated workflow as GitHub reads it (YAML 1.2: the key ``on`` is a string)."""
    document: dict[Any, Any] = yaml.safe_load((project.root / WORKFLOW).read_text())
    document["on"] = document.pop(True)
    return document


def github_schema(name: str) -> dict[str, Any]:
    """SchemaStore's schema for GitHub workflows or actions, as the check-jsonschema package
    vendors it (this machine cannot download it)."""
    text = resources.files("check_jsonschema").joinpath(f"builtin_schemas/vendor/{name}.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def github_workflow_schema() -> dict[str, Any]:
    return github_schema("github-workflows")


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A workflow ``run:`` script in bash as GitHub runs it, its ``${{ }}`` expressions given."""
    for flag in ("allow_data_loss", "allow_config_removal"):
        script = script.replace(f"${{{{ inputs.{flag} && '--{flag.replace('_', '-')}' || '' }}}}", "")
    assert "${{" not in script, script
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script], cwd=cwd, env=environment, capture_output=True, text=True
    )


@pytest.fixture
def master(project: Project) -> Project:
    """A fresh repository whose default branch is master."""
    project.git("symbolic-ref", "HEAD", "refs/heads/master")
    return project


def test_init_writes_a_configuration_the_workflow_can_use(master: Project) -> None:
    result = master.run("init")
    assert result.code == 0, result.output
    cfg = config.load(master.root / "directus-gitops.yaml")
    assert list(cfg.environments) == ["dev", "staging", "production"]
    assert cfg.default_env == "dev"
    # A plain pull (no --env) goes to dev even though three environments exist.
    target = config.resolve(cfg, None, {"DIRECTUS_DEV_TOKEN": "t"})
    assert (target.name, target.url) == ("dev", "http://127.0.0.1:8055")
    assert cfg.environments["staging"].url.endswith(".invalid")  # a placeholder that cannot resolve
    assert "put the URLs of staging and production in directus-gitops.yaml" in result.err
    assert ".directus-gitops/" in (master.root / ".gitignore").read_text().splitlines()
    # Every environment the workflow pushes to is configured.
    pushed = re.findall(r"push --env (\w+)", (master.root / WORKFLOW).read_text())
    assert pushed == ["staging", "production"]
    assert set(pushed) <= set(cfg.environments)
    assert cfg.sync == ("schema", "access", "flows", "dashboards", "presets", "settings", "translations", "folders")


def test_init_deploys_from_the_default_branch(master: Project) -> None:
    assert master.run("init").code == 0
    on = workflow(master)["on"]
    assert on["push"]["branches"] == ["master"]
    assert "refs/heads/master" in workflow(master)["jobs"]["staging"]["if"]


def test_init_prefers_the_remotes_default_branch(project: Project, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=trunk", str(origin)], check=True)
    project.git("commit", "--quiet", "--allow-empty", "-m", "start")
    project.git("remote", "add", "origin", str(origin))
    project.git("push", "--quiet", "origin", "HEAD:refs/heads/trunk")
    project.git("remote", "set-head", "origin", "trunk")
    project.git("checkout", "--quiet", "-b", "feature")
    assert project.run("init").code == 0
    assert workflow(project)["on"]["push"]["branches"] == ["trunk"]
    assert project.run("init", "--force", "--branch", "release").code == 0
    assert workflow(project)["on"]["push"]["branches"] == ["release"]


def test_the_workflow_is_valid_for_github(master: Project) -> None:
    assert master.run("init", "--staging-url", "https://staging.example.com").code == 0
    document = workflow(master)
    jsonschema.validate(document, github_workflow_schema())
    jobs = document["jobs"]
    assert all(isinstance(job.get("timeout-minutes"), int) for job in jobs.values())
    assert document["on"]["workflow_dispatch"]["inputs"]["allow_data_loss"]["type"] == "boolean"
    uploads = [
        s for job in jobs.values() for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")
    ]
    backups = [s for s in uploads if s["with"]["path"] == ".directus-gitops/backups/"]
    assert len(backups) == 2 and all(s["if"] == "always()" for s in backups)  # staging, production
    assert {s["with"]["path"] for s in uploads} - {".directus-gitops/backups/"} == {
        "${{ runner.temp }}/directus-schema-diff.txt"  # the whole diff beside the comment
    }
    assert document["on"]["workflow_dispatch"]["inputs"]["allow_config_removal"]["type"] == "boolean"
    versions = {s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s}
    assert versions == {
        "actions/checkout@v6",
        "actions/setup-python@v6",
        "actions/github-script@v8",
        "actions/upload-artifact@v7",
    }
    assert document["env"]["DIRECTUS_GITOPS"] == f"git+{REPOSITORY}@v{__version__}"
    assert "staging.example.com" in (master.root / "directus-gitops.yaml").read_text()


def test_the_schema_check_can_fail(master: Project) -> None:
    assert master.run("init").code == 0
    document = workflow(master)
    document["jobs"]["review"]["timeout-minutes"] = "ten"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, github_workflow_schema())


def test_the_workflow_commands_are_valid_command_lines(master: Project) -> None:
    assert master.run("init").code == 0
    runs = [step.get("run", "") for job in workflow(master)["jobs"].values() for step in job["steps"]]
    lines = [re.sub(r"\$\{\{.*?\}\}", "", line) for run in runs for line in run.splitlines()]
    commands = [re.search(r"directus-gitops ((?:check|diff|push|plan)\b[^;}>|]*)", line) for line in lines]
    found = [c.group(1) for c in commands if c]
    assert any(c.startswith("diff ") for c in found) and any(c.startswith("push --env production") for c in found)
    for command in found:
        words = command.replace('"', "").split()
        group = cli.make_context("directus-gitops", list(words))
        name, sub, rest = cli.resolve_command(group, list(words))
        assert sub is not None
        sub.make_context(name, rest, parent=group)  # raises on an unknown option


def test_the_pre_commit_hook_is_the_published_one(project: Project) -> None:
    assert project.run("init").code == 0
    generated = yaml.safe_load((project.root / ".pre-commit-config.yaml").read_text())
    (repo,) = generated["repos"]
    assert (repo["repo"], repo["rev"]) == (REPOSITORY, f"v{__version__}")
    published = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    for hook in repo["hooks"]:
        assert set(hook) == {"id"}  # the published hook decides its entry and language
        assert published[hook["id"]]["language"] == "python"
        assert published[hook["id"]]["entry"] == "directus-gitops check"


def test_init_without_ci_writes_no_workflow_and_does_not_mention_it(project: Project) -> None:
    result = project.run("init", "--no-ci", "--env", "staging", "--url", "https://cms.example.com/")
    assert result.code == 0, result.output
    assert not (project.root / ".github").exists()
    assert "workflow" not in result.err.lower()
    cfg = config.load(project.root / "directus-gitops.yaml")
    assert list(cfg.environments) == ["staging"] and cfg.default_env == "staging"
    assert cfg.environments["staging"].url == "https://cms.example.com"


def test_init_keeps_existing_files_unless_forced(project: Project) -> None:
    assert project.run("init").code == 0
    again = project.run("init")
    assert again.code == 1 and "already exists; pass --force" in again.err
    (project.root / ".pre-commit-config.yaml").write_text("repos: []\n")
    forced = project.run("init", "--force", "--no-ci", "--layout", "single")
    assert forced.code == 0, forced.output
    assert "layout: single" in (project.root / "directus-gitops.yaml").read_text()
    assert "directus-gitops-check" in (project.root / ".pre-commit-config.yaml").read_text()
    assert (project.root / ".gitignore").read_text().count(".directus-gitops/") == 1


def test_init_refuses_a_bad_url(project: Project) -> None:
    result = project.run("init", "--url", "http://user:pw@cms.example.com")
    assert result.code == 1 and "credentials" in result.err
    assert not (project.root / "directus-gitops.yaml").exists()
    result = project.run("init", "--production-url", "ftp://cms.example.com")
    assert result.code == 1 and "--production-url" in result.err
    assert not (project.root / "directus-gitops.yaml").exists()


@pytest.mark.directus
def test_the_generated_workflow_runs_against_real_servers(
    master: Project, directus_pool: ServerPool, tmp_path: Path
) -> None:
    """init on master, the two URLs it asks for, then every step of the workflow that runs
    without GitHub: check and the review diff on a pull request, then both pushes."""
    with (
        directus_pool.new_server("12.4.1", seeded=True) as dev,
        directus_pool.new_server("12.4.1") as staging,
        directus_pool.new_server("12.4.1") as production,
    ):
        init = master.run("init", "--url", dev.url)
        assert init.code == 0, init.output
        text = (master.root / "directus-gitops.yaml").read_text()
        text = text.replace("https://staging.directus.invalid", staging.url)
        text = text.replace("https://production.directus.invalid", production.url)
        (master.root / "directus-gitops.yaml").write_text(text)
        master.git("add", "-A")
        master.git("commit", "--quiet", "-m", "Set up directus-gitops")
        origin = tmp_path / "origin.git"
        subprocess.run(["git", "clone", "--quiet", "--bare", str(master.root), str(origin)], check=True)
        master.git("remote", "add", "origin", str(origin))

        master.token("dev", dev.token)
        master.git("checkout", "--quiet", "-b", "model")
        pulled = master.run("pull", "--commit")  # no --env: default_env
        assert pulled.code == 0, pulled.output

        jobs = workflow(master)["jobs"]

        def run(job: str, name: str, **env: str) -> str:
            step = next(s for s in jobs[job]["steps"] if s.get("name") == name)
            result = run_step(step["run"], master.root, {**step.get("env", {}), "RUNNER_TEMP": str(tmp_path), **env})
            assert result.returncode == 0, result.stdout + result.stderr
            return result.stdout

        run("review", "Check the schema files")
        review = run("review", "Diff against the base branch", BASE_REF="master")
        assert "<!-- directus-gitops-diff -->" in review and "to add" in review

        master.git("checkout", "--quiet", "master")
        master.git("merge", "--quiet", "model")

        # The JSON of plan and push --dry-run, and a saved plan, as docs/output.schema.json says.
        master.token("production", production.token)
        plan_file = tmp_path / "production.plan.json"
        planned = master.run("plan", "--env", "production", "--format", "json", "--out", str(plan_file))
        assert planned.code == 0, planned.output
        assert json.loads(planned.out)["changes"] and json.loads(plan_file.read_text())["format_version"] == "1"
        validate(json.loads(planned.out), "plan")
        validate(json.loads(plan_file.read_text()), "plan_file")
        dry = master.run("push", "--env", "production", "--dry-run", "--format", "json")
        assert dry.code == 0, dry.output
        validate(json.loads(dry.out), "plan")
        master.monkeypatch.delenv("DIRECTUS_PRODUCTION_TOKEN")
        for env, server in (("staging", staging), ("production", production)):
            secrets = {f"DIRECTUS_{env.upper()}_TOKEN": server.token, f"DIRECTUS_{env.upper()}_URL": server.url}
            run(env, f"Push to {env}", **secrets)
            assert list((master.root / ".directus-gitops/backups").glob(f"{env}-*.yaml"))  # what the artifact keeps
            master.token(env, server.token)
            planned = master.run("plan", "--env", env, "--exit-code")
            assert planned.code == 0, planned.output

        # Progress goes to stderr, a line per interval here; stdout stays one JSON document.
        master.monkeypatch.setattr(progress, "INTERVAL", 0.01)
        planned = master.run("plan", "--env", "production", "--format", "json")
        assert json.loads(planned.out)["summary"]["add"] == 0
        assert "Waiting for 'production' to compute the diff … " in planned.err


def test_a_fleet_workflow_pushes_to_every_environment_as_a_matrix_with_one_summary(
    master: Project, tmp_path: Path
) -> None:
    assert master.run("init", "--fleet").code == 0
    with (master.root / "directus-gitops.yaml").open("a") as config_file:
        config_file.write("  acme-prod: {url: 'http://127.0.0.1:9'}\n")
    document = workflow(master)
    jsonschema.validate(document, github_workflow_schema())
    jobs = document["jobs"]
    assert set(jobs) == {"review", "environments", "push", "summary"}
    assert jobs["push"]["strategy"]["fail-fast"] is True  # the first failure stops the others
    steps = {step.get("name"): step for job in jobs.values() for step in job["steps"]}
    temp = tmp_path / "runner"
    temp.mkdir()
    output = temp / "output"
    listed = run_step(
        steps["List the environments"]["run"], master.root, {"RUNNER_TEMP": str(temp), "GITHUB_OUTPUT": str(output)}
    )
    assert listed.returncode == 0, listed.stderr
    matrix = json.loads(output.read_text().removeprefix("matrix="))
    assert [row["env"] for row in matrix] == ["staging", "production", "acme-prod"]  # not dev, the developers'
    assert matrix[-1] == {"env": "acme-prod", "token": "DIRECTUS_ACME_PROD_TOKEN", "pin": "DIRECTUS_ACME_PROD_URL"}
    # One environment's job: its token comes from the secret its entry names; a failure is its row.
    env = {"RUNNER_TEMP": str(temp), "ENVIRONMENT": "acme-prod", "TOKEN_VARIABLE": "DIRECTUS_ACME_PROD_TOKEN"}
    pushed = run_step(steps["Push to ${{ matrix.env }}"]["run"], master.root, {**env, "TOKEN": "", "FLAGS": ""})
    assert pushed.returncode == 1, pushed.stdout + pushed.stderr
    assert (temp / "row" / "acme-prod.md").read_text() == "| acme-prod | 1 | failed |\n"
    summary = temp / "summary.md"
    (master.root / "rows").mkdir()
    (master.root / "rows" / "acme-prod.md").write_text((temp / "row" / "acme-prod.md").read_text())
    shown = run_step(steps["Summary"]["run"], master.root, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert shown.returncode == 0 and "| acme-prod | 1 | failed |" in summary.read_text()
