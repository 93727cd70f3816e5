"""``status``: which commit of the schema folder each environment matches, or its drift."""

from __future__ import annotations

from directus_gitops import config as configuration
from directus_gitops import render, status, store
from directus_gitops import snapshot as snap
from directus_gitops.client import DirectusClient
from directus_gitops.config import Config
from directus_gitops.console import Console
from directus_gitops.errors import ConfigError, ExitCode, GitOpsError
from directus_gitops.gitrepo import Repo


def run(
    config: Config,
    console: Console,
    *,
    envs: list[str],
    ref: str,
    limit: int,
    fmt: render.Format,
    exit_code: bool,
) -> int:
    names = envs or list(config.environments)
    if not names:
        raise ConfigError("status needs environments in directus-gitops.yaml (or --env)")
    repo = Repo(config.root)
    folder = repo.relpath(config.schema_dir)
    head = repo.resolve(ref).hexsha
    infos = list(repo.history(folder, ref, limit))

    def load(sha: str) -> snap.Snapshot | None:
        try:
            _, tree = repo.schema_tree(sha, folder)
            return None if tree is None else store.parse_tree(tree.read, f"{sha[:10]}:{folder}").snapshot
        except GitOpsError as exc:  # one unreadable commit must not hide the others
            console.warn(f"skipping {sha[:10]}: {exc.message}")
            return None

    history = status.cached_history(infos, load)
    results: list[status.EnvironmentStatus] = []
    for name in names:
        if name not in config.environments and config.environments:
            configuration.resolve(config, name)  # an unknown name is a usage error, not a state
        url = config.environments[name].url if name in config.environments else ""
        try:
            # A missing token or an unreachable server is this environment's state: the
            # others are still worth knowing (a scheduled job often holds only some tokens).
            target = configuration.resolve(config, name)
            with DirectusClient(target) as client:
                live = snap.validate(client.snapshot(), f"snapshot from {target.url}")
        except GitOpsError as exc:
            results.append(status.EnvironmentStatus(name, url, "error", error=exc.message))
            continue
        results.append(status.locate(target.name, target.url, live, history, rules=target.ignore, mode=target.mode))

    if fmt == "json":
        console.result(status.as_json(results, ref, head))
    elif fmt == "markdown":
        console.result(status.markdown(results, ref))
    else:
        console.result(status.text(results, ref))
    if any(result.state == "error" for result in results):
        return ExitCode.ERROR
    if exit_code and any(result.state != "current" for result in results):
        return ExitCode.CHANGES
    return ExitCode.OK
