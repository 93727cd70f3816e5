"""``init``: set a repository up for directus-gitops (no server needed).

Writes ``directus-gitops.yaml``, the schema folder, a GitHub Actions workflow and a
pre-commit configuration, and keeps push backups out of git. Existing files are left alone
unless ``force``; nothing is half-written when a step fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from directus_gitops import REPOSITORY, __version__
from directus_gitops.base.console import Console
from directus_gitops.base.errors import ConfigError, ExitCode, GitError
from directus_gitops.commands.merge import REGISTER_COMMAND
from directus_gitops.engine import merge
from directus_gitops.files import gitrepo, store, yamlio
from directus_gitops.model import config, kinds

BACKUPS_IGNORE = ".directus-gitops/"
WORKFLOW = ".github/workflows/directus-schema.yml"


@dataclass(frozen=True)
class Planned:
    path: Path
    content: str
    what: str


def _template(name: str) -> str:
    return resources.files("directus_gitops").joinpath("templates", name).read_text(encoding="utf-8")


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


# The workflow deploys to these two; their URLs are placeholders until the user gives them.
# ".invalid" never resolves (RFC 2606), so a forgotten placeholder cannot reach anything.
CI_ENVIRONMENTS = ("staging", "production")
PLACEHOLDER_URLS = {name: f"https://{name}.directus.invalid" for name in CI_ENVIRONMENTS}


def environments(env: str, url: str, *, ci: bool, ci_urls: Mapping[str, str | None]) -> dict[str, str]:
    """Each environment the configuration names, with its URL (placeholders where unknown)."""
    urls = {env: url}
    if ci:
        for name in CI_ENVIRONMENTS:
            urls.setdefault(name, ci_urls.get(name) or PLACEHOLDER_URLS[name])
    return urls


def config_text(env: str, urls: Mapping[str, str], layout: store.Layout) -> str:
    width = max(len(f"  {name}: {{url: '{url}'}}") for name, url in urls.items())

    def line(name: str, url: str) -> str:
        entry = f"  {name}: {{url: '{url}'}}"
        todo = " (a placeholder: put the server's URL here)" if url == PLACEHOLDER_URLS.get(name) else ""
        return f"{entry.ljust(width)}   # token from ${config.default_token_env(name)}{todo}"

    lines = [
        "# directus-gitops: which Directus servers exist and where the schema lives.",
        "# Tokens never go here: each environment's token comes from DIRECTUS_<ENV>_TOKEN",
        "# (or the variable named by token_env). CI may pin each URL with DIRECTUS_<ENV>_URL.",
        "schema_dir: schema",
        f"layout: {layout}",
        f"default_env: {env}   # used when --env is not given",
        "# What pull writes and push applies: the schema and the configuration kinds (docs/config-kinds.md).",
        f"sync: [{', '.join(kinds.COMMON)}]",
        "environments:",
        *(line(name, url) for name, url in urls.items()),
    ]
    return "\n".join(lines) + "\n"


def run(
    root: Path,
    console: Console,
    *,
    env: str,
    url: str,
    layout: store.Layout,
    ci: bool,
    force: bool,
    branch: str = "main",
    ci_urls: Mapping[str, str | None] | None = None,
    fleet: bool = False,
) -> int:
    url = config.check_url(url, "--url")
    given = {name: config.check_url(value, f"--{name}-url") for name, value in (ci_urls or {}).items() if value}
    urls = environments(env, url, ci=ci, ci_urls=given)
    text = config_text(env, urls, layout)
    # Validate what we write with the same parser that will read it.
    config.parse(yamlio.load(text), root / config.CONFIG_NAME)
    values = {"VERSION": __version__, "REPOSITORY": REPOSITORY, "BRANCH": branch, "ENV": env}
    planned = [Planned(root / config.CONFIG_NAME, text, "configuration")]
    if ci:
        workflow = _fill(_template("github-workflow.yml"), **values)
        what = f"GitHub Actions workflow, deploying from '{branch}'"
        if fleet:  # the review as it is; instead of staging then production, every environment at once
            workflow = workflow[: workflow.index("\n  staging:")] + _fill(_template("github-fleet-jobs.yml"), **values)
            what += f" to every environment but {env}, one job each"
        planned.append(Planned(root / WORKFLOW, workflow, what))
    hooks = _fill(_template("pre-commit-config.yaml"), **values)
    planned.append(Planned(root / ".pre-commit-config.yaml", hooks, "pre-commit hooks"))

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
    _merge_driver(root, console)

    steps = [
        f"export {config.default_token_env(env)}=<an admin's static token>",
        f"run `directus-gitops pull --env {env} --commit`",
    ]
    placeholders = [name for name, value in urls.items() if value == PLACEHOLDER_URLS.get(name)]
    if placeholders:
        steps.insert(0, f"put the URLs of {' and '.join(placeholders)} in {config.CONFIG_NAME}")
    if ci:
        secrets = " and ".join(config.default_token_env(name) for name in CI_ENVIRONMENTS)
        pins = " and ".join(config.pinned_url_env(name) for name in CI_ENVIRONMENTS)
        steps.append(
            f"review {WORKFLOW} and add the secrets {secrets} (and the variables {pins}, which pin the URLs) "
            "to the GitHub environments staging and production"
        )
    console.info("Next: " + "; ".join(steps) + ".")
    return ExitCode.OK


def _merge_driver(root: Path, console: Console) -> None:
    """Have git merge the schema folder's files with ``merge-file`` (docs/merging.md)."""
    try:
        repo = gitrepo.Repo(root)
    except GitError:
        console.warn(f"not a git repository: no merge driver registered (after `git init`, run `{REGISTER_COMMAND}`)")
        return
    for what in merge.register(repo, repo.relpath(root / "schema")):
        console.info(what)


def _ignore_backups(gitignore: Path, console: Console) -> None:
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if BACKUPS_IGNORE in lines or BACKUPS_IGNORE.rstrip("/") in lines:
        return
    text = "\n".join([*lines, "# push backups of each server's schema", BACKUPS_IGNORE]) + "\n"
    gitignore.write_text(text, encoding="utf-8")
    console.info(f"added {BACKUPS_IGNORE} to .gitignore")
