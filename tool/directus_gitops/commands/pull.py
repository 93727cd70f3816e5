"""``pull``: a live instance's snapshot → canonical YAML in the schema folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from directus_gitops import changes, store
from directus_gitops import snapshot as snap
from directus_gitops.client import DirectusClient
from directus_gitops.config import Config, Target
from directus_gitops.console import Console
from directus_gitops.errors import ExitCode, GitOpsError

if TYPE_CHECKING:
    from directus_gitops.gitrepo import Repo


def _previous(schema_dir: Path) -> snap.Snapshot | None:
    """What the folder held before, for the change summary; None if nothing usable."""
    try:
        return store.load_path(schema_dir).snapshot if schema_dir.is_dir() else None
    except GitOpsError:
        return None


def _committed(repo: Repo, folder: str) -> snap.Snapshot | None:
    """The snapshot as last committed, which the commit message describes changes against."""
    if not repo.has_commits():
        return None
    try:
        _, read = repo.tree_reader("HEAD", folder)
        return store.parse_tree(read, f"HEAD:{folder}").snapshot
    except GitOpsError:
        return None


def commit_message(old: snap.Snapshot | None, new: snap.Snapshot, env: str) -> str:
    if old is None:
        counts = snap.count_entries(new)
        return (
            f"schema: snapshot of {env} ({counts['collections']} collections, "
            f"{counts['fields']} fields, {counts['relations']} relations)"
        )
    return f"schema: {changes.compare(old, new).summary()}"


def run(
    config: Config,
    target: Target,
    console: Console,
    *,
    layout: store.Layout | None = None,
    commit: bool = False,
    message: str | None = None,
) -> int:
    layout = layout or config.layout
    repo = None
    if commit:
        from directus_gitops.gitrepo import Repo

        repo = Repo(config.schema_dir.parent)  # fail before touching anything
    with DirectusClient(target) as client:
        pulled = snap.validate(client.snapshot(), f"snapshot from {target.url}")
    files = store.render(pulled, layout)
    schema_dir = config.schema_dir
    store.recover(schema_dir)
    old = _previous(schema_dir)
    changed = store.write_tree(schema_dir, files)

    counts = snap.count_entries(pulled)
    source = f"Directus {pulled.get('directus')}, {pulled.get('vendor', 'unknown vendor')}"
    shown = _display(schema_dir)
    if not changed:
        console.info(f"{shown} already matches '{target.name}' ({source}); nothing changed.")
    else:
        summary = changes.compare(old, pulled).summary() if old is not None else "new snapshot"
        console.info(
            f"Pulled '{target.name}' ({source}): {counts['collections']} collections, "
            f"{counts['fields']} fields, {counts['relations']} relations into {shown} ({summary})."
        )
    if repo is not None:
        folder = repo.relpath(schema_dir)
        base = _committed(repo, folder)
        sha = repo.commit_folder(folder, message or commit_message(base, pulled, target.name))
        if sha is None:
            console.info("Nothing to commit.")
        else:
            console.info(f"Committed {sha[:10]}.")
    return ExitCode.OK


def _display(path: Path) -> str:
    try:
        return f"{path.relative_to(Path.cwd())}/"
    except ValueError:
        return f"{path}/"
