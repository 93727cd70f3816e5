"""``pull``: a live instance's snapshot → canonical YAML in the schema folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from directus_gitops import changes, selection, store
from directus_gitops import snapshot as snap
from directus_gitops.client import DirectusClient
from directus_gitops.config import Config, Target
from directus_gitops.console import Console, display
from directus_gitops.errors import ExitCode, GitOpsError
from directus_gitops.kinds import sync

if TYPE_CHECKING:
    from directus_gitops.gitrepo import Repo


def summary(before: store.Tree | None, after: store.Tree) -> str | None:
    """What changed between two trees (``+1 field, ~2 fields``), reading only differing files.

    None when there was nothing readable before, so there is no change to describe.
    """
    if before is None:
        return None
    try:
        old, new = store.load_differing(before, after)
        configured = sync.diff(sync.load(before.read, before.source), sync.load(after.read, after.source))
    except GitOpsError:
        return None
    schema = changes.compare(old.snapshot, new.snapshot)
    if not configured:
        return schema.summary()
    return f"{schema.summary()}; configuration: {configured.summary()}" if schema else configured.summary()


def _committed(repo: Repo, folder: str) -> store.Tree | None:
    """The schema folder as last committed, which the commit message describes changes against."""
    if not repo.has_commits():
        return None
    return repo.schema_tree("HEAD", folder)[1]


def commit_message(change_summary: str | None, new: snap.Snapshot, env: str) -> str:
    if change_summary is None:
        counts = snap.count_entries(new)
        return (
            f"schema: snapshot of {env} ({counts['collections']} collections, "
            f"{counts['fields']} fields, {counts['relations']} relations)"
        )
    return f"schema: {change_summary}"


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
    with DirectusClient(target) as client, console.progress(f"Reading the schema of '{target.name}'"):
        pulled = snap.validate(client.snapshot(), f"snapshot from {target.url}")
        # The configuration kinds directus-gitops.yaml enables (none: schema only).
        configured = sync.pull(client, config.sync, pulled.get("directus"), target.ignore)
    pulled, left_out = selection.apply(pulled, target.ignore)
    if left_out:
        console.info(f"Left out by ignore rules: {selection.summary([left_out])}.")
        for note in left_out.notes:
            console.info(f"  also left out: {note}")
    files = store.render(pulled, layout, configured.entry if configured else None)
    if configured is not None:
        files.update(configured.files)
        if configured.ignored:
            console.info(f"Left out by ignore rules: {', '.join(configured.ignored)}.")
        for key in configured.withheld:
            console.warn(f"setting '{key}' holds a credential and is never written (set it on each instance)")
    new_tree = store.memory_tree(files, f"snapshot of {target.name}")
    schema_dir = config.schema_dir
    store.recover(schema_dir)

    counts = snap.count_entries(pulled)
    source = f"Directus {pulled.get('directus')}, {pulled.get('vendor', 'unknown vendor')}"
    shown = display(schema_dir) + "/"
    if store.same_content(schema_dir, files):
        console.info(f"{shown} already matches '{target.name}' ({source}); nothing changed.")
    else:
        before = store.folder_tree(schema_dir) if schema_dir.is_dir() else None
        described = summary(before, new_tree) or "new snapshot"
        store.write_tree(schema_dir, files)
        console.info(
            f"Pulled '{target.name}' ({source}): {counts['collections']} collections, "
            f"{counts['fields']} fields, {counts['relations']} relations"
            + (f"; {configured.counts}" if configured else "")
            + f" into {shown} ({described})."
        )
    if repo is not None:
        folder = repo.relpath(schema_dir)
        text = message or commit_message(summary(_committed(repo, folder), new_tree), pulled, target.name)
        sha = repo.commit_folder(folder, text)
        console.info("Nothing to commit." if sha is None else f"Committed {sha[:10]}.")
    return ExitCode.OK
