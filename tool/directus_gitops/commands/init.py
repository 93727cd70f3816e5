"""``init``: set a repository up for directus-gitops (no server needed).

Writes ``directus-gitops.yaml``, the schema folder, a GitHub Actions workflow and a
pre-commit configuration, and keeps push backups out of git. Existing files are left alone
unless ``force``; nothing is half-written when a step fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from directus_gitops import __version__, config, kinds, store, yamlio
from directus_gitops.console import Console
from directus_gitops.errors import ConfigError, ExitCode

BACKUPS_IGNORE = ".directus-gitops/"


@dataclass(frozen=True)
class Planned:
    path: Path
    content: str
    what: str


def _template(name: str) -> str:
    return resources.files("directus_gitops").joinpath("templates", name).read_text(encoding="utf-8")


def config_text(env: str, url: str, layout: store.Layout) -> str:
    examples = {
        "staging": "{url: 'https://cms-staging.example.com'}",
        "production": "{url: 'https://cms.example.com', token_env: PROD_DIRECTUS_TOKEN}",
    }
    lines = [
        "# directus-gitops: which Directus servers exist and where the schema lives.",
        "# Tokens never go here: each environment's token comes from DIRECTUS_<ENV>_TOKEN",
        "# (or the variable named by token_env). The CI workflow pushes to staging, then production.",
        "schema_dir: schema",
        f"layout: {layout}",
        "# What pull writes and push applies: the schema and the configuration kinds (docs/config-kinds.md).",
        f"sync: [{', '.join(kinds.COMMON)}]",
        "environments:",
        f"  {env}: {{url: '{url}'}}   # token from ${config.default_token_env(env)}",
        *(f"  # {name}: {example}" for name, example in examples.items() if name != env),
    ]
    return "\n".join(lines) + "\n"


def run(root: Path, console: Console, *, env: str, url: str, layout: store.Layout, ci: bool, force: bool) -> int:
    url = config.check_url(url, "--url")
    # Validate what we write with the same parser that will read it.
    config.parse(yamlio.load(config_text(env, url, layout)), root / config.CONFIG_NAME)
    planned = [Planned(root / config.CONFIG_NAME, config_text(env, url, layout), "configuration")]
    if ci:
        workflow = _template("github-workflow.yml").replace("@VERSION@", __version__)
        planned.append(Planned(root / ".github/workflows/directus-schema.yml", workflow, "GitHub Actions workflow"))
    planned.append(Planned(root / ".pre-commit-config.yaml", _template("pre-commit-config.yaml"), "pre-commit hooks"))

    existing = [p for p in planned if p.path.exists()]
    if existing and not force:
        if existing[0].path.name == config.CONFIG_NAME:
            raise ConfigError(f"{existing[0].path} already exists; pass --force to overwrite it")
        for item in existing:
            console.warn(f"{item.path.relative_to(root)} exists; left as it is (--force to overwrite)")
        planned = [p for p in planned if p not in existing]

    for item in planned:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = item.path.with_name(f".{item.path.name}.tmp")
        tmp.write_text(item.content, encoding="utf-8")
        tmp.replace(item.path)
        console.info(f"wrote {item.path.relative_to(root)} ({item.what})")
    (root / "schema").mkdir(exist_ok=True)
    _ignore_backups(root / ".gitignore", console)

    console.info(
        f"Next: export {config.default_token_env(env)}=<an admin's static token>, run "
        f"`directus-gitops pull --env {env} --commit`, and review the workflow before pushing it."
    )
    return ExitCode.OK


def _ignore_backups(gitignore: Path, console: Console) -> None:
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if BACKUPS_IGNORE in lines or BACKUPS_IGNORE.rstrip("/") in lines:
        return
    text = "\n".join([*lines, "# push backups of each server's schema", BACKUPS_IGNORE]) + "\n"
    gitignore.write_text(text, encoding="utf-8")
    console.info(f"added {BACKUPS_IGNORE} to .gitignore")
