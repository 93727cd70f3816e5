"""Formatters: pure functions from a change set to text, Markdown or versioned JSON."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from directus_gitops.base.formats import DIAGRAM_FORMATS as DIAGRAM_FORMATS
from directus_gitops.base.formats import FORMATS as FORMATS
from directus_gitops.base.formats import JSON_FORMAT_VERSION
from directus_gitops.base.formats import Format as Format
from directus_gitops.files.gitrepo import NOT_COMMITTED
from directus_gitops.model.changes import ABSENT, KINDS, Change, ChangeSet

if TYPE_CHECKING:
    from directus_gitops.engine.history import LogEntry
    from directus_gitops.model.kinds.change import ConfigChangeSet

DIAGRAM_LIMIT = 20_000  # a larger diagram is left out of a comment (GitHub renders up to ~50 kB)

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
    renamed = f", {changes.to_rename} to rename" if changes.to_rename else ""
    return f"Plan: {changes.to_add} to add, {changes.to_change} to change{renamed}, {changes.to_destroy} to destroy."


def recorded(change: Change) -> str | None:
    """Where a rename was recorded, in words (None: not known)."""
    if change.recorded_in is None:
        return None
    if change.recorded_in == NOT_COMMITTED:
        return "not committed yet"
    return f"recorded in {change.recorded_in[:10]}"


def _label(change: Change) -> str:
    kind = change.kind.replace("_", " ")
    if change.action == "rename":  # → rename articles.title → articles.headline (recorded in 1a2b3c4d5e)
        where = recorded(change)
        return f"rename {'' if change.kind == 'field' else kind + ' '}{change.name}{f' ({where})' if where else ''}"
    label = f"{kind} {change.name}"
    if change.kind == "field" and change.action == "create" and change.entry:
        label += f" ({change.entry.get('type')})"
    return label


def _shown(path: str, value: Any) -> Any:
    """A property's value fit to show: a secret (by its name or its shape) redacted."""
    if value is ABSENT:
        return value
    from directus_gitops.model.kinds import secrets

    return secrets.redact_value(path.rsplit(".", 1)[-1], value)


def _property_line(path: str, old: Any, new: Any) -> str:
    old, new = _shown(path, old), _shown(path, new)
    if old is ABSENT:
        return f"{path}: + {show_value(new)}"
    if new is ABSENT:
        return f"{path}: - {show_value(old)}"
    return f"{path}: {show_value(old)} → {show_value(new)}"


# What a reviewer needs to judge a created field or collection, as (label, where, how to read).
_FIELD_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("type", "type", ""),
    ("data type", "schema.data_type", ""),
    ("length", "schema.max_length", ""),
    ("precision", "schema.numeric_precision", ""),
    ("scale", "schema.numeric_scale", ""),
    ("nullable", "schema.is_nullable", ""),
    ("unique", "schema.is_unique", "only-yes"),
    ("primary key", "schema.is_primary_key", "only-yes"),
    ("default", "schema.default_value", ""),
    ("interface", "meta.interface", ""),
    ("special", "meta.special", ""),
    ("required", "meta.required", "only-yes"),
    ("hidden", "meta.hidden", "only-yes"),
    ("note", "meta.note", ""),
)
_COLLECTION_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("folder", "schema", "folder"),
    ("note", "meta.note", ""),
    ("icon", "meta.icon", ""),
    ("singleton", "meta.singleton", "only-yes"),
    ("hidden", "meta.hidden", "only-yes"),
    ("group", "meta.group", ""),
)


def _lookup(entry: Mapping[str, Any], path: str) -> Any:
    value: Any = entry
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return ABSENT
        value = value[key]
    return value


def settings(change: Change) -> list[tuple[str, Any]]:
    """The settings of a created field or collection worth reading in a plan, in a fixed order."""
    if change.action != "create" or not change.entry or change.kind not in ("field", "collection"):
        return []
    table = _FIELD_SETTINGS if change.kind == "field" else _COLLECTION_SETTINGS
    found: list[tuple[str, Any]] = []
    for label, path, how in table:
        value = _lookup(change.entry, path)
        if how == "folder":
            if value is None:
                found.append((label, True))
            continue
        if value is ABSENT or value is None or (how == "only-yes" and value is not True):
            continue
        found.append((label, value))
    return found


