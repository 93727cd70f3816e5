"""``push``: apply the committed snapshot (or a saved plan) to a target, safely (engine.push).

Order of events: plan → every precondition → confirm → back up the target's current schema →
apply with the target's hash as guard → diff again and report anything left. Nothing is
applied when any step before the apply fails.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ExitCode, GitOpsError, RefusedError, ServerError
from directus_gitops.base.formats import Format
from directus_gitops.engine import origin, records
from directus_gitops.engine import plan as planning
from directus_gitops.engine import push as pushing
from directus_gitops.engine.fanout import Record
from directus_gitops.model import changes, collection_renames, renames, selection
from directus_gitops.model.config import Config, Target
from directus_gitops.reports import plan as shown
from directus_gitops.reports import render
from directus_gitops.server import lock
from directus_gitops.server.client import DirectusClient

if TYPE_CHECKING:  # the configuration kinds: imported only for a folder that holds some
    from directus_gitops.engine import configuration as sync


def _report(console: Console, fmt: Format, text: str) -> None:
    """Text beside the plan: on stdout with a text plan, else on stderr (stdout stays one document)."""
    if fmt == "text":
        console.result(text)
    else:
        console.info(text.rstrip("\n"))


def _failed(
    client: DirectusClient,
    console: Console,
    fmt: Format,
    plan: planning.Plan,
    error: ServerError,
    backup_path: Path | None,
) -> GitOpsError:
    """After an apply that failed: say what the target holds now (it may be half-applied)."""
    console.info(f"The apply to '{plan.target.name}' failed; the target now:")
    now = pushing.after_failure(client, plan)
    for note in now.notes:
        console.info(f"  {note}")
    if now.applied is not None and now.missing is not None:
        console.info(f"  already applied: {now.applied.summary()}")
        console.info(f"  not applied:     {now.missing.summary()}")
        if now.applied:
            _report(console, fmt, render.text(now.applied, title="Changes that did reach the target:"))
    if backup_path is not None:
        console.info(f"  backup of its schema from before the push: {backup_path}")
    return now.error(plan, error, backup_path)


def _push_config(
    client: DirectusClient,
    console: Console,
    config_plan: sync.Plan,
    plan: planning.Plan,
    backup_path: Path | None,
    *,
    before: list[str] | None = None,
) -> None:
    from directus_gitops.engine import configuration as sync

    console.info(f"Applying configuration ({config_plan.changes.summary()}) to '{plan.target.name}' …")
    done = sync.push(client, config_plan, plan.target_version, backup_path, before=before)
    console.info(f"Configuration of '{plan.target.name}' now matches {plan.source.label} ({len(done)} call(s)).")


def _rename_first(
    client: DirectusClient,
    console: Console,
    plan: planning.Plan,
    source: planning.Source,
    todo: list[renames.Rename],
    force: bool,
    system_index_changes: bool,
    mode: selection.Mode | None,
) -> planning.Plan:
    """Do the plan's renames (collections first, rows copied and checked before an old one
    goes; then fields, values copied and checked), then plan the rest again against the
    target as they left it."""
    from directus_gitops.engine import collection_rename
    from directus_gitops.engine import rename as renaming

    old: dict[tuple[str, str], Any] = {}
    moving = collection_renames.renamed_collections(plan.changes)
    if moving:
        console.info(f"Renaming {len(moving)} collection(s) on '{plan.target.name}', keeping their rows …")
        for moved in collection_rename.perform(client, moving, source.snapshot, progress=console.info):
            old.update(moved.old_schemas)
    if todo:
        console.info(f"Renaming {len(todo)} field(s) on '{plan.target.name}', keeping their values …")
        done = renaming.perform(client, todo, progress=console.info)
        old.update({(d.rename.collection, d.rename.new): d.old_schema for d in done if d.old_schema is not None})
    again = planning.make_plan(
        client, source, console, force=force, system_index_changes=system_index_changes, mode=mode
    )
    # The new fields' columns set back to what the old ones were lose nothing: every value came from them.
    again.changes = renames.copied_from(again.changes, old)
    return again


def _confirm(console: Console, target: Target) -> None:
    if not console.interactive:
        raise RefusedError("no terminal to confirm the push; pass --yes to push without asking")
    if not console.confirm(f"Apply these changes to '{target.name}' ({target.url})?"):
        raise RefusedError("push cancelled; nothing was applied")


def run(
    config: Config,
    target: Target,
    console: Console,
    *,
    ref: str | None,
    path: Path | None,
    plan_file: Path | None,
    fmt: Format,
    force: bool,
    yes: bool,
    allow_data_loss: bool,
    dry_run: bool,
    allow_config_removal: bool = False,
    no_backup: bool,
    system_index_changes: bool = False,
    allow_missing_extensions: bool = False,
    mode: selection.Mode | None = None,
    record: Record | None = None,
    lock_timeout: float = 0.0,
    details: bool = False,
) -> int:
    record = record or Record()
    with DirectusClient(target) as client:
        # Read and validate the source before taking the lock: no request for a bad file. What
        # changes a server comes from the committed files themselves, never from a record.
        source = (
            None
            if plan_file is not None
            else planning.read_source(config, console, ref=ref, path=path, remembered=False)
        )
        saved = planning.load_saved(plan_file) if plan_file is not None else None
        what = f"push of {source.label}" if source is not None else f"push of the plan {plan_file}"
        guard = contextlib.nullcontext() if dry_run else lock.held(client, what, wait=lock_timeout, info=console.info)
        with guard, contextlib.ExitStack() as cleanup:
            if plan_file is not None:
                assert saved is not None
                plan = pushing.from_saved(target, plan_file, saved, client, console)
                plan.config = pushing.saved_config(client, saved, plan, plan_file)
            else:
                assert source is not None
                plan = planning.make_plan(
                    client,
                    source,
                    console,
                    force=force,
                    system_index_changes=system_index_changes,
                    mode=mode,
                    # The backup, written as the target is read while the diff is computed.
                    backup_to=None if no_backup or dry_run else config.backups,
                )
                if plan.backup is not None:  # kept only once the push goes on
                    cleanup.callback(plan.backup.discard)
                plan.changes = records.of_source(plan.changes, config, source)
                plan.origin = origin.explain(config, plan, console.warn)
            config_plan = plan.config
            configured = config_plan.changes if config_plan is not None else None
            console.result(shown.document(plan, fmt, config=configured, color=console.color, details=details))
            record.changes = plan.changes.summary()
            if plan.diff is None and not configured:
                record.result = "already matches"
                return ExitCode.OK

            refusals = pushing.preconditions(
                client,
                plan,
                config_plan,
                allow_data_loss=allow_data_loss,
                allow_config_removal=allow_config_removal,
                allow_missing_extensions=allow_missing_extensions,
            )
            for note in pushing.predicted_notes(plan):
                console.warn(note)
            if dry_run:
                # Nothing was attempted, so nothing was refused: say what a real push would do.
                for refusal in refusals:
                    console.warn(pushing.as_warning(refusal))
                console.info("Dry run: nothing applied.")
                record.result = "dry run: nothing applied"
                return ExitCode.OK
            todo = renames.renamed_fields(plan.changes)
            renaming = bool(todo or collection_renames.renamed_collections(plan.changes))
            if renaming and plan_file is not None:
                refusals.append(
                    RefusedError(
                        f"refusing to push: {plan_file} holds a rename, which changes the target before the "
                        "diff applies (so its hash would no longer hold); nothing was applied",
                        hint="push the commit itself: directus-gitops push --ref REV",
                    )
                )
            if refusals:
                raise refusals[0]
            if not yes:
                _confirm(console, target)

            backup_path = (
                None if no_backup else pushing.backup(target, plan.target_snapshot, config.backups, plan.backup)
            )
            if backup_path is not None:
                record.backup = backup_path
                console.info(f"Backed up the schema of '{target.name}' to {backup_path}")
            config_backup = None
            if config_plan is not None and configured and not no_backup:
                from directus_gitops.engine import configuration as sync

                config_backup = sync.backup(config_plan, config.backups, target.name)
                console.info(f"Backed up the configuration of '{target.name}' to {config_backup}")
            if plan.diff is None:
                assert config_plan is not None
                record.result = "applied"
                _push_config(client, console, config_plan, plan, config_backup)
                return ExitCode.OK

            if renaming:
                assert source is not None
                plan = _rename_first(client, console, plan, source, todo, force, system_index_changes, mode)
                config_plan = plan.config
                refusals = pushing.preconditions(
                    client,
                    plan,
                    config_plan,
                    allow_data_loss=allow_data_loss,
                    allow_config_removal=allow_config_removal,
                )
                if refusals:
                    raise refusals[0]
                if plan.diff is None and not (config_plan is not None and config_plan.changes):
                    console.info(f"Done: '{target.name}' now matches {plan.source.label}.")
                    record.result = "applied"
                    return ExitCode.OK
                if plan.diff is None:
                    assert config_plan is not None
                    record.result = "applied"
                    _push_config(client, console, config_plan, plan, config_backup)
                    return ExitCode.OK
            console.info(f"Applying {plan.changes.summary()} to '{target.name}' …")
            try:
                with console.progress(f"Applying {plan.changes.summary()} to '{target.name}'"):
                    pushing.apply_schema(client, plan, say=console.info)
            except ServerError as exc:
                if exc.exit_code == ExitCode.REFUSED:  # a stale hash: nothing was applied
                    raise
                raise _failed(client, console, fmt, plan, exc, backup_path) from None

            if config_plan is not None and configured:
                schema_done = [f"schema: {plan.changes.summary()}"]
                _push_config(client, console, config_plan, plan, config_backup, before=schema_done)
            with console.progress(f"Asking '{target.name}' what differs after the apply"):
                remaining = planning.verify(client, plan)
    if remaining is not None:
        left = changes.from_server(remaining.diff)
        _report(console, fmt, render.text(left, title=f"Read back differently on '{target.name}' after the apply:"))
        raise pushing.residue(plan, left)
    console.info(f"Done: '{target.name}' now matches {plan.source.label} ({plan.changes.summary()}).")
    record.result = "applied"
    return ExitCode.OK
