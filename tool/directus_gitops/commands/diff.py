"""``diff``: what changes between two snapshots, offline (no server, no token).

Each side is a git revision (the schema folder as committed there), a path (a schema
folder, or a snapshot file such as Directus's own ``snapshot.yaml``), or the working tree.
Between two folders or revisions, only the collection files that differ are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ConfigError, ExitCode, GitError
from directus_gitops.engine import diff as comparing
from directus_gitops.files import snapshot as snap
from directus_gitops.model import changes, selection
from directus_gitops.model.config import Config
from directus_gitops.reports import render

# The translation, the diagram and the configuration kinds are imported where they are
# needed: most diffs compare snapshots of one origin, in text, with no configuration kinds,
# and their import is a good part of an offline diff's time.
if TYPE_CHECKING:
    pass


def diagram(config: Config, console: Console, *, at: str | None, collections: list[str]) -> int:
    """The whole model (or some collections) at ``at`` as a Mermaid diagram, for documentation."""
    side = comparing.side_for(at, comparing.Checkout(config)) if at is not None else comparing.working_tree(config)
    from directus_gitops.model import validate

    snapshot = comparing.whole(side, validate.Shared())
    if snapshot is None:
        raise GitError(f"{side.label} has no schema folder")
    snapshot = selection.apply(snapshot, config.ignore)[0]
    unknown = sorted(set(collections) - snap.collection_names(snapshot))
    if unknown:
        raise ConfigError(
            f"no collection {', '.join(repr(name) for name in unknown)} in {side.label}",
            hint="name collections as the schema folder does (`directus-gitops diagram` draws them all)",
        )
    from directus_gitops.reports import mermaid

    console.result(mermaid.model(snapshot, collections or None))
    return ExitCode.OK


# --------------------------------------------------------------------------- the command


def run(
    config: Config,
    console: Console,
    *,
    old: str | None,
    new: str | None,
    fmt: render.Format,
    exit_code: bool,
    env: str | None = None,
    details: bool = False,
) -> int:
    git = comparing.Checkout(config)
    rules = config.rules_for(env)
    before, after = comparing.sides(config, git, old, new)
    for side in (before, after):
        if side.tree is None and side.loaded is None:
            console.info(f"{side.label} has no schema folder: comparing with an empty schema.")
    comparison = comparing.compare(before, after, rules, related=fmt in ("markdown", "mermaid"))
    for warning in after.loaded.warnings if after.loaded is not None else ():  # how its file is written
        console.warn(warning)
    for warning in comparison.after_warnings():  # what the change leads to, not what it leaves
        console.warn(f"{after.label}: {warning}")
    result = _recorded(comparison.changes, config, git, after)
    translation = comparison.translation
    context = {
        "old": before.context(comparison.before),
        "new": after.context(comparison.after),
        "translation": translation.as_list() if translation else [],
    }
    if fmt == "markdown":
        title = f"Directus schema changes: {before.label} → {after.label}"
    else:
        title = f"Changes from {before.label} to {after.label}:"
    translated = translation.lines() if translation else []
    diagram = None
    if fmt in ("markdown", "mermaid"):
        from directus_gitops.reports import mermaid

        drawn_before, drawn_after = comparison.drawn()
        diagram = mermaid.diagram(result, drawn_before, translation.snapshot if translation else drawn_after)
    configured = comparison.config
    moved = comparing.base_moved(old, git) if new is None else None
    if moved is not None:
        context["base_moved"] = moved
    console.result(
        render.render(
            result,
            fmt,
            title=title,
            context=context,
            color=console.color,
            translated=translated,
            diagram=diagram,
            details=details,
            fields=comparison.field_counts(),
            config=configured,
        )
        + _moved(moved, fmt)
    )
    if configured and fmt == "mermaid":  # a diagram of the schema alone: the rest beside it
        from directus_gitops.model.kinds import compare as kinds_compare

        console.info(kinds_compare.text(configured))
    if exit_code and (result or configured):
        return ExitCode.CHANGES
    return ExitCode.OK


def _recorded(
    found: changes.ChangeSet, config: Config, git: comparing.Checkout, after: comparing.Side
) -> changes.ChangeSet:
    """``found`` with each rename saying the commit that recorded it on the new side."""
    if not any(change.action == "rename" for change in found):
        return found  # no git call
    from directus_gitops.engine import records

    if after.commit is not None:
        return records.attributed(found, config.schema_dir, after.commit, git.repo())
    if after.path is not None and after.tree is not None:  # a schema folder, the working tree's or another
        return records.attributed(found, Path(after.path), None)
    return found


def _moved(note: str | None, fmt: render.Format) -> str:
    if note is None or fmt not in ("text", "markdown"):
        return ""  # JSON: in the context
    return f"\n> [!IMPORTANT]\n> {note}\n" if fmt == "markdown" else f"\nNote: {note}\n"
