"""init: a repository set up for directus-gitops, without a server."""

from __future__ import annotations

import shlex

import yaml

from directus_gitops import config
from directus_gitops.cli import cli
from tests.conftest import Project


def test_init_writes_a_working_setup(project: Project) -> None:
    result = project.run("init", "--env", "staging", "--url", "https://cms.example.com/")
    assert result.code == 0, result.output
    cfg = config.load(project.root / "directus-gitops.yaml")
    target = config.resolve(cfg, None, {"DIRECTUS_STAGING_TOKEN": "t"})
    assert (target.name, target.url) == ("staging", "https://cms.example.com")
    assert cfg.schema_dir == project.root / "schema" and cfg.schema_dir.is_dir()
    assert cfg.sync == ("schema", "access", "flows", "dashboards", "presets", "settings", "translations", "folders")
    assert ".directus-gitops/" in (project.root / ".gitignore").read_text().splitlines()
    hooks = yaml.safe_load((project.root / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"][0]["entry"] == "directus-gitops check --fix"


def test_the_workflow_runs_real_commands(project: Project) -> None:
    assert project.run("init").code == 0
    workflow = yaml.safe_load((project.root / ".github/workflows/directus-schema.yml").read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    commands = [
        line.strip()
        for run in runs
        for line in run.splitlines()
        if line.strip().startswith("directus-gitops ") or "directus-gitops diff" in line
    ]
    assert any(c.startswith("directus-gitops check") for c in commands)
    assert any(c.startswith("directus-gitops push --env production --yes") for c in commands)
    for command in commands:
        words = shlex.split(command.split("directus-gitops ", 1)[1].split(";")[0])
        words = [w for w in words if not w.startswith("origin/$")] or ["--help"]
        cli.make_context("directus-gitops", words, resilient_parsing=True)  # raises on unknown options
    assert any('pip install "directus-gitops==' in run for run in runs)


def test_init_keeps_existing_files_unless_forced(project: Project) -> None:
    assert project.run("init").code == 0
    again = project.run("init")
    assert again.code == 1 and "already exists; pass --force" in again.err
    (project.root / ".pre-commit-config.yaml").write_text("repos: []\n")
    forced = project.run("init", "--force", "--no-ci", "--layout", "single")
    assert forced.code == 0, forced.output
    assert "layout: single" in (project.root / "directus-gitops.yaml").read_text()
    assert "directus-gitops check" in (project.root / ".pre-commit-config.yaml").read_text()
    assert (project.root / ".gitignore").read_text().count(".directus-gitops/") == 1


def test_init_refuses_a_bad_url(project: Project) -> None:
    result = project.run("init", "--url", "http://user:pw@cms.example.com")
    assert result.code == 1 and "credentials" in result.err
    assert not (project.root / "directus-gitops.yaml").exists()
