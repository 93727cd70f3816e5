"""The kinds, described once: what is synced of each, and how items are keyed and ordered.

A *state* is the whole configuration of one instance (or of the files), as plain data::

    {"model": "policies" | "roles",          # Directus 11+ | 9.x/10.x
     "roles": [...], "policies": [...],      # policies carry "permissions"; 10.x roles do
     "public": {"permissions": [...]},       # 9.x/10.x only: role null = public
     "flows": [...],                         # each with "operations", in execution order
     "dashboards": [...],                    # each with "panels"
     "presets": [...], "settings": {...}, "translations": [...], "folders": [...]}

Only the groups that are synced are present. Every item is normalised here (properties the
instance makes up, such as creation dates and users, are left out; JSON kept as strings by
some databases is parsed; lists that are sets are sorted), so a state read from a server
and one read from files compare equal when they mean the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from directus_gitops.model.kinds.registry import KINDS

State = dict[str, Any]
Item = dict[str, Any]

POLICIES = "policies"  # Directus 11+: permissions on policies, linked to roles through access
ROLES = "roles"  # Directus 9.x/10.x: permissions on roles, role null = public

ROLE_FIELDS_POLICIES = ("name", "icon", "description", "parent")
ROLE_FIELDS_ROLES = ("name", "icon", "description", "ip_access", "enforce_tfa", "admin_access", "app_access")
POLICY_FIELDS = ("name", "icon", "description", "ip_access", "enforce_tfa", "admin_access", "app_access")
PERMISSION_FIELDS = ("collection", "action", "permissions", "validation", "presets", "fields")
FLOW_FIELDS = ("name", "icon", "color", "description", "status", "trigger", "accountability", "options")
OPERATION_FIELDS = ("key", "name", "type", "position_x", "position_y", "options")
DASHBOARD_FIELDS = ("name", "icon", "note", "color")
PANEL_FIELDS = (
    "name",
    "icon",
    "color",
    "show_header",
    "note",
    "type",
    "position_x",
    "position_y",
    "width",
    "height",
    "options",
)
PRESET_FIELDS = (
    "bookmark",
    "role",
    "collection",
    "search",
    "layout",
    "layout_query",
    "layout_options",
    "refresh_interval",
    "filter",
    "icon",
    "color",
)
TRANSLATION_FIELDS = ("language", "key", "value")
# Users (opt-in): never their password, tokens, TFA secret, auth data, avatar or activity.
USER_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "role",
    "status",
    "title",
    "description",
    "location",
    "language",
    "tags",
    "provider",
    "external_identifier",
)
FOLDER_FIELDS = ("name", "parent")

# Settings that belong to one instance, or point at files (which are not synced): never
# written. Settings that hold a credential are left out too (secrets.withheld_setting).
SETTINGS_INSTANCE = frozenset(
    {
        "id",
        "project_id",
        "project_logo",
        "public_foreground",
        "public_background",
        "public_favicon",
        "project_owner",
        "project_usage",
        "project_status",
        "org_name",
        "product_updates",
        "accepted_terms",
        "onboarding",
        "license_key",
        "ai_openai_compatible_headers",
    }
)

# Directus 9.x (and 10.x before directus_translations) keeps translation strings in this
# setting, as [{key, translations: {language: value}}]; they are synced as ``translations``.
LEGACY_TRANSLATIONS = "translation_strings"


def translations_from_settings(raw: Any) -> list[Item]:
    """The setting's strings as translation items (language, key, value)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    items: list[Item] = []
    for entry in raw if isinstance(raw, list) else []:
        texts = entry.get("translations") if isinstance(entry, dict) else None
        if isinstance(texts, dict) and entry.get("key"):
            items.extend({"language": lang, "key": entry["key"], "value": text} for lang, text in texts.items())
    return items


