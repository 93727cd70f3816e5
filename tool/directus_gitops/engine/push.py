"""Pushing: the preconditions checked before the first write, the backup, the apply with the
target's hash as guard, and what a failed apply left on the target.

Order of events (the ``push`` command drives them): plan → every precondition (placeholders,
lock-out, consent, licence: collections and permissions, what Directus would refuse part-way:
engine.predict) → confirm → back up the target → apply the schema → apply the configuration →
verify. Nothing is written when any step before the backup fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directus_gitops.base.console import Console
from directus_gitops.base.errors import (
    GitOpsError,
    PartialApplyError,
    PayloadTooLargeError,
    RefusedError,
    ResidueError,
    ServerError,
    StaleHashError,
)
from directus_gitops.engine import parts, predict, preflight, translate
from directus_gitops.engine import plan as planning
from directus_gitops.engine.backup import Staged, of_snapshot
from directus_gitops.files import snapshot as snap
from directus_gitops.model import changes, renames
from directus_gitops.model.config import Target
from directus_gitops.server.client import Diff, DirectusClient

if TYPE_CHECKING:  # the configuration kinds: imported only for a folder that holds some
    from directus_gitops.engine import configuration as sync


def backup(target: Target, current: snap.Snapshot, folder: Path, staged: Staged | None = None) -> Path:
    """Write the target's current schema to a new file in ``folder``: ``staged``, when made
    already (as the target was read, alongside the diff), else made from ``current``."""
    return (staged if staged is not None else of_snapshot(target, current, folder)).keep()


def from_saved(
    target: Target, plan_file: Path, document: dict[str, Any], client: DirectusClient, console: Console
) -> planning.Plan:
    """The plan a file saved by ``plan --out`` holds, against the target as it is now (its
    hash still guards the apply)."""
    saved_target = document.get("target") or {}
    saved_url, saved_env = saved_target.get("url"), saved_target.get("env")
    if saved_url != target.url:
        raise RefusedError(
            f"{plan_file} was made for {saved_url}, not for '{target.name}' ({target.url}); nothing was applied",
            hint=f"push it to the environment it was made for: --env {saved_env}"
            if saved_env and saved_env != target.name
            else "make the plan again against this environment: directus-gitops plan --out",
        )
    source_info = document.get("source") or {}
    source = planning.Source(
        snapshot=document["snapshot"],
        label=f"saved plan {plan_file} ({source_info.get('label', 'unknown source')})",
        ref=source_info.get("ref"),
        commit=source_info.get("commit"),
        renames=renames.recorded(document),
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
        renames.fold(changes.from_server(document.get("diff") or {}), source.renames, source.snapshot),
        forced=bool(document.get("force")),
        system_index_changes=bool(document.get("system_index_changes")),
        mode="merge" if document.get("mode") == "merge" else "mirror",
    )


def saved_config(
    client: DirectusClient, saved: dict[str, Any], plan: planning.Plan, plan_file: Path
) -> sync.Plan | None:
    """The configuration a saved plan carries, planned again against an unchanged target."""
    document = saved.get("config")
    if document is None:
        return None
    from directus_gitops.engine import configuration as sync

    target = plan.target
    return sync.from_saved(
        client,
        document,
        plan.target_version,
        f"{plan_file}",
        target.name,
        rules=target.ignore,
        mode=plan.mode,
        files_release=plan.source.snapshot.get("directus"),
    )


def preconditions(
    client: DirectusClient,
    plan: planning.Plan,
    config_plan: sync.Plan | None,
    *,
    allow_data_loss: bool,
    allow_config_removal: bool,
    allow_missing_extensions: bool = False,
) -> list[GitOpsError]:
    """Every reason the push cannot go on, checked before the backup and the first write: an
    unset placeholder variable, configuration removals without ``--allow-config-removal``, data
    loss without ``--allow-data-loss``, the licence's limit. A push that would lock its own
    user out is refused at once (whatever the flags, a dry run included)."""
    refusals: list[GitOpsError] = []
    if config_plan is not None and config_plan.changes:
        from directus_gitops.engine import configuration as sync

        unset = sync.unset_error(config_plan)
        if unset is not None:
            refusals.append(unset)
        lockout = sync.lockout(client, config_plan)
        if lockout is not None:
            raise RefusedError(f"refusing to push: {lockout}; nothing was applied")
        if not allow_config_removal:
            try:
                sync.refuse_removals(config_plan.changes)
            except RefusedError as exc:
                refusals.append(exc)
    # Data loss in the schema (a column, a table, a narrower type) and in reference data (rows).
    lossy = [c.name for c in plan.changes.data_loss]
    lossy += [c.label for c in config_plan.changes.data_loss] if config_plan is not None else []
    if lossy and not allow_data_loss:
        names = ", ".join(lossy[:5]) + (" …" if len(lossy) > 5 else "")
        refusals.append(
            RefusedError(
                f"refusing to push: {len(lossy)} change(s) can lose data ({names}); nothing was applied",
                hint="review the plan, then re-run with --allow-data-loss (--allow-config-removal does not cover it)",
            )
        )
    refusals.extend(licence_refusals(client, plan, config_plan))
    refusals.extend(predicted_refusals(client, plan, config_plan, allow_missing_extensions=allow_missing_extensions))
    return refusals


def licence_refusals(client: DirectusClient, plan: planning.Plan, config_plan: sync.Plan | None) -> list[RefusedError]:
    """What the target's licence would refuse part-way: more active collections than it allows,
    permissions with custom rules it does not entitle. ``GET /license`` is read at most once,
    and only when the plan holds something it could refuse."""
    # Only Directus 12 has a licence (and GET /license); don't ask older targets.
    known = snap.release(plan.target_version)
    read: list[Mapping[str, Any] | None] = []

    def read_licence() -> Mapping[str, Any] | None:
        if not read:
            read.append(client.licence() if known is None or known >= (12, 0, 0) else None)
        return read[0]

    refusals = []
    target = plan.target.name
    for problem, hint in (
        (preflight.licence_problem(read_licence, plan.changes, target), preflight.LICENCE_HINT),
        (
            preflight.permission_problem(read_licence, config_plan.changes if config_plan else None, target),
            preflight.PERMISSION_HINT,
        ),
    ):
        if problem is not None:
            refusals.append(RefusedError(f"refusing to push: {problem}; nothing was applied", hint=hint))
    return refusals


def predicted_refusals(
    client: DirectusClient, plan: planning.Plan, config_plan: sync.Plan | None, *, allow_missing_extensions: bool
) -> list[RefusedError]:
    """What Directus would refuse or get wrong part-way (engine.predict): required fields
    without a default on tables with rows, names too long for the database, column names
    differing only in case where the database takes them for one, columns of types Directus
    does not know, tables over MySQL/MariaDB's row size, extensions the target lacks (unless
    ``allow_missing_extensions``)."""
    desired = plan.sent or plan.source.snapshot
    vendor, target = plan.target_vendor, plan.target.name

    def count_rows(collection: str) -> int | None:
        return client.count_rows(collection, plan.target_version)

    found = [
        (predict.required_problem(count_rows, plan.changes, desired, vendor, target), predict.REQUIRED_HINT),
        (predict.identifier_problem(plan.changes, vendor, target), predict.IDENTIFIER_HINT),
        (predict.unknown_columns_problem(plan.changes, target), predict.UNKNOWN_TYPE_HINT),
        (predict.case_problem(plan.changes, desired, vendor, target), predict.CASE_HINT),
        (predict.row_size_problem(plan.changes, desired, vendor, target), predict.ROW_SIZE_HINT),
    ]
    if not allow_missing_extensions:
        configured = config_plan.changes if config_plan is not None else None
        problem = predict.extensions_problem(
            client.extensions, plan.changes, desired, configured, plan.target_version, target
        )
        found.append((problem, predict.EXTENSIONS_HINT))
    return [
        RefusedError(f"refusing to push: {problem}; nothing was applied", hint=hint)
        for problem, hint in found
        if problem is not None
    ]


def predicted_notes(plan: planning.Plan) -> list[str]:
    """What may still stop the apply that no endpoint lets the tool check before it."""
    desired, vendor = plan.sent or plan.source.snapshot, plan.target_vendor
    notes = (
        predict.geometry_note(plan.changes, desired, plan.target_snapshot, vendor),
        predict.row_size_note(plan.changes, desired, vendor),
    )
    return [note for note in notes if note is not None]


def as_warning(refusal: GitOpsError) -> str:
    """A precondition's refusal as what a push would do (for a dry run or a plan)."""
    said = refusal.message.replace("refusing to push", "a push would refuse", 1).split(";")[0]
    return said if said.startswith("a push would") else f"a push would stop: {said}"


