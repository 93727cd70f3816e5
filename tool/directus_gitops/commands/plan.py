"""``plan``: what ``push`` would change on a target (engine.plan), shown (reports.plan)."""

from __future__ import annotations

from pathlib import Path

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ExitCode
from directus_gitops.base.formats import Format
from directus_gitops.engine import origin, records
from directus_gitops.engine import plan as planning
from directus_gitops.engine import push as pushing
from directus_gitops.engine.fanout import Record
from directus_gitops.model import selection
from directus_gitops.model.config import Config, Target
from directus_gitops.reports import plan as shown
from directus_gitops.server.client import DirectusClient


def run(
    config: Config,
    target: Target,
    console: Console,
    *,
    ref: str | None,
    path: Path | None,
    fmt: Format,
    force: bool,
    out: Path | None,
    exit_code: bool,
    system_index_changes: bool = False,
    allow_missing_extensions: bool = False,
    mode: selection.Mode | None = None,
    record: Record | None = None,
    details: bool = False,
) -> int:
    record = record or Record()
    source = planning.read_source(config, console, ref=ref, path=path)
    with DirectusClient(target) as client:
        plan = planning.make_plan(
            client,
            source,
            console,
            force=force,
            system_index_changes=system_index_changes,
            mode=mode,
            read_target=fmt in ("markdown", "mermaid"),  # the diagram draws the target's collections
        )
        plan.changes = records.of_source(plan.changes, config, source)
        plan.origin = origin.explain(config, plan, console.warn)
        config_plan = plan.config
        # What the target's licence would refuse part-way, said before anyone pushes.
        restricted = pushing.licence_refusals(client, plan, config_plan)
        # What Directus would refuse or get wrong part-way (engine.predict).
        restricted += pushing.predicted_refusals(
            client, plan, config_plan, allow_missing_extensions=allow_missing_extensions
        )
    record.changes = plan.changes.summary()
    record.result = "planned" if plan.changes or (config_plan and config_plan.changes) else "already matches"
    configured = config_plan.changes if config_plan is not None else None
    console.result(shown.document(plan, fmt, config=configured, color=console.color, details=details))
    if config_plan is not None:
        if fmt == "mermaid" and configured:  # a diagram of the schema alone: the rest beside it
            from directus_gitops.model.kinds import compare as kinds_compare

            console.info(kinds_compare.text(configured))
        from directus_gitops.engine import configuration as sync

        unset = sync.unset_error(config_plan)
        if unset is not None:
            console.warn(f"a push would stop: {unset.message.split(';')[0]}")
    for refusal in restricted:
        console.warn(pushing.as_warning(refusal))
    for note in pushing.predicted_notes(plan):
        console.warn(note)
    if out is not None:
        if plan.diff is None and not (config_plan and config_plan.changes):
            console.info(f"Nothing to save: '{target.name}' already matches.")
        else:
            planning.save(plan, out, config_plan)
            console.info(f"Saved the plan to {out}; apply it with: directus-gitops push --plan {out}")
    if exit_code and (plan.changes or (config_plan and config_plan.changes)):
        return ExitCode.CHANGES
    return ExitCode.OK