def translations_to_settings(items: Iterable[Item]) -> list[Item]:
    """Translation items as the setting holds them: one entry per key."""
    by_key: dict[str, dict[str, Any]] = {}
    for item in items:
        by_key.setdefault(str(item.get("key")), {})[str(item.get("language"))] = item.get("value")
    return [{"key": key, "translations": dict(sorted(texts.items()))} for key, texts in sorted(by_key.items())]


_JSON_PROPERTIES = frozenset(
    {"permissions", "validation", "presets", "options", "layout_query", "layout_options", "filter", "basemaps"}
)
_SET_LISTS = frozenset({"fields", "ip_access", "tags"})

# Bootstrapped items, matched across instances by meaning (identity.py).
ADMINISTRATOR = "administrator"
PUBLIC = "public"


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


def permission(raw: Mapping[str, Any]) -> Item:
    return pick(raw, PERMISSION_FIELDS)


def permission_key(item: Mapping[str, Any]) -> tuple[str, str]:  # (collection, action)
    return str(item.get("collection")), str(item.get("action"))


def sort_permissions(items: Iterable[Item]) -> list[Item]:
    return sorted(items, key=permission_key)


def operations_in_order(start: str | None, operations: Iterable[Item]) -> list[Item]:
    """From the trigger along resolve then reject links; what no link reaches comes last."""
    by_key = {op["key"]: op for op in operations}
    ordered: list[Item] = []
    seen: set[str] = set()
    stack: list[Any] = [start] if start else []
    while stack:
        key = stack.pop()
        if key is None or key in seen or key not in by_key:
            continue
        seen.add(key)
        op = by_key[key]
        ordered.append(op)
        stack.extend([op.get("reject"), op.get("resolve")])  # resolve is visited first
    ordered.extend(op for key, op in sorted(by_key.items()) if key not in seen)
    return ordered


def panel_order(panel: Mapping[str, Any]) -> tuple[Any, ...]:
    return (panel.get("position_y") or 0, panel.get("position_x") or 0, str(panel.get("name")), str(panel.get("id")))


def preset_key(item: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(item.get("role") or ""), str(item.get("collection")), str(item.get("bookmark") or "")


def user_key(item: Mapping[str, Any]) -> str:
    return str(item.get("email") or "").lower()


def translation_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return str(item.get("language")), str(item.get("key"))


def by_name(items: Iterable[Item]) -> list[Item]:
    return sorted(items, key=lambda item: (str(item.get("name")), str(item.get("id"))))


def canonical(state: State) -> State:
    """``state`` with every list in its canonical order."""
    result: State = {"model": state.get("model", POLICIES)}
    result.update((key, item) for key, item in state.items() if key.startswith("_"))
    for group in ("roles", "policies", "flows", "dashboards", "folders"):
        if group in state:
            result[group] = by_name(state[group])
    for policy in result.get("policies", []):
        policy["permissions"] = sort_permissions(policy.get("permissions") or [])
    if result["model"] == ROLES:
        for role in result.get("roles", []):
            role["permissions"] = sort_permissions(role.get("permissions") or [])
        if "public" in state:
            result["public"] = {"permissions": sort_permissions(state["public"].get("permissions") or [])}
    for role in result.get("roles", []):
        if "policies" in role:
            role["policies"] = sorted(role["policies"])
    for flow in result.get("flows", []):
        flow["operations"] = operations_in_order(flow.get("operation"), flow.get("operations") or [])
    for dashboard in result.get("dashboards", []):
        dashboard["panels"] = sorted(dashboard.get("panels") or [], key=panel_order)
    if "presets" in state:
        result["presets"] = sorted(state["presets"], key=preset_key)
    if "translations" in state:
        result["translations"] = sorted(state["translations"], key=translation_key)
    if "users" in state:
        result["users"] = sorted(state["users"], key=user_key)
    if "settings" in state:
        result["settings"] = dict(sorted((state["settings"] or {}).items()))
    for kind in KINDS:
        if kind.group in state:
            result[kind.group] = kind.canonical(state[kind.group])
    return result