def apply_schema(client: DirectusClient, plan: planning.Plan, say: Callable[[str], None] | None = None) -> None:
    """Send the plan's diff with its hash: a target changed since the plan refuses it whole.
    What the apply may fail on (:func:`may_fail`) comes first in it (engine.parts.first), in an
    apply of its own on MySQL/MariaDB when Directus would make something else first
    (engine.parts.alone: they keep what an apply made before a failure); a diff the target
    refuses for its size goes in parts (:func:`apply_in_parts`)."""
    assert plan.diff is not None
    client.knows_release(plan.target_version)  # (the body /schema/apply takes depends on it)
    risky = may_fail(plan)
    whole = parts.first(translate.diff_for_apply(plan.diff.diff, plan.target_snapshot), risky)
    say = say or (lambda _: None)
    alone = parts.alone(whole, risky) if plan.target_vendor == "mysql" else 0
    if alone:
        say(
            f"applying first, on its own, what '{plan.target.name}' may fail on (MySQL/MariaDB keep what an "
            "apply made before a failure), then the rest"
        )
        apply_in_parts(client, plan, whole, None, say, risky, alone=alone)
    else:
        try:
            client.apply(Diff(plan.diff.hash, whole))
        except StaleHashError as exc:
            raise _stale(plan, exc) from None
        except PayloadTooLargeError as exc:
            apply_in_parts(client, plan, whole, exc, say, risky)
    restore_not_null(client, plan, say)


