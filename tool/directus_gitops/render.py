"""Formatters: pure functions from a change set to text, Markdown or versioned JSON."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, Literal

from directus_gitops.changes import ABSENT, KINDS, Change, ChangeSet

Format = Literal["text", "markdown", "json"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "json")
JSON_FORMAT_VERSION = "1"

_MAX_VALUE = 120
_KIND_ORDER = {kind: index for index, kind in enumerate(KINDS)}


def ordered(changes: ChangeSet) -> list[Change]:
    """Changes grouped by collection, the collection itself first, then by name."""
    return sorted(
        changes,
        key=lambda c: (c.collection, _KIND_ORDER[c.kind], c.field or "", c.action != "delete"),
    )


def show_value(value: Any) -> str:
    if value is ABSENT:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def count_line(changes: ChangeSet) -> str:
    return f"Plan: {changes.to_add} to add, {changes.to_change} to change, {changes.to_destroy} to destroy."


def _label(change: Change) -> str:
    kind = change.kind.replace("_", " ")
    label = f"{kind} {change.name}"
    if change.kind == "field" and change.action == "create" and change.entry:
        label += f" ({change.entry.get('type')})"
    return label


def _property_line(path: str, old: Any, new: Any) -> str:
    if old is ABSENT:
        return f"{path}: + {show_value(new)}"
    if new is ABSENT:
        return f"{path}: - {show_value(old)}"
    return f"{path}: {show_value(old)} → {show_value(new)}"


def _detail_lines(change: Change) -> list[str]:
    lines = [_property_line(p.path, p.old, p.new) for p in change.properties]
    lines.extend(f"! data loss: {reason}" for reason in change.data_loss)
    return lines


def text(changes: ChangeSet, *, title: str | None = None, color: bool = False) -> str:
    paint: Callable[[str, str], str] = _ansi if color else (lambda s, _c: s)
    out = []
    if title:
        out.append(title)
        out.append("")
    if not changes:
        out.append("No changes.")
        return "\n".join(out) + "\n"
    colors = {"+": "32", "~": "33", "-": "31"}
    for change in ordered(changes):
        out.append(paint(f"  {change.sign} {_label(change)}", colors[change.sign]))
        for line in _detail_lines(change):
            out.append(paint(f"      {line}", "31;1") if line.startswith("!") else f"      {line}")
    for warning in changes.warnings:
        out.append(f"Warning: {warning}")
    out.append("")
    out.append(count_line(changes))
    if changes.data_loss:
        out.append(paint(f"{len(changes.data_loss)} change(s) can lose data (marked '!').", "31;1"))
    return "\n".join(out) + "\n"


def _ansi(text: str, code: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m"


def _md_cell(names: list[str]) -> str:
    return "<br>".join(f"`{n}`" for n in names) if names else ""


def markdown(changes: ChangeSet, *, title: str | None = None) -> str:
    heading = title or "Directus schema changes"
    if not changes:
        return f"### {heading}\n\nNo schema changes.\n"
    out = [f"### {heading}", "", f"**{count_line(changes)}**", ""]
    lossy = changes.data_loss
    if lossy:
        out.append("> [!WARNING]")
        out.append(f"> **{len(lossy)} change(s) can lose data** and need `--allow-data-loss` to be pushed:")
        for change in ordered(ChangeSet(tuple(lossy))):
            out.append(f"> - `{change.name}`: {'; '.join(change.data_loss)}")
        out.append("")
    table: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for change in ordered(changes):
        part = change.kind.replace("_", " ") if change.kind in ("collection", "system_field") else change.field or ""
        if change.kind == "relation":
            part = (
                f"{change.field} → {change.related_collection}"
                if change.related_collection
                else f"{change.field} (relation)"
            )
        table[change.collection][change.action].append(part + (" ⚠" if change.data_loss else ""))
    out.append("| Collection | Added | Changed | Removed |")
    out.append("|---|---|---|---|")
    for collection, actions in table.items():
        cells = [_md_cell(actions.get(a, [])) for a in ("create", "update", "delete")]
        out.append(f"| `{collection}` | " + " | ".join(cells) + " |")
    out.append("")
    out.append("<details><summary>Full details</summary>")
    out.append("")
    out.append("```diff")
    for change in ordered(changes):
        out.append(f"{change.sign} {_label(change)}".replace("~", "!", 1))
        out.extend(f"    {line}" for line in _detail_lines(change))
    out.append("```")
    out.append("")
    out.append("</details>")
    return "\n".join(out) + "\n"


def as_dict(changes: ChangeSet, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    items = []
    for change in ordered(changes):
        item: dict[str, Any] = {
            "kind": change.kind,
            "action": change.action,
            "name": change.name,
            "collection": change.collection,
            "field": change.field,
            "related_collection": change.related_collection,
            "data_loss": list(change.data_loss),
            "properties": [],
        }
        for prop in change.properties:
            entry: dict[str, Any] = {"path": prop.path}
            if prop.old is not ABSENT:
                entry["old"] = prop.old
            if prop.new is not ABSENT:
                entry["new"] = prop.new
            item["properties"].append(entry)
        if change.kind == "field" and change.entry and change.action != "update":
            item["type"] = change.entry.get("type")
        items.append(item)
    return {
        "format_version": JSON_FORMAT_VERSION,
        **(dict(context) if context else {}),
        "summary": {
            "add": changes.to_add,
            "change": changes.to_change,
            "destroy": changes.to_destroy,
            "data_loss": len(changes.data_loss),
            "text": changes.summary(),
        },
        "changes": items,
        "warnings": list(changes.warnings),
    }


def as_json(changes: ChangeSet, context: Mapping[str, Any] | None = None) -> str:
    return json.dumps(as_dict(changes, context), indent=2, ensure_ascii=False) + "\n"


def render(
    changes: ChangeSet,
    fmt: Format,
    *,
    title: str | None = None,
    context: Mapping[str, Any] | None = None,
    color: bool = False,
) -> str:
    if fmt == "json":
        return as_json(changes, context)
    if fmt == "markdown":
        return markdown(changes, title=title)
    return text(changes, title=title, color=color)
