"""What every kind's section is made of: a configuration *state* and its items, as plain data.

A state is the whole configuration of one instance (or of the files)::

    {"model": "policies" | "roles",          # Directus 11+ | 9.x/10.x
     "roles": [...], "policies": [...],      # policies carry "permissions"; 10.x roles do
     "public": {"permissions": [...]},       # 9.x/10.x only: role null = public
     "flows": [...],                         # each with "operations", in execution order
     "dashboards": [...],                    # each with "panels"
     "presets": [...], "settings": {...}, "translations": [...], "folders": [...],
     "users": [...], "data": {...}}

Each kind owns some of its keys (kind.py, ``Kind.section``). Only the groups that are synced
are present. Every item is normalised here (properties the instance makes up, such as
creation dates and users, are left out; JSON kept as strings by some databases is parsed;
lists that are sets are sorted), so a state read from a server and one read from files
compare equal when they mean the same. Keys starting with ``_`` hold server-side ids the
files never hold (the applier needs them to change or delete an item).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from directus_gitops.files import store
from directus_gitops.model.selection import Rules

State = dict[str, Any]
Item = dict[str, Any]

POLICIES = "policies"  # Directus 11+: permissions on policies, linked to roles through access
ROLES = "roles"  # Directus 9.x/10.x: permissions on roles, role null = public

# Bootstrapped items, matched across instances by meaning (identity.py).
ADMINISTRATOR = "administrator"
PUBLIC = "public"

_JSON_PROPERTIES = frozenset(
    {"permissions", "validation", "presets", "options", "layout_query", "layout_options", "filter", "basemaps"}
)
_SET_LISTS = frozenset({"fields", "ip_access", "tags"})


def value(key: str, value: Any) -> Any:
    if key in _JSON_PROPERTIES and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, dict | list):
            return parsed
    if key in _SET_LISTS:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return sorted(value, key=str) or None
    if isinstance(value, bool) or value is None:
        return value
    if key in ("position_x", "position_y", "width", "height", "refresh_interval") and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def pick(raw: Mapping[str, Any], fields: Iterable[str]) -> Item:
    """The synced properties of ``raw``, normalised (missing ones are left out)."""
    return {key: value(key, raw[key]) for key in fields if key in raw}


def by_name(items: Iterable[Item]) -> list[Item]:
    return sorted(items, key=lambda item: (str(item.get("name")), str(item.get("id"))))


# --------------------------------------------------------------------------- files

FOLDER = "config"  # under the schema folder


def written(item: Mapping[str, Any]) -> Item:
    """An item as written: without the server-side ids kept under ``_`` keys."""
    result: Item = {}
    for key, value in item.items():
        if key.startswith("_"):
            continue
        if isinstance(value, list):
            value = [written(v) if isinstance(v, dict) else v for v in value]
        result[key] = value
    return result


def per_item(group: str, kind: str, items: Iterable[Item]) -> dict[str, Any]:
    """One file per item, named after it (made safe like collection names); two items with
    the same name get their id in the file name."""
    result: dict[str, Any] = {}
    used: set[str] = set()
    for item in items:
        name = str(item.get("builtin") or item.get("name") or item["id"])
        stem = store.file_stem(re.sub(r"\s+", "-", name.strip().lower()))
        if stem.lower() in used:
            stem = f"{stem}~{str(item['id'])[:8]}"
        used.add(stem.lower())
        result[f"{FOLDER}/{group}/{stem}.yaml"] = {"kind": kind, **written(item)}
    return result


def listed(kind: str, items: Iterable[Item]) -> dict[str, Any]:
    """One file holding every item of a kind."""
    return {f"{FOLDER}/{kind}.yaml": {"kind": kind, "items": [written(i) for i in items]}}


def items_of(documents: Mapping[str, Any]) -> list[Item]:
    """The items of the files :func:`listed` writes."""
    return [item for document in documents.values() for item in document.get("items") or []]


# --------------------------------------------------------------------------- ignore rules


def matches(value: Any, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(str(value or ""), pattern) for pattern in patterns)


def ignored(kind: str, items: list[Item], prop: str, rules: Rules) -> tuple[list[Item], list[str], set[Any]]:
    """``items`` without those ``rules`` ignore by ``kind:name`` globs on ``prop`` (never a
    bootstrapped one), a label for each left out, and their ids."""
    patterns = rules.config_patterns(kind)
    if not patterns:
        return items, [], set()
    kept: list[Item] = []
    left_out: list[str] = []
    gone: set[Any] = set()
    for item in items:
        if matches(item.get(prop), patterns) and not item.get("builtin"):
            left_out.append(f'{kind} "{item.get(prop) or ""}"')
            gone.add(item.get("id"))
        else:
            kept.append(item)
    return kept, left_out, gone