def restore_not_null(client: DirectusClient, plan: planning.Plan, say: Callable[[str], None]) -> None:
    """Rule not-null-restored (engine.translate): make NOT NULL again the columns Directus
    9.x to 11.0 made nullable while the apply edited their fields, from a new diff of the target,
    under its hash. Asks nothing unless the plan edited a field whose column is NOT NULL."""
    known = snap.release(plan.target_version)
    if known is None or known >= (11, 1, 0) or plan.diff is None:
        return
    required = {
        (f.get("collection"), f.get("field"))
        for f in plan.target_snapshot.get("fields") or []
        if isinstance(f.get("schema"), Mapping) and f["schema"].get("is_nullable") is False
    }
    edited = {
        (e.get("collection"), e.get("field"))
        for e in plan.diff.diff.get("fields") or []
        if any(isinstance(r, Mapping) and r.get("kind") == "E" for r in e.get("diff") or [])
    }
    touched = required & edited
    if not touched:
        return
    fresh = client.diff(plan.sent or plan.source.snapshot, force=plan.forced)
    if fresh is None:
        return
    entries = []
    for entry in fresh.diff.get("fields") or []:
        if (entry.get("collection"), entry.get("field")) not in touched:
            continue
        records = [
            r
            for r in entry.get("diff") or []
            if r.get("path") == ["schema", "is_nullable"] and r.get("lhs") is True and r.get("rhs") is False
        ]
        if records:
            entries.append({**entry, "diff": records})
    if not entries:
        return
    only: dict[str, Any] = {key: [] for key in fresh.diff if isinstance(fresh.diff[key], list)}  # (systemFields too)
    client.apply(Diff(fresh.hash, {**fresh.diff, **only, "fields": entries}))
    names = ", ".join(f"{e.get('collection')}.{e.get('field')}" for e in entries)
    say(
        f"restored NOT NULL on {len(entries)} column(s) Directus {plan.target_version} made nullable while it "
        f"applied their fields (rule not-null-restored): {names}"
    )


