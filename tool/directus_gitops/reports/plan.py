"""A plan shown: the schema's changes and the configuration's, one document per format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from directus_gitops.base.formats import Format
from directus_gitops.files import snapshot as snap
from directus_gitops.reports import render

if TYPE_CHECKING:
    from directus_gitops.engine.plan import Plan
    from directus_gitops.model.kinds.change import ConfigChangeSet


def title(plan: Plan) -> str:
    where = f"'{plan.target.name}' ({plan.target.url}, Directus {plan.target_version}, {plan.target_vendor})"
    return f"Plan for {where} from {plan.source.label}:"


def document(
    plan: Plan,
    fmt: Format,
    *,
    config: ConfigChangeSet | None = None,
    color: bool = False,
    details: bool = False,
) -> str:
    """The plan in ``fmt``, the configuration's changes ``config`` (None: none synced) within,
    and where its changes come from (plan.origin)."""
    return _document(plan, fmt, config=config, color=color, details=details) + _origin(plan, fmt)


def _origin(plan: Plan, fmt: Format) -> str:
    if plan.origin is None or fmt not in ("text", "markdown"):
        return ""  # JSON: in the document's context
    lines = plan.origin.lines(plan.target.name)
    if fmt == "text":
        return "\n" + "\n".join(lines) + "\n"
    quoted: list[str] = []
    for line in lines:  # a blank quoted line around the list, so the text after it is no list item
        item = line.startswith("  ")
        if item != (bool(quoted) and quoted[-1].startswith("> - ")):
            quoted.append(">")
        quoted.append(f"> - `{line.strip()}`" if item else f"> {line}")
    return "\n> [!NOTE]\n" + "\n".join(quoted) + "\n"


def _document(
    plan: Plan,
    fmt: Format,
    *,
    config: ConfigChangeSet | None = None,
    color: bool = False,
    details: bool = False,
) -> str:
    diagram = None
    if fmt in ("markdown", "mermaid"):
        from directus_gitops.reports import mermaid

        diagram = mermaid.diagram(plan.changes, plan.target_snapshot, plan.sent or plan.source.snapshot)
    if fmt == "text" and not plan.changes:
        lines = [f"'{plan.target.name}' already matches {plan.source.label}. No changes."]
        if plan.translated:
            lines.extend(["", *render.translation_text(plan.translated)])
        if plan.kept:
            lines.extend(["", *render.kept_text(plan.kept_lines)])
        shown = "\n".join(lines) + "\n"
        if config is None:
            return shown
        from directus_gitops.model.kinds import compare as kinds_compare

        return shown + "\n" + kinds_compare.text(config)
    return render.render(
        plan.changes,
        fmt,
        title=title(plan),
        context=plan.context(),
        color=color,
        translated=plan.translated,
        kept=plan.kept_lines,
        diagram=diagram,
        details=details,
        fields=snap.field_counts(plan.target_snapshot),
        config=config,
    )
