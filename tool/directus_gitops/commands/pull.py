"""``pull``: a live instance's snapshot → canonical YAML in the schema folder."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directus_gitops.base.console import Console, display
from directus_gitops.base.errors import ExitCode, GitOpsError
from directus_gitops.base.prefetch import Prefetch
from directus_gitops.files import pullcache, store
from directus_gitops.files import snapshot as snap
from directus_gitops.model import selection
from directus_gitops.model.config import Config, Target

if TYPE_CHECKING:
    import httpx

    from directus_gitops.files.gitrepo import Repo
    from directus_gitops.server.client import DirectusClient

# httpx, the change model and the configuration kinds are imported only where needed: the
# snapshot request starts first, and the rest loads while the server builds the snapshot.


def summary(before: store.Tree | None, after: store.Tree) -> str | None:
    """What changed between two trees (``+1 field, ~2 fields``), reading only differing files.

    None when there was nothing readable before, so there is no change to describe.
    """
    if before is None:
        return None
    from directus_gitops.engine import configuration as sync
    from directus_gitops.model import changes, project

    try:
        old, new = store.load_differing(before, after)
        configured = sync.diff(sync.load(before.read, before.source), sync.load(after.read, after.source))
    except GitOpsError:
        return None
    return project.summary(changes.compare(old.snapshot, new.snapshot), configured)


def _renames(schema_dir: Path) -> list[Any] | None:
    """The renames the folder records: kept, so later plans against targets that still hold
    an old name know it (a folder that cannot be read records none)."""
    try:
        manifest = store.read_manifest(store.dir_reader(schema_dir), str(schema_dir))
    except GitOpsError:
        return None
    return list(manifest.get("renames") or []) if manifest else None


def _committed(repo: Repo, folder: str) -> store.Tree | None:
    """The schema folder as last committed, which the commit message describes changes against."""
    if not repo.has_commits():
        return None
    return repo.schema_tree("HEAD", folder)[1]


def commit_message(change_summary: str | None, counts: str, env: str, configured: str | None = None) -> str:
    """``schema: +1 field; configuration: +1 permission``, or for a first pull what it holds
    (``counts``: ``snapshot.described_counts``)."""
    if change_summary is None:
        return f"schema: snapshot of {env} ({counts}" + (f"; {configured}" if configured else "") + ")"
    return f"schema: {change_summary}"


def _request(target: Target, sending: threading.Event) -> tuple[DirectusClient, httpx.Response]:
    try:
        from directus_gitops.server.client import DirectusClient

        client = DirectusClient(target)
    finally:
        sending.set()  # on its way (or failed: nothing to wait for)
    try:
        return client, client.snapshot_response()
    except BaseException:
        client.close()
        raise


def run(
    config: Config,
    target: Target,
    console: Console,
    *,
    layout: store.Layout | None = None,
    commit: bool = False,
    message: str | None = None,
) -> int:
    sending = threading.Event()
    fetch = Prefetch(lambda: _request(target, sending), cleanup=lambda answer: answer[0].close())
    # Leave the interpreter to the request until it is on its way (loading httpx is most of
    # that); what follows has the whole time the server takes to build the snapshot.
    sending.wait(timeout=5)
    try:
        return _run(config, target, console, fetch, layout=layout or config.layout, commit=commit, message=message)
    finally:
        fetch.discard()


def _run(
    config: Config,
    target: Target,
    console: Console,
    fetch: Prefetch[tuple[DirectusClient, httpx.Response]],
    *,
    layout: store.Layout,
    commit: bool,
    message: str | None,
) -> int:
    repo = None
    if commit:
        from directus_gitops.files.gitrepo import Repo

        repo = Repo(config.schema_dir.parent)  # fail before touching anything
    schema_dir = config.schema_dir
    store.recover(schema_dir)
    shown = display(schema_dir) + "/"
    # While the server works: what the last pull wrote, and what the folder holds now. Only
    # a schema-only pull without --commit can be done from the record alone.
    data = config.data_for(target.name)
    schema_only = all(group == "schema" for group in config.sync) and not data
    remembered = pullcache.load(schema_dir) if schema_only else None
    disk = pullcache.on_disk(schema_dir) if remembered is not None else None
    # The allow list decides whether the files are written at all: a changed one pulls again.
    fingerprint = pullcache.fingerprint(layout, (target.ignore, config.secrets_allow))
    from directus_gitops.engine import translate  # (loads while the request runs)
    from directus_gitops.model import validate  # noqa: F401 - the answer's validation, loaded while the request runs
    from directus_gitops.model.kinds import secrets  # loads while the request runs

    if not schema_only:
        from directus_gitops.engine import configuration as sync

    with console.progress(f"Reading the schema of '{target.name}'"):
        client, response = fetch.result()
        with client:
            answer_key = pullcache.key(response.content, fingerprint)
            if repo is None and pullcache.matches(remembered, answer_key, disk):
                assert remembered is not None
                for note in remembered.notes:
                    console.info(note)
                for warning in remembered.warnings:
                    console.warn(warning)
                console.info(f"{shown} already matches '{target.name}' ({remembered.source}); nothing changed.")
                return ExitCode.OK
            # As `check` validates the files, before anything is written.
            # As the columns store their defaults, not as Directus reads them back.
            pulled = client.snapshot_of(response, untracked_fields=True)
            pulled = translate.as_stored(pulled, mariadb=client.mariadb(pulled.get("vendor")))
            del response  # its body is decoded: let it go before the files are rendered
            # The configuration kinds directus-gitops.yaml enables (none: schema only).
            configured = (
                None
                if schema_only
                else sync.pull(client, config.sync, pulled.get("directus"), target.ignore, pulled, data)
            )
    pulled, left_out = selection.apply(pulled, target.ignore)
    memo = pullcache.Memo(remembered, fingerprint, disk)
    files = store.render(pulled, layout, configured.entry if configured else None, memo, _renames(schema_dir))
    # Every secret the files would hold, the schema's and the configuration's, refused at
    # once before anything is written; what `secrets: allow:` names is written. A collection
    # file that is as the last pull wrote and checked it is not looked through again.
    found = secrets.find_schema(pulled, layout, memo.recalled) + list(configured.found if configured else ())
    warnings = [
        f"secrets: allow: '{entry}' matches nothing this pull found (remove it once the value is gone)"
        for entry in secrets.check(found, config.secrets_allow)
        if entry.partition(":")[0] not in memo.recalled
    ]
    notes = []
    if left_out:
        notes.append(f"Left out by ignore rules: {selection.summary([left_out])}.")
        notes.extend(f"  also left out: {note}" for note in left_out.notes)
    for note in notes:
        console.info(note)
    for warning in warnings:
        console.warn(warning)
    if configured is not None:
        files.update(configured.files)
        if configured.ignored:
            console.info(f"Left out by ignore rules: {', '.join(configured.ignored)}.")
        for key in configured.withheld:
            console.warn(f"setting '{key}' holds a credential and is never written (set it on each instance)")
    new_tree = store.memory_tree(files, f"snapshot of {target.name}")

    source = f"Directus {pulled.get('directus')}, {pulled.get('vendor', 'unknown vendor')}"
    counts = snap.described_counts(pulled)
    del pulled  # rendered and checked: on a large model its dicts are most of what the rest would hold
    if store.same_content(schema_dir, files):
        console.info(f"{shown} already matches '{target.name}' ({source}); nothing changed.")
    else:
        before = store.folder_tree(schema_dir) if schema_dir.is_dir() else None
        described = summary(before, new_tree) or "new snapshot"
        pullcache.forget(schema_dir)  # until the new tree is in place
        store.write_tree(schema_dir, files)
        console.info(
            f"Pulled '{target.name}' ({source}): {counts}"
            + (f"; {configured.counts}" if configured else "")
            + f" into {shown} ({described})."
        )
    if configured is None:
        record = pullcache.Record(answer_key, pullcache.ids(files), source, notes, fingerprint, memo.contents, warnings)
        pullcache.save(schema_dir, record)
    if repo is not None:
        folder = repo.relpath(schema_dir)
        text = message or commit_message(
            summary(_committed(repo, folder), new_tree), counts, target.name, configured.counts if configured else None
        )
        sha = repo.commit_folder(folder, text)
        console.info("Nothing to commit." if sha is None else f"Committed {sha[:10]}.")
    return ExitCode.OK
