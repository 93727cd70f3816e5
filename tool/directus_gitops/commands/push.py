"""``push``: apply the committed snapshot (or a saved plan) to a target, safely.

Order of events: plan → refuse data loss unless allowed → confirm → back up the target's
current schema → apply with the target's hash as guard → diff again and report anything
left. Nothing is applied when any step before the apply fails.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directus_gitops import changes, lock, preflight, render, selection, translate, yamlio
from directus_gitops import snapshot as snap
from directus_gitops.client import Diff, DirectusClient
from directus_gitops.commands import plan as planning
from directus_gitops.config import Config, Target
from directus_gitops.console import Console
from directus_gitops.errors import (
    ExitCode,
    GitOpsError,
    PartialApplyError,
    RefusedError,
    ResidueError,
    ServerError,
    StaleHashError,
)
from directus_gitops.fanout import Record

if TYPE_CHECKING:  # the configuration kinds: imported only for a folder that holds some
    from directus_gitops.kinds import sync


def backup_text(current: snap.Snapshot) -> str:
    """The target's schema as one canonical file Directus itself can apply (header aside)."""
    return yamlio.dump(snap.canonical(current))


def backup(target: Target, current: snap.Snapshot, folder: Path, text: str | None = None) -> Path:
    """Write the target's current schema (``text``, when already made from it) to a new file."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{target.name}-{stamp}.yaml"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"{target.name}-{stamp}-{counter}.yaml"
    header = f"# Schema of '{target.name}' ({target.url}) before a push, {stamp}.\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(header + (text if text is not None else backup_text(current)), encoding="utf-8")
    tmp.replace(path)
    return path


def _from_saved(
    target: Target, plan_file: Path, document: dict[str, Any], client: DirectusClient, console: Console
) -> planning.Plan:
    saved_url = (document.get("target") or {}).get("url")
    if saved_url != target.url:
        raise RefusedError(f"{plan_file} was made for {saved_url}, not for '{target.name}' ({target.url})")
    source_info = document.get("source") or {}
    source = planning.Source(
        snapshot=document["snapshot"],
        label=f"saved plan {plan_file} ({source_info.get('label', 'unknown source')})",
        ref=source_info.get("ref"),
        commit=source_info.get("commit"),
    )
    with console.progress(f"Reading the schema of '{target.name}'"):
        current = client.snapshot()
    diff = Diff(hash=document["hash"], diff=document["diff"]) if document.get("diff") is not None else None
    return planning.Plan(
        source,
        target,
        current,
        current.get("directus"),
        diff,
        changes.from_server(document.get("diff") or {}),
        forced=bool(document.get("force")),
        system_index_changes=bool(document.get("system_index_changes")),
        mode="merge" if document.get("mode") == "merge" else "mirror",
    )


def _report(console: Console, fmt: render.Format, text: str) -> None:
    """Text beside the plan: on stdout with a text plan, else on stderr (stdout stays one document)."""
    if fmt == "text":
        console.result(text)
    else:
        console.info(text.rstrip("\n"))


def _report_partial(
    client: DirectusClient,
    console: Console,
    fmt: render.Format,
    plan: planning.Plan,
    error: ServerError,
    backup_path: Path | None,
) -> GitOpsError:
    """After an apply that failed: say what the target holds now (it may be half-applied)."""
    console.info(f"The apply to '{plan.target.name}' failed; the target now:")
    # MySQL/MariaDB commit each schema change at once, and the server keeps serving its
    # cached schema after a failure: make it read the database again before asking.
    try:
        client.clear_cache()
    except ServerError as exc:
        console.info(f"  (could not clear the server's schema cache: {exc.message}; what follows may be stale)")
    applied: changes.ChangeSet | None = None
    try:
        now = client.snapshot()
    except ServerError as exc:
        console.info(f"  could not be read ({exc.message})")
    else:
        applied = changes.compare(plan.target_snapshot, now)
        console.info(f"  already applied: {applied.summary()}")
        missing = changes.compare(now, planning.desired_now(client, plan, now))
        console.info(f"  not applied:     {missing.summary()}")
        if applied:
            _report(console, fmt, render.text(applied, title="Changes that did reach the target:"))
    if backup_path is not None:
        console.info(f"  backup of its schema from before the push: {backup_path}")
    if applied is None:
        return ServerError(
            f"the apply failed and the target could not be read back: {error.message}",
            hint="check the target by hand before pushing again",
            status=error.status,
            code=error.code,
        )
    if applied:
        return PartialApplyError(
            f"the apply failed part-way: {applied.summary()} reached '{plan.target.name}': {error.message}",
            hint="push again once the cause is fixed (the plan will hold only what is left), "
            + (f"or push the backup {backup_path} back" if backup_path else "or restore the target"),
        )
    return ServerError(
        f"the apply failed and nothing reached the target: {error.message}", status=error.status, code=error.code
    )


def _push_config(
    client: DirectusClient,
    console: Console,
    config_plan: sync.Plan,
    plan: planning.Plan,
    backup_path: Path | None,
    *,
    before: list[str] | None = None,
) -> int:
    from directus_gitops.kinds import sync

    console.info(f"Applying configuration ({config_plan.changes.summary()}) to '{plan.target.name}' …")
    done = sync.push(client, config_plan, plan.target_version, backup_path, before=before)
    console.info(f"Configuration of '{plan.target.name}' now matches {plan.source.label} ({len(done)} call(s)).")
    return ExitCode.OK


def run(
    config: Config,
    target: Target,
    console: Console,
    *,
    ref: str | None,
    path: Path | None,
    plan_file: Path | None,
    fmt: render.Format,
    force: bool,
    yes: bool,
    allow_data_loss: bool,
    dry_run: bool,
    no_backup: bool,
    system_index_changes: bool = False,
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
        with guard:
            if plan_file is not None:
                assert saved is not None
                plan = _from_saved(target, plan_file, saved, client, console)
            else:
                assert source is not None
                plan = planning.make_plan(
                    client,
                    source,
                    console,
                    force=force,
                    system_index_changes=system_index_changes,
                    mode=mode,
                    read_target=not (no_backup or dry_run),  # the backup, read while the diff is computed
                    prepare=backup_text,
                )
            planning.show(plan, console, fmt, details=details)
            if plan_file is None:
                config_plan = planning.plan_config(config, client, plan, ref=ref, path=path)
            else:  # the configuration the plan was saved with, if any, against an unchanged target
                saved_config = (saved or {}).get("config")
                config_plan = None
                if saved_config is not None:
                    from directus_gitops.kinds import sync

                    config_plan = sync.from_saved(
                        client, saved_config, plan.target_version, f"{plan_file}", target.name, rules=target.ignore
                    )
            if config_plan is not None:
                from directus_gitops.kinds import compare as kinds_compare
                from directus_gitops.kinds import sync

                _report(console, fmt, kinds_compare.text(config_plan.changes))
            record.changes = plan.changes.summary()
            if plan.diff is None and not (config_plan and config_plan.changes):
                record.result = "already matches"
                return ExitCode.OK

            # Every precondition is checked here, before the backup and the first write.
            refusals: list[GitOpsError] = []
            if config_plan is not None and config_plan.changes:
                unset = sync.unset_error(config_plan)
                if unset is not None:
                    refusals.append(unset)
                lockout = sync.lockout(client, config_plan)
                if lockout is not None:  # whatever the flags, --dry-run included
                    raise RefusedError(f"refusing to push: {lockout}; nothing was applied")
                if not allow_data_loss:
                    try:
                        sync.refuse_removals(config_plan.changes)
                    except RefusedError as exc:
                        refusals.append(exc)
            lossy = plan.changes.data_loss
            if lossy and not allow_data_loss:
                names = ", ".join(c.name for c in lossy[:5]) + (" …" if len(lossy) > 5 else "")
                refusals.append(
                    RefusedError(
                        f"refusing to push: {len(lossy)} change(s) can lose data ({names}); nothing was applied",
                        hint="review the plan, then re-run with --allow-data-loss",
                    )
                )
            # Only Directus 12 has a licence limit (and GET /license); don't ask older targets.
            known = snap.release(plan.target_version)
            read_licence = client.licence if known is None or known >= (12, 0, 0) else lambda: None
            problem = preflight.licence_problem(read_licence, plan.changes, target.name)
            if problem is not None:
                refusals.append(
                    RefusedError(f"refusing to push: {problem}; nothing was applied", hint=preflight.LICENCE_HINT)
                )
            if dry_run:
                # Nothing was attempted, so nothing was refused: say what a real push would do.
                for refusal in refusals:
                    said = refusal.message.replace("refusing to push", "a push would refuse", 1).split(";")[0]
                    console.warn(said if said.startswith("a push would") else f"a push would stop: {said}")
                console.info("Dry run: nothing applied.")
                record.result = "dry run: nothing applied"
                return ExitCode.OK
            if refusals:
                raise refusals[0]
            if not yes:
                if not console.interactive:
                    raise RefusedError("no terminal to confirm the push; pass --yes to push without asking")
                if not console.confirm(f"Apply these changes to '{target.name}' ({target.url})?"):
                    raise RefusedError("push cancelled; nothing was applied")

            backup_path = None if no_backup else backup(target, plan.target_snapshot, config.backups, plan.prepared)
            if backup_path is not None:
                record.backup = backup_path
                console.info(f"Backed up the schema of '{target.name}' to {backup_path}")
            config_backup = None
            if config_plan is not None and config_plan.changes and not no_backup:
                config_backup = sync.backup(config_plan, config.backups, target.name)
                console.info(f"Backed up the configuration of '{target.name}' to {config_backup}")
            if plan.diff is None:
                assert config_plan is not None
                record.result = "applied"
                return _push_config(client, console, config_plan, plan, config_backup)

            console.info(f"Applying {plan.changes.summary()} to '{target.name}' …")
            try:
                with console.progress(f"Applying {plan.changes.summary()} to '{target.name}'"):
                    client.apply(Diff(plan.diff.hash, translate.diff_for_apply(plan.diff.diff, plan.target_snapshot)))
            except StaleHashError as exc:
                raise StaleHashError(
                    f"'{target.name}' changed after this plan was made, so nothing was applied ({exc.message})",
                    hint="run plan or push again to diff against the target as it is now",
                ) from None
            except ServerError as exc:
                raise _report_partial(client, console, fmt, plan, exc, backup_path) from None

            if config_plan is not None and config_plan.changes:
                schema_done = [f"schema: {plan.changes.summary()}"]
                _push_config(client, console, config_plan, plan, config_backup, before=schema_done)
            with console.progress(f"Asking '{target.name}' what differs after the apply"):
                remaining = planning.verify(client, plan)
    if remaining is not None:
        left = changes.from_server(remaining.diff)
        _report(console, fmt, render.text(left, title=f"Read back differently on '{target.name}' after the apply:"))
        raise ResidueError(
            f"applied, but '{target.name}' reads back differently from {plan.source.label} in "
            f"{len(left)} place(s) ({left.summary()})",
            hint="Directus could not apply these or stores them differently (see the list above); "
            "pushing again will not change them",
        )
    console.info(f"Done: '{target.name}' now matches {plan.source.label} ({plan.changes.summary()}).")
    record.result = "applied"
    return ExitCode.OK