def residue(plan: planning.Plan, left: changes.ChangeSet) -> ResidueError:
    """The error for what reads back differently after the apply of ``plan``. What the plan
    asked for and Directus stored otherwise comes back the same at every push; what the apply
    changed though the plan did not ask is different: the next plan proposes to change it back."""
    unasked = [change.name for change in left if not _asked(plan.changes, change)]
    stored = "Directus stored what was sent otherwise (see the list above and docs/compatibility.md)"
    if not unasked:
        hint = f"{stored}: a push sends the same again"
    else:
        shown = ", ".join(unasked[:3]) + (f" and {len(unasked) - 3} more" if len(unasked) > 3 else "")
        hint = (
            f"the apply also changed {len(unasked)} place(s) the plan did not ask for ({shown}): the next plan "
            "proposes to change them back"
        )
        if len(unasked) < len(left):
            hint += f"; for the rest, {stored}"
    return ResidueError(
        f"applied, but '{plan.target.name}' reads back differently from {plan.source.label} in "
        f"{len(left)} place(s) ({left.summary()})",
        hint=hint,
    )


def _asked(asked: changes.ChangeSet, change: changes.Change) -> bool:
    """Whether the plan asked to change what ``change`` names: its entry made or removed, or one
    of its properties (or a property holding it, or held in it) changed."""
    key = (change.kind, change.collection, change.field)
    for planned in asked:
        for one in (planned, *planned.within):
            if (one.kind, one.collection, one.field) != key:
                continue
            if one.action != "update" or change.action != "update":
                return True
            paths = [p.path for p in one.properties]
            if any(_nested(p.path, q) for p in change.properties for q in paths):
                return True
    return False


