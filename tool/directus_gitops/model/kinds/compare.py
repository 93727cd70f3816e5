"""Changes between two configuration states, in the schema change model's style.

Each change is one item: ``+ role Editor``, ``~ flow "Notify on publish"`` with its changed
properties, ``- permission Editor: articles.delete``. Removing a role, policy, access link,
permission, flow, operation, dashboard, panel or preset is destructive: it needs
``--allow-config-removal``, a consent of its own (as data loss in the schema has). Children of
a removed item (a removed flow's operations, a removed policy's permissions) go with it and are
not listed twice.
"""

from __future__ import annotations

import json
from typing import Any

from directus_gitops.model.changes import ABSENT
from directus_gitops.model.kinds import model, secrets
from directus_gitops.model.kinds.change import (  # noqa: F401 - the change model, re-exported
    _NESTED,
    DESTRUCTIVE,
    KIND_ORDER,
    ConfigChange,
    ConfigChangeSet,
    _props,
    _quoted,
)
from directus_gitops.model.kinds.kind import Context
from directus_gitops.model.kinds.model import State
from directus_gitops.model.kinds.registry import KINDS


def compare(old: State, new: State) -> ConfigChangeSet:
    """What applying ``new`` to an instance holding ``old`` changes (groups ``new`` lacks are
    left alone: a group that is not synced is not removed)."""
    changes: list[ConfigChange] = []
    warnings: list[str] = []
    if old.get("model", model.POLICIES) != new.get("model", model.POLICIES) and ("roles" in new):
        warnings.append(
            f"the files hold the {new.get('model')} access model and the target the {old.get('model')} one: "
            "roles, policies and permissions are not compared (what the one model holds cannot be said in the other)"
        )
        new = {k: v for k, v in new.items() if k not in ("roles", "policies", "public")}
    context = Context(model=new.get("model", model.POLICIES), old=old, new=new)
    for kind in KINDS:
        section = kind.section(new)
        if section is not None:
            changes.extend(kind.compare(kind.section(old), section, context))
    return ConfigChangeSet(tuple(_drop_cascaded(changes)), tuple(warnings))


def _drop_cascaded(changes: list[ConfigChange]) -> list[ConfigChange]:
    gone = {c.key[0] for c in changes if c.action == "delete" and c.kind in ("flow", "dashboard", "policy", "role")}
    return [c for c in changes if not (c.action == "delete" and c.parent is not None and c.parent in gone)]


# --------------------------------------------------------------------------- rendering


def _show(path: str, value: Any) -> str:
    if value is ABSENT:
        return "(none)"
    named = secrets.secret_name(path.rsplit(".", 1)[-1]) and value not in (None, "")
    if named and not (isinstance(value, str) and secrets.PLACEHOLDER.search(value)):
        return secrets.REDACTED
    value = secrets.redact(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:119] + "…"


def _lines(change: ConfigChange) -> list[str]:
    out = []
    for prop in change.properties:
        if prop.old is ABSENT:
            out.append(f"{prop.path}: + {_show(prop.path, prop.new)}")
        elif prop.new is ABSENT:
            out.append(f"{prop.path}: - {_show(prop.path, prop.old)}")
        else:
            out.append(f"{prop.path}: {_show(prop.path, prop.old)} → {_show(prop.path, prop.new)}")
    out.extend(f"! destructive: {reason}" for reason in change.destructive)
    out.extend(f"! data loss: {reason}" for reason in change.data_loss)
    return out


def ordered(changes: ConfigChangeSet) -> list[ConfigChange]:
    rank = {kind: index for index, kind in enumerate(KIND_ORDER)}
    return sorted(changes, key=lambda c: (rank[c.kind], c.name, c.action != "delete"))


def short_lines(changes: ConfigChangeSet) -> tuple[str, ...]:
    """One line per change, for the semantic log: ``- flow "Notify on publish" (destructive)``."""
    marks = {"config-removal": " (destructive)", "data-loss": " (data loss)"}
    return tuple(f"{c.sign} {c.label}{marks.get(c.consent or '', '')}" for c in ordered(changes))


def count_line(changes: ConfigChangeSet) -> str:
    return (
        f"Configuration: {changes.count('create')} to add, {changes.count('update')} to change, "
        f"{changes.count('delete')} to destroy."
    )


def text(changes: ConfigChangeSet, title: str = "Configuration changes:") -> str:
    out = [title]
    if not changes:
        out.append("  No configuration changes.")
    for change in ordered(changes):
        out.append(f"  {change.sign} {change.label}")
        out.extend(f"      {line}" for line in _lines(change))
    out.extend(f"Warning: {warning}" for warning in changes.warnings)
    if changes:
        out.extend(["", count_line(changes)])
        if changes.destructive:
            out.append(f"{len(changes.destructive)} change(s) remove configuration (marked '!').")
        if changes.data_loss:
            out.append(f"{len(changes.data_loss)} change(s) remove rows of reference data (marked '!').")
    return "\n".join(out) + "\n"


def markdown(changes: ConfigChangeSet, limit: int | None = None) -> str:
    """The configuration's part of a pull-request comment, within ``limit`` characters (the
    changes that do not fit are counted, and the whole list is in ``--format text``)."""
    out = ["#### Configuration", ""]
    if not changes:
        return "\n".join([*out, "No configuration changes.", ""])
    out.append(f"**{count_line(changes)}** ({changes.summary()})")
    out.append("")
    for marked, alert, what, flag in (
        (changes.destructive, "WARNING", "remove configuration", "--allow-config-removal"),
        (changes.data_loss, "CAUTION", "remove rows of reference data", "--allow-data-loss"),
    ):
        if marked:
            names = ", ".join(f"`{change.label}`" for change in marked[:10]) + (" …" if len(marked) > 10 else "")
            out.append(
                f"> [!{alert}]\n> **{len(marked)} change(s) {what}** ({names}) and need `{flag}` to be pushed.\n"
            )
    room = (limit if limit is not None else 1 << 62) - sum(len(line) + 1 for line in out) - 300
    blocks = []
    for change in ordered(changes):  # "!" only where configuration goes (as data loss in the schema's)
        block = "\n".join(
            [
                f"{change.sign} {change.label}",
                *(line if line.startswith("!") else f"    {line}" for line in _lines(change)),
            ]
        )
        room -= len(block) + 1
        if room < 0:
            break
        blocks.append(block)
    out.extend(["```diff", *blocks, "```", ""])
    if len(blocks) < len(changes):
        out.extend(
            [
                f"*Cut to fit a comment: {len(changes) - len(blocks)} change(s) not shown (`--format text` has all).*",
                "",
            ]
        )
    return "\n".join(out)


def as_dict(changes: ConfigChangeSet) -> dict[str, Any]:
    items = []
    for change in ordered(changes):
        items.append(
            {
                "kind": change.kind,
                "action": change.action,
                "name": change.name,
                "destructive": list(change.destructive),
                "data_loss": list(change.data_loss),
                "properties": [
                    {
                        "path": p.path,
                        **({"old": _show(p.path, p.old)} if p.old is not ABSENT else {}),
                        **({"new": _show(p.path, p.new)} if p.new is not ABSENT else {}),
                    }
                    for p in change.properties
                ],
            }
        )
    return {
        "summary": {
            "add": changes.count("create"),
            "change": changes.count("update"),
            "destroy": changes.count("delete"),
            "destructive": len(changes.destructive),
            "data_loss": len(changes.data_loss),
            "text": changes.summary(),
        },
        "changes": items,
        "warnings": list(changes.warnings),
    }