def _setting_line(label: str, value: Any) -> str:
    value = _shown(label, value)
    if isinstance(value, bool):
        return f"{label}: {'yes' if value else 'no'}"
    if isinstance(value, int | float) or (isinstance(value, str) and label not in ("note", "default")):
        return f"{label}: {value}"
    return f"{label}: {show_value(value)}"


def _detail_lines(change: Change) -> list[str]:
    lines = [_setting_line(label, value) for label, value in settings(change) if label != "type"]
    lines += [_property_line(p.path, p.old, p.new) for p in change.properties]
    lines.extend(f"! data loss: {reason}" for reason in change.data_loss)
    return lines


TRANSLATED = "Translated for the target (rules: docs/translation.md):"


def translation_text(notes: Sequence[str]) -> list[str]:
    """The lines saying which translation rules a comparison relied on."""
    return [TRANSLATED, *(f"  {note}" for note in notes)] if notes else []


KEPT = "Kept on the target (merge mode):"


def kept_text(lines: Sequence[str]) -> list[str]:
    """The lines saying what merge mode leaves on the target, and why."""
    return [KEPT, *(f"  = {line}" for line in lines)] if lines else []


@dataclass(frozen=True)
class Folding:
    """Which changes a short plan leaves out: the fields (and the own settings) of a collection
    that is created or dropped whole, which its one line stands for with a field count."""

    whole: Mapping[str, int | None]  # collection created or dropped whole → its field count, if known
    hidden: frozenset[int]  # positions in ``ordered(changes)`` of the changes its line stands for


def folding(changes: Sequence[Change], fields: Mapping[str, int] | None = None) -> Folding:
    """The collections of ``changes`` (in plan order) created or dropped whole, with their
    field counts: created fields are counted from the changes, a dropped collection's (which
    the diff does not list) from ``fields``, the old side's counts when known. A change that
    can lose data is never hidden."""
    # A renamed collection is not whole: its fields' renames and changes are shown under it.
    whole = {c.collection: c.action for c in changes if c.kind == "collection" and c.action in ("create", "delete")}
    hidden = [
        index
        for index, c in enumerate(changes)
        if c.kind == "field" and whole.get(c.collection) == c.action and not c.data_loss
    ]
    counted: dict[str, int] = defaultdict(int)
    for index in hidden:
        counted[changes[index].collection] += 1
    sizes: dict[str, int | None] = {}
    for name, action in whole.items():
        known = (fields or {}).get(name) if action == "delete" else None
        sizes[name] = known if known is not None else (counted[name] if counted[name] or action == "create" else None)
    return Folding(sizes, frozenset(hidden))


def _fields_noun(count: int | None) -> str:
    return "" if count is None else f" ({count} field{'' if count == 1 else 's'})"


def text(
    changes: ChangeSet,
    *,
    title: str | None = None,
    color: bool = False,
    translated: Sequence[str] = (),
    kept: Sequence[str] = (),
    details: bool = False,
    fields: Mapping[str, int] | None = None,
) -> str:
    """The plan as text. A collection created or dropped whole is one line with its field
    count (its fields and settings only with ``details``); ``fields`` gives the field counts
    of the old side's collections, for the dropped ones."""
    paint: Callable[[str, str], str] = _ansi if color else (lambda s, _c: s)
    out = []
    if title:
        out.append(title)
        out.append("")
    if not changes:
        out.append("No changes.")
        if translated:
            out.extend(["", *translation_text(translated)])
        if kept:
            out.extend(["", *kept_text(kept)])
        return "\n".join(out) + "\n"
    colors = {"+": "32", "~": "33", "-": "31", "→": "36"}
    plan = ordered(changes)
    folded = folding(plan, fields) if not details else Folding({}, frozenset())
    left_out = bool(folded.hidden)
    for index, change in enumerate(plan):
        if index in folded.hidden:
            continue
        short = change.kind == "collection" and change.collection in folded.whole
        label = _label(change) + (_fields_noun(folded.whole[change.collection]) if short else "")
        out.append(paint(f"  {change.sign} {label}", colors[change.sign]))
        for line in _detail_lines(change):
            if short and not line.startswith("!"):
                left_out = True
                continue  # a data-loss mark is shown wherever its change appears
            out.append(paint(f"      {line}", "31;1") if line.startswith("!") else f"      {line}")
    if left_out:
        out.append("")
        out.append(
            f"({len(folded.whole)} collection(s) created or dropped whole are one line each; "
            "--details lists their settings and fields.)"
        )
    for warning in changes.warnings:
        out.append(f"Warning: {warning}")
    if translated:
        out.extend(["", *translation_text(translated)])
    if kept:
        out.extend(["", *kept_text(kept)])
    out.append("")
    out.append(count_line(changes))
    if changes.data_loss:
        out.append(paint(f"{len(changes.data_loss)} change(s) can lose data (marked '!').", "31;1"))
    return "\n".join(out) + "\n"