def _nested(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def may_fail(plan: planning.Plan) -> set[str]:
    """What the apply may fail on that no endpoint lets the tool check (predicted_notes): new
    geometry fields on PostgreSQL, tables only a single-byte charset holds on MySQL/MariaDB."""
    desired, vendor = plan.sent or plan.source.snapshot, plan.target_vendor
    return {
        *predict.geometry_fields(plan.changes, desired, plan.target_snapshot, vendor),
        *predict.row_size(plan.changes, desired, vendor, 4),
    }


def _stale(plan: planning.Plan, exc: StaleHashError) -> StaleHashError:
    return StaleHashError(
        f"'{plan.target.name}' changed after this plan was made, so nothing was applied ({exc.message})",
        hint="run plan or push again to diff against the target as it is now",
    )


# The largest part sent first: half of Directus's default MAX_PAYLOAD_SIZE (1mb); a part the
# target still refuses is cut in halves again (its limit was set lower).
PART_BUDGET = 512 * 1024


def apply_in_parts(
    client: DirectusClient,
    plan: planning.Plan,
    whole: Mapping[str, Any],
    refused: PayloadTooLargeError | None,
    say: Callable[[str], None],
    risky: set[str],
    alone: int = 0,
) -> None:
    """Apply ``whole`` as consecutive parts (engine.parts), each under the target's hash as it
    is then: the plan's for the first, a new diff's for the next ones. A failure after the
    first part leaves the earlier ones applied (an error the push reports as partial, with the
    backup). What the apply may fail on (``risky``, :func:`may_fail`) goes in the first parts,
    its first ``alone`` units in parts of their own.

    ``refused``: why ``whole`` did not go in one apply, its size (parts under a budget, and
    nothing applied when a piece that cannot be cut does not fit), or None (``alone``: the rest
    goes in one part, unless the target refuses it for its size too)."""
    assert plan.diff is not None
    desired = plan.sent or plan.source.snapshot
    pending = parts.units(whole, leading=risky)
    total = sum(unit.size for unit in pending)
    budget = total + parts.OVERHEAD
    if refused is not None:
        # What no part can make smaller must fit, or nothing is applied: the target is asked first.
        largest = max((piece.size for unit in pending for piece in parts.cut(unit)), default=0) + parts.OVERHEAD
        if client.json_fits(largest) is False:
            raise PayloadTooLargeError(
                f"{refused.message}; a part that cannot be cut smaller ({largest / 1024:.0f} KB) is over it too",
                hint=refused.hint,
            )
        budget = min(PART_BUDGET, total // 2 + parts.OVERHEAD)
    guard: str | None = plan.diff.hash
    done, told = 0, 0
    name = plan.target.name
    while pending:
        grouped = parts.pack(pending[:alone], budget) + parts.pack(pending[alone:], budget)
        count = done + len(grouped)
        if count != told:
            if refused is not None and not told:
                say(
                    f"'{name}' refuses the diff's {total / (1024 * 1024):.1f} MB of JSON for its "
                    f"MAX_PAYLOAD_SIZE: applying it in {count} parts, each checked against the target's hash"
                )
            elif told:
                say(f"'{name}' refuses a part of {budget // 1024} KB too: {count} parts in all")
            told = count
        part = parts.joined(grouped[0]).diff(whole)
        if guard is None:  # (the target changed with the last part: ask for its hash now)
            fresh = client.diff(desired, force=plan.forced)
            if fresh is None:  # nothing left to apply
                return
            guard = fresh.hash
        try:
            client.apply(Diff(guard, part))
        except PayloadTooLargeError as exc:
            if len(grouped[0]) > 1:
                budget //= 2
                continue
            smaller = parts.cut(grouped[0][0])
            if len(smaller) > 1:
                pending = [*smaller, *pending[1:]]
                alone += len(smaller) - 1 if alone else 0
                continue
            reason = f"a part that cannot be cut smaller is over it too ({exc.message})"
            why = f"{refused.message}; {reason}" if refused else reason
            if not done:
                raise PayloadTooLargeError(why, hint=exc.hint) from None
            raise ServerError(f"after {done} of {count} parts: {reason}", hint=exc.hint) from None
        except StaleHashError as exc:
            if not done:
                raise _stale(plan, exc) from None
            raise ServerError(f"'{name}' changed between part {done} and part {done + 1}: {exc.message}") from None
        except ServerError as exc:
            if done:
                exc.message = f"part {done + 1} of {count}: {exc.message}"
            raise
        done += 1
        pending = pending[len(grouped[0]) :]
        alone = max(0, alone - len(grouped[0]))
        guard = None
        say(f"  part {done} of {count} applied: {changes.from_server(part).summary()}")


@dataclass(frozen=True)
class AfterFailure:
    """What a target holds after an apply that failed: what reached it and what did not (None
    when it could not be read back), and why a reading may be stale."""

    applied: changes.ChangeSet | None
    missing: changes.ChangeSet | None
    notes: tuple[str, ...] = ()

    def error(self, plan: planning.Plan, error: ServerError, backup_path: Path | None) -> GitOpsError:
        """The error to leave with: partial (exit 5) only when something did reach the target."""
        if self.applied is None:
            return ServerError(
                f"the apply failed and the target could not be read back: {error.message}",
                hint="check the target by hand before pushing again",
                status=error.status,
                code=error.code,
            )
        if self.applied:
            return PartialApplyError(
                f"the apply failed part-way: {self.applied.summary()} reached '{plan.target.name}': {error.message}",
                hint="push again once the cause is fixed (the plan will hold only what is left), "
                + (f"or push the backup {backup_path} back" if backup_path else "or restore the target"),
            )
        return ServerError(
            f"the apply failed and nothing reached the target: {error.message}",
            hint=error.hint,  # (the way out of the cause still holds: nothing changed)
            status=error.status,
            code=error.code,
        )


def after_failure(client: DirectusClient, plan: planning.Plan) -> AfterFailure:
    """Read the target again after a failed apply: it may be half-applied."""
    notes = []
    # MySQL/MariaDB commit each schema change at once, and the server keeps serving its
    # cached schema after a failure: make it read the database again before asking.
    try:
        client.clear_cache()
    except ServerError as exc:
        notes.append(f"could not clear the server's schema cache: {exc.message}; what follows may be stale")
    try:
        now = client.snapshot()
    except ServerError as exc:
        return AfterFailure(None, None, (*notes, f"could not be read ({exc.message})"))
    applied = changes.compare(plan.target_snapshot, now)
    missing = changes.compare(now, planning.desired_now(client, plan, now))
    return AfterFailure(applied, missing, tuple(notes))
