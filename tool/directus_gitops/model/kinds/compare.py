"""Changes between two configuration states, in the schema change model's style.

Each change is one item: ``+ role Editor``, ``~ flow "Notify on publish"`` with its changed
properties, ``- permission Editor: articles.delete``. Removing a role, policy, access link,
permission, flow, operation, dashboard, panel or preset is destructive: it needs
``--allow-config-removal``, a consent of its own (as data loss in the schema has). Children of
a removed item (a removed flow's operations, a removed policy's permissions) go with it and are
not listed twice.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from directus_gitops.model.changes import ABSENT, PropertyChange
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
from directus_gitops.model.kinds.model import Item, State
from directus_gitops.model.kinds.registry import KINDS


def _by(items: list[Item], key: Callable[[Item], Any]) -> dict[Any, Item]:
    return {key(item): item for item in items}


def _items(
    kind: str,
    old: list[Item],
    new: list[Item],
    key: Callable[[Item], Any],
    name: Callable[[Item], str],
    parent: str | None = None,
) -> Iterator[ConfigChange]:
    before, after = _by(old, key), _by(new, key)
    for ident, item in after.items():
        if ident not in before:
            yield ConfigChange(kind, "create", name(item), (ident,), parent, entry=item)
        else:
            props = _props(before[ident], item)
            if props:
                yield ConfigChange(kind, "update", name(item), (ident,), parent, props, item, before[ident])
    for ident, item in before.items():
        if ident not in after:
            yield ConfigChange(kind, "delete", name(item), (ident,), parent, entry=item, current=item)


def _id(item: Item) -> Any:
    return item.get("id")


# What every instance bootstraps for itself, named as Directus's app shows it (its files hold
# translation keys such as ``$t:public_label``).
_BUILTIN_NAMES = {model.PUBLIC: "Public", model.ADMINISTRATOR: "Administrator"}


def _name(item: Item) -> str:
    builtin = item.get("builtin")
    if builtin in _BUILTIN_NAMES:
        return _BUILTIN_NAMES[builtin]
    name = item.get("name") or item.get("id")
    if isinstance(name, str) and name.startswith("$t:"):  # another translation key: readable words
        name = name[3:].removesuffix("_label").replace("_", " ").capitalize()
    return _quoted(name)


def compare(old: State, new: State) -> ConfigChangeSet:
    """What applying ``new`` to an instance holding ``old`` changes (groups ``new`` lacks are
    left alone: a group that is not synced is not removed)."""
    changes: list[ConfigChange] = []
    warnings: list[str] = []
    if old.get("model", model.POLICIES) != new.get("model", model.POLICIES) and ("roles" in new):
        warnings.append(
            f"the files hold the {new.get('model')} access model and the target the {old.get('model')} one: "
            "roles, policies and permissions are not compared (converting between them is a separate step)"
        )
        new = {k: v for k, v in new.items() if k not in ("roles", "policies", "public")}
    names = {
        item["id"]: _name(item) for group in ("roles", "policies") for item in old.get(group, []) + new.get(group, [])
    }

    if "folders" in new:
        changes.extend(_items("folder", old.get("folders", []), new["folders"], _id, _name))
    if "roles" in new:
        if "policies" in new:
            changes.extend(_items("policy", old.get("policies", []), new["policies"], _id, _name))
        policy_names = {item["id"]: _name(item) for item in old.get("policies", []) + new.get("policies", [])}
        changes.extend(
            _named_policies(change, policy_names)
            for change in _items("role", old.get("roles", []), new["roles"], _id, _name)
        )
        changes.extend(_access(old, new, names))
        changes.extend(_permissions(old, new, names))
    if "flows" in new:
        changes.extend(_children("flow", "operation", "operations", old.get("flows", []), new["flows"]))
    if "dashboards" in new:
        changes.extend(_children("dashboard", "panel", "panels", old.get("dashboards", []), new["dashboards"]))
    if "presets" in new:
        changes.extend(
            _items(
                "preset",
                old.get("presets", []),
                new["presets"],
                model.preset_key,
                lambda p: (
                    f"{p.get('collection')}"
                    + (f" {_quoted(p['bookmark'])}" if p.get("bookmark") else " (layout)")
                    + (f" for role {names.get(p['role'], p['role'])}" if p.get("role") else " (global)")
                ),
            )
        )
    if "settings" in new:
        # A setting left empty is Directus's default: one null on one side and absent on the
        # other is no change (a first diff listed some fifty "+ null").
        props = tuple(
            prop
            for prop in _props(dict(old.get("settings") or {}), dict(new["settings"] or {}))
            if not (prop.old in (None, ABSENT) and prop.new in (None, ABSENT))
        )
        if props:
            changes.append(
                ConfigChange(
                    "settings",
                    "update",
                    "project settings",
                    ("settings",),
                    None,
                    props,
                    new["settings"],
                    old.get("settings"),
                )
            )
    if "translations" in new:
        changes.extend(
            _items(
                "translation",
                old.get("translations", []),
                new["translations"],
                model.translation_key,
                lambda t: f"{t.get('language')} {t.get('key')}",
            )
        )
    if "users" in new:
        # Users are created and changed, never removed: one that exists only on the target stays.
        changes.extend(
            change
            for change in _items(
                "user", old.get("users", []), new["users"], model.user_key, lambda u: str(u.get("email"))
            )
            if change.action != "delete"
        )
    for kind in KINDS:
        if kind.group in new:
            changes.extend(kind.compare(old.get(kind.group), new[kind.group]))
    return ConfigChangeSet(tuple(_drop_cascaded(changes)), tuple(warnings))


def _named_policies(change: ConfigChange, names: Mapping[str, str]) -> ConfigChange:
    """A role's change with its policies shown by name (the ids stay the identity: the
    applier works from ``entry``, not from the values shown)."""

    def shown(value: Any) -> Any:
        if isinstance(value, list):
            return [names.get(item, item) if isinstance(item, str) else item for item in value]
        return names.get(value, value) if isinstance(value, str) else value

    props = tuple(
        PropertyChange(p.path, shown(p.old), shown(p.new)) if p.path.split(".", 1)[0] == "policies" else p
        for p in change.properties
    )
    return dataclasses.replace(change, properties=props)


def _links(state: State) -> dict[tuple[Any, Any], Item]:
    links: dict[tuple[Any, Any], Item] = {}
    for role in state.get("roles", []):
        for policy in role.get("policies") or []:
            links[(role["id"], policy)] = {"role": role["id"], "policy": policy}
    for policy in state.get("policies", []):
        if policy.get("public"):
            links[(None, policy["id"])] = {"role": None, "policy": policy["id"]}
    return links


def _access(old: State, new: State, names: Mapping[str, str]) -> Iterator[ConfigChange]:
    if new.get("model") != model.POLICIES:
        return
    before, after = _links(old), _links(new)

    def name(key: tuple[Any, Any]) -> str:
        role = names.get(key[0], str(key[0])) if key[0] else "(public)"
        return f"{role} → policy {names.get(key[1], str(key[1]))}"

    for key, item in after.items():
        if key not in before:
            yield ConfigChange("access", "create", name(key), key, entry=item)
    for key, item in before.items():
        if key not in after:
            yield ConfigChange("access", "delete", name(key), key, entry=item, current=item)


def _holders(state: State) -> list[tuple[str | None, str, list[Item]]]:
    """(holder id, holder name, permissions): policies on 11+, roles and public before."""
    if state.get("model") == model.POLICIES:
        return [(p["id"], "policy", p.get("permissions") or []) for p in state.get("policies", [])]
    holders: list[tuple[str | None, str, list[Item]]] = [
        (r["id"], "role", r.get("permissions") or []) for r in state.get("roles", [])
    ]
    holders.append((None, "public", (state.get("public") or {}).get("permissions") or []))
    return holders


def _permissions(old: State, new: State, names: Mapping[str, str]) -> Iterator[ConfigChange]:
    def index(state: State) -> dict[tuple[Any, ...], Item]:
        return {(holder, *model.permission_key(item)): item for holder, _, items in _holders(state) for item in items}

    before, after = index(old), index(new)
    noun = "policy" if new.get("model") == model.POLICIES else "role"

    def name(key: tuple[Any, ...]) -> str:
        holder = f"{noun} {names.get(key[0], key[0])}" if key[0] else "public"
        return f"{holder}: {key[1]}.{key[2]}"

    for key, item in after.items():
        if key not in before:
            yield ConfigChange("permission", "create", name(key), key, key[0], entry=item)
        else:
            # A permission's `permissions` is its filter, a property of its own, not items in it.
            props = _props(before[key], item, _NESTED - {"permissions"})
            if props:
                yield ConfigChange("permission", "update", name(key), key, key[0], props, item, before[key])
    for key, item in before.items():
        if key not in after:
            yield ConfigChange("permission", "delete", name(key), key, key[0], entry=item, current=item)


def _children(kind: str, child: str, key: str, old: list[Item], new: list[Item]) -> Iterator[ConfigChange]:
    yield from _items(kind, old, new, _id, _name)
    before = _by(old, _id)
    for item in new:
        current = before.get(item["id"], {})
        owner = _name(item)

        def name(sub: Item, owner: str = owner) -> str:
            return f"{owner}: {sub.get('key') or sub.get('name') or sub.get('id')}"

        yield from _items(child, current.get(key) or [], item.get(key) or [], _id, name, item["id"])
    after = {item["id"] for item in new}
    for item in old:
        if item["id"] not in after:
            for sub in item.get(key) or []:
                yield ConfigChange(
                    child, "delete", f"{_name(item)}: {sub.get('id')}", (sub["id"],), item["id"], entry=sub, current=sub
                )


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