def _ansi(text: str, code: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m"


def _code(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if longest else f"`{text}`"


def _cell(text: str) -> str:
    # GitHub splits table cells on "|" even inside code spans unless it is escaped.
    return _code(text).replace("|", "\\|")


# GitHub refuses comments over 65,536 characters: rows and details are cut to stay below.
MARKDOWN_LIMIT = 60_000
TABLE_FOLD = 20  # collections in the table beyond which it is folded
_TABLE_HEAD = ["| Collection | Added | Changed | Removed |", "|---|---|---|---|"]


def _notes_markdown(notes: Sequence[str], summary: str) -> list[str]:
    if not notes:
        return []
    items = [f"- {_code(note)}" for note in notes]
    shown, hidden = _fit(items, 4000)
    more = [f"- … and {hidden} more"] if hidden else []
    return [f"<details><summary>{summary}</summary>", "", *shown, *more, "", "</details>", ""]


def _translation_markdown(notes: Sequence[str]) -> list[str]:
    return _notes_markdown(notes, "Translated for the target")


def _kept_markdown(notes: Sequence[str]) -> list[str]:
    return _notes_markdown(notes, f"{len(notes)} part(s) kept on the target (merge mode)")


def markdown(
    changes: ChangeSet,
    *,
    title: str | None = None,
    limit: int = MARKDOWN_LIMIT,
    translated: Sequence[str] = (),
    kept: Sequence[str] = (),
    diagram: str | None = None,
    fields: Mapping[str, int] | None = None,
) -> str:
    """A pull-request comment: counts, data-loss warnings, a table by collection (a collection
    created or dropped whole is one cell with its field count), the entity-relationship diagram
    of the change, details folded (every change, fields of whole collections included)."""
    heading = f"### {title or 'Directus schema changes'}"
    if not changes:
        return "\n".join(
            [heading, "", "No schema changes.", "", *_translation_markdown(translated), *_kept_markdown(kept)]
        )
    head = [heading, "", f"**{count_line(changes)}** ({changes.summary()})", ""]
    lossy = changes.data_loss
    if lossy:
        head.append("> [!WARNING]")
        head.append(f"> **{len(lossy)} change(s) can lose data** and need `--allow-data-loss` to be pushed:")
        reasons = [f"> - {_code(c.name)}: {'; '.join(c.data_loss)}" for c in ordered(ChangeSet(tuple(lossy)))]
        shown, hidden = _fit(reasons, limit // 2)
        head.extend(shown)
        if hidden:
            head.append(f"> - … and {hidden} more")
        head.append("")
    for warning in changes.warnings:
        head.extend(["> [!NOTE]", f"> {warning}", ""])
    head.extend(_translation_markdown(translated))
    head.extend(_kept_markdown(kept))

    # 500: the folds around the table and the details, and the note on what was cut
    room = limit - _length(head) - _length(_TABLE_HEAD) - 500
    rows, rows_left = _fit(_table_rows(changes, fields), room)
    room -= _length(rows)
    blocks, blocks_left = _fit([_diff_block(change) for change in ordered(changes)], room)

    table = [*_TABLE_HEAD, *rows]
    if rows_left:
        table.append(f"| … | {rows_left} more collection(s) | | |")
    if len(rows) + rows_left > TABLE_FOLD:  # a long table is folded like the details
        summary = f"Changes by collection ({len(rows) + rows_left})"
        table = [f"<details><summary>{summary}</summary>", "", *table, "", "</details>"]
    out = [*head, *table, ""]
    if diagram and len(diagram) <= min(DIAGRAM_LIMIT, room - 200):
        room -= len(diagram) + 100
        blocks, blocks_left = _fit([_diff_block(change) for change in ordered(changes)], room)
        out.extend(["<details><summary>Diagram of the change</summary>", "", "```mermaid"])
        out.extend([*diagram.rstrip("\n").splitlines(), "```", "", "</details>", ""])
    elif diagram:
        out.extend(["*The diagram of the change is too large for a comment: run with `--format mermaid`.*", ""])
    if blocks:
        out.extend(["<details><summary>Full details</summary>", "", "```diff", *blocks, "```", "", "</details>"])
    if rows_left or blocks_left:
        not_shown = [
            f"{count} {what}" for count, what in ((rows_left, "collection(s)"), (blocks_left, "change(s)")) if count
        ]
        out.extend(
            [
                "",
                f"*Cut to fit a comment: {' and '.join(not_shown)} not shown. To see everything, run the same "
                "`directus-gitops diff` (or `plan`) with `--format text` in a checkout, or read the CI job's log.*",
            ]
        )
    return "\n".join(out) + "\n"


def _table_rows(changes: ChangeSet, fields: Mapping[str, int] | None = None) -> list[str]:
    table: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    plan = ordered(changes)
    folded = folding(plan, fields)
    for index, change in enumerate(plan):
        if index in folded.hidden:
            continue
        if change.kind == "collection":
            count = folded.whole.get(change.collection) if change.collection in folded.whole else None
            part = "*collection*" + _fields_noun(count)
        elif change.kind == "system_field":
            part = f"{_cell(change.field or '')} *(system index)*"
        elif change.kind == "relation" and change.related_collection:
            part = _cell(f"{change.field} → {change.related_collection}")
        elif change.kind == "relation":
            part = f"{_cell(change.field or '')} *(relation)*"
        else:
            part = _cell(change.field or "")
        if change.renamed_from is not None:  # a rename keeps every value: no data loss
            where = recorded(change)
            marker = f" *(rename{f', {where}' if where else ''})*"
            if change.kind == "collection":  # its rows kept under the new name
                part = f"*collection* {_cell(f'{change.renamed_from} → {change.collection}')}{marker}"
            else:
                part = _cell(f"{change.renamed_from} → {change.field}") + marker
        table[change.collection]["update" if change.action == "rename" else change.action].append(
            part + (" ⚠" if change.data_loss else "")
        )
    rows = []
    for collection, actions in table.items():
        cells = ["<br>".join(actions.get(action, [])) for action in ("create", "update", "delete")]
        rows.append(f"| {_cell(collection)} | " + " | ".join(cells) + " |")
    return rows


def _diff_block(change: Change) -> str:
    # The signs are the plan's own (+ ~ -); "!" starts only a data-loss line, which GitHub
    # highlights in a diff block. Other detail lines are indented by four spaces, so no user
    # text in them can close the fence.
    lines = _detail_lines(change)
    head = f"{change.sign} {_label(change)}"
    return "\n".join([head, *(line if line.startswith("!") else f"    {line}" for line in lines)])


def _length(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _fit(items: list[str], room: int) -> tuple[list[str], int]:
    """The leading ``items`` that fit in ``room`` characters, and how many did not."""
    used = 0
    for count, item in enumerate(items):
        used += len(item) + 1
        if used > room:
            return items[:count], len(items) - count
    return items, 0


def _change_dict(change: Change) -> dict[str, Any]:
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
    if change.renamed_from is not None:
        item["renamed_from"] = change.renamed_from
    if change.recorded_in is not None:  # null: not committed yet
        item["recorded_in"] = None if change.recorded_in == NOT_COMMITTED else change.recorded_in
    for prop in change.properties:
        entry: dict[str, Any] = {"path": prop.path}
        if prop.old is not ABSENT:
            entry["old"] = _shown(prop.path, prop.old)
        if prop.new is not ABSENT:
            entry["new"] = _shown(prop.path, prop.new)
        item["properties"].append(entry)
    if change.kind == "field" and change.entry and change.action != "update":
        item["type"] = change.entry.get("type")
    found = settings(change)
    if found:
        item["settings"] = dict(found)
    return item


def _summary_dict(changes: ChangeSet) -> dict[str, Any]:
    return {
        "add": changes.to_add,
        "change": changes.to_change,
        "destroy": changes.to_destroy,
        "rename": changes.to_rename,
        "data_loss": len(changes.data_loss),
        "text": changes.summary(),
    }


def as_dict(changes: ChangeSet, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "format_version": JSON_FORMAT_VERSION,
        **(dict(context) if context else {}),
        "summary": _summary_dict(changes),
        "changes": [_change_dict(change) for change in ordered(changes)],
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
    translated: Sequence[str] = (),
    kept: Sequence[str] = (),
    diagram: str | None = None,
    details: bool = False,
    fields: Mapping[str, int] | None = None,
    config: ConfigChangeSet | None = None,
) -> str:
    """``changes`` and the configuration's ``config`` (None: the folder holds none) as one
    document in ``fmt``; ``translated`` are the lines saying which translation rules were
    applied, ``kept`` what merge mode leaves on the target (JSON carries both in ``context``),
    ``diagram`` the Mermaid diagram of the change (Markdown and Mermaid only). ``details`` lists
    the fields of collections created or dropped whole in text (Markdown always folds them into
    its details); ``fields`` are the old side's field counts (:func:`snapshot.field_counts`)."""
    if fmt == "mermaid":
        return diagram or "erDiagram\n"
    if config is not None:  # only for a folder that holds configuration
        from directus_gitops.model.kinds import compare as kinds_compare
    if fmt == "json":
        if config is not None:
            context = {**(context or {}), "config": kinds_compare.as_dict(config)}
        return as_json(changes, context)
    if fmt == "markdown":
        # One comment for both, under the limit: the configuration takes what it needs of a third
        # (all of it when the schema has no change), the schema the rest.
        configured = None
        if config is not None:
            configured = kinds_compare.markdown(config, MARKDOWN_LIMIT if not changes else MARKDOWN_LIMIT // 3)
        room = MARKDOWN_LIMIT - (len(configured) + 2 if configured else 0)
        shown = markdown(
            changes, title=title, limit=room, translated=translated, kept=kept, diagram=diagram, fields=fields
        )
        # A blank line first: an HTML block (the folded details) runs on until one.
        return shown if configured is None else shown.rstrip("\n") + "\n\n" + configured
    shown = text(changes, title=title, color=color, translated=translated, kept=kept, details=details, fields=fields)
    return shown if config is None else shown + "\n" + kinds_compare.text(config)


# --------------------------------------------------------------------------- semantic log


def short_line(change: Change) -> str:
    name = change.name
    if change.kind == "system_field":
        name += " (system field)"
    elif change.kind == "relation" and not change.related_collection:
        name += " (relation)"
    if change.action == "rename":
        name = f"rename {name}" if change.kind == "field" else f"rename {change.kind} {name}"
    return f"{change.sign} {name}{' (data loss)' if change.data_loss else ''}"


def _log_lines(entry: LogEntry) -> list[str]:
    if entry.error is not None:
        return [f"(cannot read the schema: {entry.error})"]
    if not entry.changes and not entry.config:
        return ["(no schema changes)"]
    return [short_line(change) for change in ordered(entry.changes)] + list(entry.config)


def log_text(entries: Sequence[LogEntry], *, color: bool = False) -> str:
    paint: Callable[[str, str], str] = _ansi if color else (lambda s, _c: s)
    colors = {"+": "32", "~": "33", "-": "31", "→": "36", "(": "2"}
    out = []
    for entry in entries:
        commit = entry.commit
        out.append(f"{paint(commit.short, '33')}  {commit.date[:10]}  {commit.subject}")
        out.extend(paint(f"    {line}", colors[line[0]]) for line in _log_lines(entry))
        out.append("")
    return "\n".join(out)


def log_markdown(entries: Sequence[LogEntry]) -> str:
    out = ["### Directus schema history", ""]
    for entry in entries:
        commit = entry.commit
        out.append(f"#### {_code(commit.short)} {commit.subject} ({commit.date[:10]})")
        out.append("")
        out.extend(f"- {_code(line)}" for line in _log_lines(entry))
        out.append("")
    return "\n".join(out)


def log_dict(entries: Sequence[LogEntry]) -> dict[str, Any]:
    commits = []
    for entry in entries:
        commit = entry.commit
        commits.append(
            {
                "commit": commit.sha,
                "short": commit.short,
                "date": commit.date,
                "subject": commit.subject,
                "parent": commit.parent,
                "error": entry.error,
                "summary": _summary_dict(entry.changes),
                "changes": [_change_dict(change) for change in ordered(entry.changes)],
                "config": list(entry.config),
            }
        )
    return {"format_version": JSON_FORMAT_VERSION, "commits": commits}


def render_log(entries: Sequence[LogEntry], fmt: Format, *, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(log_dict(entries), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return log_markdown(entries)
    return log_text(entries, color=color)
